"""``pisa serve``: the real server (a child process: uvicorn on a free loopback port, the
tiny model and recording of tests/test_predict.py) answers an upload with the record
``pisa predict --json`` prints, refuses bad uploads with one-line 4xx errors and leaves
no file behind, answers concurrent uploads, bounds its queue (503) and its time (504),
refuses an open address without a token and asks for the token; its page, driven in
headless Chromium, shows the level of the JSON answer."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

pytest.importorskip("fastapi",
                    reason="pisa serve needs the 'serve' extra (scripts/setup.sh installs it)")

from media import make_wav  # noqa: E402
from pisa.cli import main  # noqa: E402
from pisa.evaluation.assessment import RecordingPrediction  # noqa: E402
from pisa.serve.app import ServeSettings, create_app, listening_socket, server_url, uvicorn_server  # noqa: E402
from pisa.serve.client import assess_bytes, assess_file, get_json, request  # noqa: E402
from pisa.serve.process import ServerProcess  # noqa: E402
import test_predict  # noqa: E402
from test_predict import CROP  # noqa: E402

#: the tiny model and recordings of tests/test_predict.py (a module fixture)
recording = test_predict.recording

TOKEN = "test-token-0123456789"
CROP_TEXT = ",".join(map(str, CROP))
LIMIT_MB = 0.05  # the real server's upload limit: 50,000 bytes (the recording is ~21 kB)


@pytest.fixture(scope="module")
def server(recording, tmp_path_factory):
    """``pisa serve`` on the tiny model: a token (from the environment), 8 places in the
    queue, a 0.05 MB upload limit, uploads under its own folder."""
    uploads = tmp_path_factory.mktemp("uploads")
    env = dict(os.environ, PISA_SERVE_TOKEN=TOKEN)
    proc = ServerProcess([recording["config"], recording["ckpt"], "--queue", "8",
                          "--max-upload-mb", str(LIMIT_MB), "--upload-dir", uploads,
                          "--timeout", "120"], env=env,
                         log_path=tmp_path_factory.mktemp("log") / "serve.log")
    with proc:
        (root,) = list(uploads.iterdir())  # the server's own folder, made at start
        assert root.stat().st_mode & 0o777 == 0o700
        yield dict(url=proc.url, root=root, process=proc)
    # uvicorn shuts down on SIGTERM, then ends by that signal
    assert proc.process.returncode in (0, -signal.SIGTERM), proc.log()[-2000:]
    assert "Application shutdown complete" in proc.log()
    assert not root.exists()  # removed at shutdown


@pytest.fixture(scope="module")
def predicted(recording):
    """The record ``pisa predict --json`` prints for the cropped recording."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["predict", str(recording["config"]), str(recording["ckpt"]),
                     str(recording["video"]), "--crop", CROP_TEXT, "--json", "--no-progress"]) == 0
    (record,) = json.loads(out.getvalue())["recordings"]
    return record


def same_values(a, b, path="record"):
    """``a == b`` with floats within 1e-6."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), path
        for key in a:
            same_values(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_values(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert b == pytest.approx(a, abs=1e-6), path
    else:
        assert a == b, path


def folder_is_empty(root: Path) -> bool:
    return root.is_dir() and not any(root.iterdir())


def test_an_upload_is_answered_with_the_record_pisa_predict_prints(server, recording, predicted):
    status, record = assess_file(server["url"], recording["video"], token=TOKEN, crop=CROP_TEXT)
    assert status == 200, record
    assert record["media"] == "recital.mp4"  # the client's name, not the server's file
    assert record["level"] == predicted["level"]
    np.testing.assert_allclose(record["probs"], predicted["probs"], atol=1e-6, rtol=0)
    same_values(dict(predicted, media="recital.mp4"), record)
    assert folder_is_empty(server["root"])
    # what the model is, and the health check (no token needed)
    status, info = get_json(server["url"] + "model", token=TOKEN)
    assert status == 200
    assert info["config"] == str(recording["config"])
    assert info["checkpoint"] == str(recording["ckpt"])
    assert info["task"] == "level" and info["num_classes"] == 10
    assert info["decision"] == "ArgmaxLevel()" and info["modalities"] == ["video", "audio"]
    assert info["max_upload_bytes"] == 50_000
    status, health = get_json(server["url"] + "health")
    assert status == 200 and health["status"] == "ok" and health["token_required"] is True


def raw_exchange(url: str, head: bytes) -> tuple:
    """Send ``head`` (a request without its body) and read the answer:
    ``(status, JSON body)``."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        header, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += sock.recv(65536)
    return int(header.split()[1]), json.loads(body)


