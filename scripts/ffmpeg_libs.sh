#!/usr/bin/env bash
# The system FFmpeg libraries torchcodec (one of the decoder backends) loads: Debian's,
# installed when missing (scripts/apt_packages.sh; the -dev packages bring whichever
# library versions the release has). PyAV and decord bring their own FFmpeg.
set -uo pipefail
if ldconfig -p 2>/dev/null | grep -q "libavcodec\.so\.[0-9]"; then
  exit 0
fi
exec bash "$(dirname "$0")/apt_packages.sh" "the torchcodec backend" libavcodec-dev libavformat-dev \
  libavutil-dev libswscale-dev libswresample-dev libavdevice-dev libavfilter-dev
