#!/usr/bin/env bash
# Install Debian packages with apt (with sudo when not root) for an optional part of the
# test suite: `apt_packages.sh "<what needs them>" PACKAGE...`. Where apt, root or sudo is
# missing, or apt fails, it says so and exits 0: the tests that need them skip with the
# reason, and nothing else depends on them.
set -uo pipefail
what=$1
shift
if ! command -v apt-get > /dev/null; then
  echo "$what: $* missing and no apt-get: those tests will be skipped" >&2
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "$what: $* missing, not root and no sudo: those tests will be skipped" >&2
    exit 0
  fi
  sudo=(sudo -n)
fi
echo "== installing $* (apt) for $what"
log=$(mktemp)
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y -qq --no-install-recommends "$@"; } > "$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "$what: apt could not install $*: those tests will be skipped" >&2
fi
rm -f "$log"
exit 0
