#!/usr/bin/env bash
# The system FFmpeg libraries torchcodec (one of the decoder backends) loads: Debian's,
# installed with apt when missing (with sudo when not root). PyAV and decord bring their
# own FFmpeg; where these cannot be installed the torchcodec tests are skipped with the
# reason and nothing else depends on them.
set -uo pipefail
if ldconfig -p 2>/dev/null | grep -q "libavcodec\.so\.[0-9]"; then
  exit 0
fi
if ! command -v apt-get > /dev/null; then
  echo "ffmpeg-libs: no system FFmpeg and no apt-get: the torchcodec tests will be skipped" >&2
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "ffmpeg-libs: no system FFmpeg, not root and no sudo: the torchcodec tests will be skipped" >&2
    exit 0
  fi
  sudo=(sudo -n)
fi
echo "== installing the FFmpeg libraries (apt) for the torchcodec backend"
log=$(mktemp)
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y -qq --no-install-recommends libavcodec-dev libavformat-dev libavutil-dev \
       libswscale-dev libswresample-dev libavdevice-dev libavfilter-dev; } > "$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "ffmpeg-libs: apt could not install them: the torchcodec tests will be skipped" >&2
fi
rm -f "$log"
exit 0
