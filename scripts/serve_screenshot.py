"""A screenshot of ``pisa serve``'s page after it assessed a recording (the README's
``docs/serve-page.png``): starts ``pisa serve CONFIG CKPT`` on a free loopback port,
uploads RECORDING through the page in headless Chromium (the system's, as the page test
drives it: ``tests/browser.py``), and saves the whole page.

    .venv/bin/python scripts/serve_screenshot.py CONFIG CKPT RECORDING \\
        [--crop x1,y1,x2,y2] [--out docs/serve-page.png] [--width 1000]

The server reads ``PISA_DATA_ROOT`` and ``PISA_CACHE_DIR`` from the environment, as
``pisa predict`` does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the page tests' browser helper

from browser import assess_on_page, headless_chromium  # noqa: E402
from pisa.serve.process import ServerProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("recording")
    parser.add_argument("--crop", help="x1,y1,x2,y2 typed into the page's crop field")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "serve-page.png")
    parser.add_argument("--width", type=int, default=1000, help="window width in pixels")
    args = parser.parse_args()

    with ServerProcess([args.config, args.checkpoint]) as server:
        with headless_chromium(args.width, 1200) as driver:
            state = assess_on_page(driver, server.url, args.recording, crop=args.crop)
            if state != "done":
                from selenium.webdriver.common.by import By

                print(f"the page answered: {driver.find_element(By.ID, 'status').text}",
                      file=sys.stderr)
                return 1
            for _ in range(3):  # the window's height is its viewport's and the browser's own
                short = driver.execute_script(
                    "return document.documentElement.scrollHeight - window.innerHeight")
                if short <= 0:
                    break
                driver.set_window_size(args.width, driver.get_window_size()["height"] + int(short))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
