#!/usr/bin/env bash
# Create .venv (if needed) and install pisa-aqa, its test tools and the plugins in
# plugins/ into it. Safe to run again: it reinstalls only when a setup.cfg changed.
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
.venv/bin/python -m pip install -q --upgrade pip
# The torch build is pinned here, not in setup.cfg: the project itself runs on any
# torch >= 2.1, and this pair is the one known to import together.
.venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install -q -e ".[test]"
for p in plugins/*/; do
  [ -f "$p/setup.cfg" ] && .venv/bin/python -m pip install -q -e "$p"
done
echo "$want" > "$stamp"
