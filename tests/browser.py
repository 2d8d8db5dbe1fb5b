"""Headless Chromium for the page tests and ``scripts/serve_screenshot.py``: the
system's browser and chromedriver (Debian's ``chromium`` and ``chromium-driver``, which
``scripts/browser.sh`` installs), driven by Selenium. Selenium Manager, which downloads
drivers, is never called: the driver is the system's, and a call to it fails."""
from __future__ import annotations

import contextlib
import shutil
from typing import Iterator, Optional, Tuple


def browser_paths() -> Optional[Tuple[str, str]]:
    """``(chromium, chromedriver)`` on the PATH, or None when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@contextlib.contextmanager
def headless_chromium(width: int = 1000, height: int = 1400) -> Iterator["object"]:
    """A Selenium ``webdriver.Chrome`` on the system's headless Chromium, quit at the
    end; ``RuntimeError`` when the browser or its driver is not installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    paths = browser_paths()
    if paths is None:
        raise RuntimeError("chromium and chromedriver are not installed "
                           "(bash scripts/browser.sh installs Debian's)")
    chromium, driver_path = paths

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Selenium Manager was called: it downloads drivers")

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(arg)
    saved = selenium_manager.SeleniumManager.binary_paths
    selenium_manager.SeleniumManager.binary_paths = refuse
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    finally:
        selenium_manager.SeleniumManager.binary_paths = saved
    try:
        yield driver
    finally:
        driver.quit()


def page_state(driver: object) -> str:
    """The page's ``data-state``: ``ready``, ``busy``, ``done`` or ``error``."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") or ""


def assess_on_page(driver: object, url: str, recording: str, token: Optional[str] = None,
                   crop: Optional[str] = None, timeout: float = 120.0) -> str:
    """Open the page at ``url``, give the token and crop, choose ``recording`` and wait
    for the answer; the page's final state (``done`` or ``error``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: page_state(d) == "ready")
    if token:
        driver.find_element(By.ID, "token").send_keys(token)
    if crop:
        driver.find_element(By.ID, "crop").send_keys(crop)
    driver.find_element(By.ID, "file").send_keys(str(recording))
    WebDriverWait(driver, timeout).until(lambda d: page_state(d) in ("done", "error"))
    return page_state(driver)
