#!/usr/bin/env bash
# The browser the page test (tests/test_serve.py) drives: Debian's chromium and its
# chromedriver, installed when missing (scripts/apt_packages.sh). Selenium uses this
# chromedriver and never downloads one.
set -uo pipefail
if command -v chromedriver > /dev/null && { command -v chromium > /dev/null || command -v chromium-browser > /dev/null; }; then
  exit 0
fi
exec bash "$(dirname "$0")/apt_packages.sh" "the page test" chromium chromium-driver