def test_bad_uploads_get_their_4xx_with_one_line_and_leave_no_file(server, recording, tmp_path):
    url, video = server["url"], recording["video"].read_bytes()
    wav = make_wav(tmp_path / "tone.wav", seconds=0.5).read_bytes()
    cases = [
        ("empty.mp4", b"", 400, "is empty (0 bytes)"),
        ("cut.mp4", video[: len(video) * 6 // 10], 400, "cannot open as a video (truncated"),
        ("notes.mp4", b"this is a text file, not a video\n" * 20, 415,
         "the upload is text, not a video"),
        ("tone.mp4", wav, 415, "the upload is WAV audio, without video"),
        ("image.mp4", b"\x89PNG\r\n\x1a\n" + bytes(200), 415, "is a PNG image, not a video"),
        ("big.mp4", video + bytes(100_000), 413, "over the server's limit of 0.05 MB"),
        ("short.mp4", recording["short"].read_bytes(), 400, "6 frames is shorter than one sample"),
    ]
    for name, data, want, text in cases:
        status, answer = assess_bytes(url, data, name, token=TOKEN)
        assert (status, list(answer)) == (want, ["error"]), (name, answer)
        assert text in answer["error"] and "\n" not in answer["error"], (name, answer)
        assert str(server["root"]) not in answer["error"]  # the server's paths stay its own
        assert folder_is_empty(server["root"]), name
    # bad fields
    status, answer = assess_bytes(url, video, "recital.mp4", token=TOKEN, crop="1,2,3")
    assert status == 400 and "crop must be four numbers" in answer["error"]
    status, answer = assess_bytes(url, video, "recital.mp4", token=TOKEN, meta=["difficulty"])
    assert status == 400 and "meta takes KEY=VALUE" in answer["error"]
    status, answer = assess_bytes(url, video, "recital.mp4", token=TOKEN, crop="0,0,500,40")
    assert status == 400 and "outside the 64x48 frame" in answer["error"]
    # a length far past the limit is refused before any of the body is sent
    status, answer = raw_exchange(url, (
        f"POST /assess HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000000\r\n"
        "Expect: 100-continue\r\n\r\n").encode())
    assert status == 413 and "over the server's limit" in answer["error"]
    assert folder_is_empty(server["root"])


def test_eight_concurrent_uploads_are_all_answered(server, recording, predicted):
    def one(_):
        return assess_file(server["url"], recording["video"], token=TOKEN, crop=CROP_TEXT)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    for status, record in answers:
        assert status == 200, record
        assert record["level"] == predicted["level"]
        np.testing.assert_allclose(record["probs"], predicted["probs"], atol=1e-6, rtol=0)
    assert folder_is_empty(server["root"])


def test_without_the_token_a_request_is_refused_401(server, recording):
    url = server["url"]
    for token in (None, "wrong-token"):
        status, answer = assess_file(url, recording["video"], token=token)
        assert status == 401 and "Authorization: Bearer" in answer["error"]
        assert get_json(url + "model", token=token)[0] == 401
    assert get_json(url + "health")[0] == 200  # the health check and the page are open
    for page_file in ("", "static/page.js", "static/page.css"):
        assert request(url + page_file)[0] == 200
    assert request(url + "static/app.py") == (404, {"error": "not found: /static/app.py"})
    assert folder_is_empty(server["root"])


def test_listening_beyond_loopback_without_a_token_is_refused(recording):
    env = {k: v for k, v in os.environ.items() if k != "PISA_SERVE_TOKEN"}
    proc = subprocess.run([sys.executable, "-m", "pisa.cli", "serve", str(recording["config"]),
                           str(recording["ckpt"]), "--host", "0.0.0.0", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to listen on 0.0.0.0 without a token" in lines[0]


# -- the pool's bounds, on a real server around an assessor held busy --------------
class HeldAssessor:
    """Answers once :attr:`release` is set; :attr:`started` tells that one is running."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()

    def describe(self) -> dict:
        return {"task": "level", "num_classes": 2}

    def assess(self, media, crop=None, meta=None, progress=False):
        self.started.set()
        self.release.wait(30)
        return RecordingPrediction(media=str(media), fps=25.0, num_frames=8, frames_per_segment=8,
                                   level=2, probs=[0.25, 0.75], regression=1.8, num_samples=1,
                                   sampler="held", dataset="held", confidence=0.75, interval=[1, 2])


@contextlib.contextmanager
def thread_server(app):
    """``app`` served by uvicorn in a thread on a free loopback port; its URL."""
    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn_server(app, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs=dict(sockets=[sock]), daemon=True)
    thread.start()
    url = server_url(sock)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                if get_json(url + "health", timeout=2)[0] == 200:
                    break
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_for(predicate, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_a_full_queue_is_answered_503_at_once_and_a_late_one_504(recording, tmp_path):
    held = HeldAssessor()
    app = create_app(held, ServeSettings(workers=1, queue=1, timeout_s=3.0,
                                         upload_dir=str(tmp_path)))
    root = app.state.service.uploads.root
    video = recording["video"].read_bytes()
    post = lambda: assess_bytes(url, video, "recital.mp4", timeout=30)  # noqa: E731
    try:
        with thread_server(app) as url, ThreadPoolExecutor(2) as clients:
            running = clients.submit(post)
            assert held.started.wait(10)  # the one worker is held busy
            waiting = clients.submit(post)
            wait_for(lambda: get_json(url + "health")[1]["admitted"] == 2)  # queued
            start = time.monotonic()
            status, answer = post()
            assert time.monotonic() - start < 2.0  # refused at once, not queued
            assert status == 503 and "the server is busy" in answer["error"]
            # neither finishes within the 3 s: 504, and the folders are gone
            for future in (running, waiting):
                status, answer = future.result(timeout=20)
                assert status == 504 and "did not finish within 3 s" in answer["error"]
            assert folder_is_empty(root)
            held.release.set()  # the worker is free again: so are the slots
            wait_for(lambda: get_json(url + "health")[1]["admitted"] == 0)
            status, answer = post()
            assert status == 200 and answer["level"] == 2 and answer["media"] == "recital.mp4"
            assert folder_is_empty(root)
    finally:
        held.release.set()
    assert not root.exists()  # removed when the app shut down


class BrokenAssessor(HeldAssessor):
    def assess(self, media, crop=None, meta=None, progress=False):
        raise RuntimeError(f"a bug, reading {media}")


def test_an_unexpected_error_is_one_line_500_and_its_traceback_stays_in_the_log(
        recording, tmp_path, caplog):
    app = create_app(BrokenAssessor(), ServeSettings(upload_dir=str(tmp_path)))
    root = app.state.service.uploads.root
    with thread_server(app) as url:
        status, answer = assess_file(url, recording["video"])
    assert status == 500 and list(answer) == ["error"]
    assert answer["error"] == ("internal error (RuntimeError); the traceback is in the "
                               "server's log")
    assert "Traceback" in caplog.text and "a bug, reading" in caplog.text
    assert not root.exists()


# -- the page ------------------------------------------------------------------------
def test_the_page_shows_the_level_of_the_json_answer(server, recording, predicted):
    from browser import assess_on_page, browser_paths, headless_chromium

    if browser_paths() is None:
        pytest.skip("chromium and chromedriver are not installed (scripts/test.sh installs "
                    "Debian's chromium and chromium-driver with apt)")
    pytest.importorskip("selenium", reason="selenium is in the 'test' extra")
    from selenium.webdriver.common.by import By

    with headless_chromium() as driver:
        state = assess_on_page(driver, server["url"], recording["video"], TOKEN, CROP_TEXT)
        assert state == "done", driver.find_element(By.ID, "status").text
        assert driver.find_element(By.ID, "token").is_displayed()  # the server asks for one
        assert int(driver.find_element(By.ID, "level").text) == predicted["level"]
        lo, hi = predicted["interval"]
        assert driver.find_element(By.ID, "interval").text == f"{lo}\u2013{hi}"
        assert driver.find_element(By.ID, "confidence").text == f"{predicted['confidence']:.2f}"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.segment")) == 5
        bars = driver.find_elements(By.CSS_SELECTOR, "#probs li")
        assert len(bars) == 10
        chosen = driver.find_element(By.CSS_SELECTOR, "#probs li.chosen .label").text
        assert chosen == f"level {predicted['level']}"
        assert not driver.find_element(By.ID, "notes").is_displayed()  # no notes in this record
        # readable on a phone: one column, nothing wider than the screen
        driver.set_window_size(390, 844)
        width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
    assert folder_is_empty(server["root"])


@pytest.mark.parametrize("head, name, kind", [
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "MPEG-4 (MP4)", "video"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "QuickTime (MOV)", "video"),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "QuickTime (MOV)", "video"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm", "WebM", "video"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "Matroska (MKV)", "video"),
    (b"RIFF\x00\x10\x00\x00AVI LIST", "AVI", "video"),
    (b"RIFF\x00\x10\x00\x00WAVEfmt ", "WAV audio", "audio"),
    (b"fLaC\x00\x00\x00\x22", "FLAC audio", "audio"),
    (b"OggS\x00\x02\x00\x00", "Ogg audio", "audio"),
    (b"ID3\x04\x00\x00\x00\x00", "MP3 audio", "audio"),
    (b"\xff\xfb\x90\x64\x00", "MP3 audio", "audio"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", "MPEG-4 audio (M4A)", "audio"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image", "other"),
    ("caf\u00e9 au lait, no video here".encode()[:4], "text", "other"),
    (b"\x00\x01\x02\x03\x04\x05", "unknown", "other"),
])
def test_uploads_are_typed_by_their_first_bytes(head, name, kind):
    from pisa.serve.media_types import sniff

    found = sniff(head)
    assert (found.name, found.kind) == (name, kind)
    assert found.video == (kind == "video") and (found.extension.startswith(".") or not found.video)


def test_serve_is_a_command_of_the_cli_and_of_the_readme_table():
    from pisa.cli import COMMANDS

    assert COMMANDS["serve"][0] == "pisa.commands.serve"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `pisa ")]
    assert any(line.startswith("| `pisa serve CONFIG") for line in table)
