#!/usr/bin/env bash
# Create .venv (if needed) and install pisa-aqa with its test tools and the service's
# dependencies (the 'test' and 'serve' extras), torchcodec (a decoder backend) and the
# plugins in plugins/ into it. Safe to run again: it reinstalls only when a setup.cfg changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.pisa-installed
want=$(cat setup.cfg pyproject.toml plugins/*/setup.cfg plugins/*/pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
log=.venv/pisa-setup.log
: > "$log"
echo "== installing pisa-aqa into .venv (pip's output: $log)"
pip_install() {
  if ! .venv/bin/python -m pip install "$@" >> "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "setup: pip install $* failed (whole log: $log)" >&2
    exit 1
  fi
}
pip_install --upgrade pip
# The torch build is pinned here, not in setup.cfg: the project itself runs on any
# torch >= 2.1, and this pair is the one known to import together.
pip_install "torch==2.14.1" "torchvision==0.29.1"
# torchcodec's releases follow torch's: 0.17 is the one built for torch 2.14 (it runs
# where the system's FFmpeg libraries are present: scripts/ffmpeg_libs.sh)
# optional: where it cannot be installed the torchcodec tests are skipped with the reason
if ! .venv/bin/python -m pip install "torchcodec==0.17.0" >> "$log" 2>&1; then
  echo "setup: torchcodec could not be installed; its backend and tests will be skipped" >&2
fi
pip_install -e ".[test,serve]"
# basic-pitch (plugins/pisa-transcription's model) without its dependencies: its metadata
# pulls TensorFlow, which the ONNX weights the plugin runs never need; the plugin's own
# requirements bring what that path imports
pip_install --no-deps "basic-pitch==0.4.0"
for p in plugins/*/; do
  [ -f "$p/setup.cfg" ] && pip_install -e "$p"
done
echo "$want" > "$stamp"
