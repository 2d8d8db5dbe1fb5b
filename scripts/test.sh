#!/usr/bin/env bash
# Set up (see setup.sh) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
bash scripts/ffmpeg_libs.sh
.venv/bin/python -m pytest -q "$@"
# The suite ran on the default decoders (PyAV, pisa/io/media/backends.py); the tests that
# decode media run again with each other backend selected
for backend in decord torchcodec; do
  echo "== the media tests with the $backend backend"
  PISA_VIDEO_BACKEND=$backend PISA_AUDIO_BACKEND=$backend .venv/bin/python -m pytest -q -m media "$@"
done
