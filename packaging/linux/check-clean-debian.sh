#!/usr/bin/env bash
# Installs the .deb into a fresh minimal Debian (debootstrap --variant=minbase: no Python, no PortAudio,
# no Qt libraries) with apt, so only its Depends come along, and starts it there: the bundle check,
# `gui --smoke` offscreen and, if Xvfb is on this machine, on a real X server through Qt's xcb plugin.
#
#   sudo packaging/linux/check-clean-debian.sh [dist/voicedesk_VERSION_amd64.deb] [bookworm]
#
# Needs root (chroot, mounts), debootstrap and a Debian mirror (MIRROR, default deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEBS=(dist/voicedesk_*.deb)
DEB="$(realpath "${1:-${DEBS[-1]}}")"
SUITE="${2:-bookworm}"
ROOT="$(mktemp -d /tmp/voicedesk-clean.XXXXXX)"
XVFB_PID=""
cleanup() {
  if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2>/dev/null || true; fi
  for m in tmp/.X11-unix dev proc; do mountpoint -q "$ROOT/$m" && umount "$ROOT/$m"; done
  rm -rf "$ROOT"
}
trap cleanup EXIT

debootstrap --variant=minbase "$SUITE" "$ROOT" "${MIRROR:-http://deb.debian.org/debian}" >/dev/null
mount -t proc proc "$ROOT/proc" && mount --bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/" 2>/dev/null || true
cp "$DEB" "$ROOT/tmp/voicedesk.deb"
chroot "$ROOT" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends /tmp/voicedesk.deb >/dev/null'
for absent in python3 libportaudio2; do
  if chroot "$ROOT" dpkg -s "$absent" >/dev/null 2>&1; then echo "$absent came along: not a clean test" >&2; exit 1; fi
done

run() {  # run voicedesk in the clean root as a person would, with its own home
  chroot "$ROOT" env -i HOME=/tmp PATH=/usr/bin:/bin LANG=C.UTF-8 VOICEDESK_NO_KEYRING=1 "$@"
}
run VOICEDESK_BUNDLE_CHECK=1 voicedesk >/dev/null
run QT_QPA_PLATFORM=offscreen voicedesk gui --smoke | grep "voicedesk --smoke: ok"
if command -v Xvfb >/dev/null; then
  Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & XVFB_PID=$!
  sleep 1
  mkdir -p "$ROOT/tmp/.X11-unix" && mount --bind /tmp/.X11-unix "$ROOT/tmp/.X11-unix"
  run DISPLAY=:97 voicedesk gui --smoke | grep "voicedesk --smoke: ok"
fi
echo "the .deb installs and runs on a clean $SUITE"
