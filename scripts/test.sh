#!/usr/bin/env bash
# Set up (see setup.sh) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
bash scripts/ffmpeg_libs.sh
.venv/bin/python -m pytest -q "$@"
# The suite ran on the default decoders (PyAV, pisa/io/media/backends.py), and
# tests/test_media_backends.py compared every backend side by side; the tests that decode
# media run again with decord selected (where decord is not installed they fall back to
# PyAV with one warning)
echo "== the media tests with the decord backend"
PISA_VIDEO_BACKEND=decord PISA_AUDIO_BACKEND=decord exec .venv/bin/python -m pytest -q -m media "$@"
