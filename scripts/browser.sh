#!/usr/bin/env bash
# The browser the page test (tests/test_serve.py) drives: Debian's chromium and its
# chromedriver, installed with apt when missing (with sudo when not root). Selenium uses
# this chromedriver and never downloads one. Where they cannot be installed the test
# says so and is skipped; nothing else depends on them.
set -uo pipefail
if command -v chromedriver > /dev/null && { command -v chromium > /dev/null || command -v chromium-browser > /dev/null; }; then
  exit 0
fi
if ! command -v apt-get > /dev/null; then
  echo "browser: chromium/chromedriver missing and no apt-get: the page test will be skipped" >&2
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "browser: chromium/chromedriver missing, not root and no sudo: the page test will be skipped" >&2
    exit 0
  fi
  sudo=(sudo -n)
fi
echo "== installing chromium and chromium-driver (apt) for the page test"
log=$(mktemp)
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y -qq --no-install-recommends chromium chromium-driver; } > "$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "browser: apt could not install chromium and chromium-driver: the page test will be skipped" >&2
fi
rm -f "$log"
exit 0
