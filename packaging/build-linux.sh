#!/usr/bin/env bash
# Builds the Linux bundles of voicedesk, into dist/ (or $DIST):
#
#   dist/voicedesk/                              the one-folder PyInstaller build (packaging/voicedesk.spec)
#   dist/voicedesk-VERSION-linux-ARCH.tar.gz     that folder + the .desktop file, icons and install.sh
#   dist/voicedesk_VERSION_DEBARCH.deb           installs it under /opt/voicedesk, /usr/bin/voicedesk,
#                                                the menu entry and icons (dpkg-deb; Depends from dpkg-shlibdeps)
#   dist/voicedesk-VERSION-ARCH.AppImage         only when appimagetool is on PATH or in $APPIMAGETOOL
#
# Usage: packaging/build-linux.sh        (PYTHON=.venv/bin/python by default; PyInstaller is in the dev extra)
# Every bundle is started once (VOICEDESK_BUNDLE_CHECK) before it is packed; tests/packaging runs --smoke.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the build copies into the bundle (PortAudio, the xcb libraries Qt's xcb plugin needs) and what
# dpkg-shlibdeps must find to compute the .deb's Depends. Installed when root or password-less sudo.
BUILD_PACKAGES=(
  dpkg-dev binutils libportaudio2 libwayland-cursor0 libwayland-egl1 libegl1 libgl1 libfontconfig1 libdbus-1-3
  libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
)
install_build_packages() {
  command -v dpkg >/dev/null 2>&1 || return 0
  local missing=() pkg sudo=""
  for pkg in "${BUILD_PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "build-linux.sh: missing build packages; run: sudo apt-get install -y ${missing[*]}" >&2; return 0
    fi
  fi
  echo "installing build packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_build_packages

PY="${PYTHON:-.venv/bin/python}"
DIST="${DIST:-dist}"
WORK="build/pyinstaller"
"$PY" -m PyInstaller --version >/dev/null 2>&1 \
  || { echo "build-linux.sh: PyInstaller is missing: $PY -m pip install -e '.[dev]'" >&2; exit 1; }
VERSION="$("$PY" -c 'import voicedesk; print(voicedesk.__version__)')"
ARCH="$(uname -m)"
mkdir -p "$DIST"
rm -f "$DIST/voicedesk.inputs"
INPUTS="$("$PY" packaging/build_inputs.py)"
start=$SECONDS

echo "== one-folder bundle ($DIST/voicedesk)"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" \
  packaging/voicedesk.spec
BUNDLE="$DIST/voicedesk"
VOICEDESK_BUNDLE_CHECK=1 "$BUNDLE/voicedesk" >"$WORK/bundle-check.json" \
  || { cat "$WORK/bundle-check.json" >&2; echo "build-linux.sh: the bundle cannot load its parts" >&2; exit 1; }
echo "   $(du -sb "$BUNDLE" | awk '{printf "%.1f MB", $1 / 1e6}') unpacked, built in $((SECONDS - start)) s"

# The menu entry and icons, laid out as under /usr (share/applications, share/icons/hicolor).
install_share() {  # $1: the prefix to fill
  install -Dm644 resources/voicedesk.desktop "$1/share/applications/voicedesk.desktop"
  install -Dm644 resources/icons/voicedesk.svg "$1/share/icons/hicolor/scalable/apps/voicedesk.svg"
  local png size
  for png in resources/icons/voicedesk-*.png; do
    size="${png##*-}"; size="${size%.png}"
    install -Dm644 "$png" "$1/share/icons/hicolor/${size}x${size}/apps/voicedesk.png"
  done
}

echo "== tarball"
NAME="voicedesk-$VERSION-linux-$ARCH"
STAGE="$WORK/$NAME"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -a "$BUNDLE/." "$STAGE/"
install_share "$STAGE"
install -m755 packaging/linux/install.sh "$STAGE/install.sh"
tar -C "$WORK" -czf "$DIST/$NAME.tar.gz" "$NAME"
echo "   $DIST/$NAME.tar.gz ($(du -h "$DIST/$NAME.tar.gz" | cut -f1))"

if command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null; then
  echo "== .deb"
  DEBARCH="$(dpkg --print-architecture)"
  ROOT="$WORK/deb/root"
  rm -rf "$WORK/deb" && mkdir -p "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/DEBIAN"
  cp -a "$BUNDLE" "$ROOT/opt/voicedesk"
  ln -s ../../opt/voicedesk/voicedesk "$ROOT/usr/bin/voicedesk"  # the bundle finds _internal through the link
  install_share "$ROOT/usr"
  install -Dm644 packaging/linux/copyright "$ROOT/usr/share/doc/voicedesk/copyright"
  # Depends: the packages of the system libraries the bundle links to and does not carry (glibc, libasound,
  # fontconfig, GL, xcb, wayland, glib, dbus, libstdc++ ...), with the versions this build needs.
  mkdir -p "$WORK/deb/debian" && printf 'Source: voicedesk\n\nPackage: voicedesk\nArchitecture: any\n' >"$WORK/deb/debian/control"
  # The packages whose libraries the bundle carries itself (libjack, libX11, xcb-util, ...) are left out.
  ROOT_ABS="$PWD/$ROOT"
  mapfile -t elves < <(find "$ROOT_ABS/opt/voicedesk" -type f \( -name '*.so*' -o -name voicedesk \) -print)
  mapfile -t carried < <(find "$ROOT_ABS/opt/voicedesk/_internal" -name 'lib*.so*' -printf '*/%f\n' \
      | xargs dpkg -S 2>/dev/null | sed 's/:.*//' | sort -u | sed 's/^/-x/')
  depends="$(cd "$WORK/deb" && dpkg-shlibdeps -O --ignore-missing-info "${carried[@]}" \
      -l"$ROOT_ABS/opt/voicedesk/_internal" -l"$ROOT_ABS/opt/voicedesk/_internal/PySide6/Qt/lib" \
      "${elves[@]}" 2>shlibdeps.log \
      | sed -n 's/^shlibs:Depends=//p')" || { cat "$WORK/deb/shlibdeps.log" >&2; exit 1; }
  [ -n "$depends" ] || { cat "$WORK/deb/shlibdeps.log" >&2; echo "build-linux.sh: no Depends computed" >&2; exit 1; }
  cat >"$ROOT/DEBIAN/control" <<EOF
Package: voicedesk
Version: $VERSION
Architecture: $DEBARCH
Maintainer: ${DEB_MAINTAINER:-voicedesk developers <voicedesk@users.noreply.github.com>}
Section: sound
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
Depends: $depends, libsndfile1
Suggests: gnome-keyring | kwalletmanager | keepassxc
Description: desktop voice assistant for realtime speech models
 Talk to speech-to-speech realtime models (the OpenAI Realtime API, Azure OpenAI and compatible
 servers): push-to-talk or hands-free, both sides as text while they stream, tool calls, and
 interrupting the model at any moment. Works offline with its embedded local server.
 .
 A self-contained build: Python, Qt and PortAudio are inside /opt/voicedesk.
EOF
  dpkg-deb --root-owner-group -Zxz -z6 --build "$ROOT" "$DIST/voicedesk_${VERSION}_${DEBARCH}.deb" >/dev/null
  echo "   $DIST/voicedesk_${VERSION}_${DEBARCH}.deb ($(du -h "$DIST/voicedesk_${VERSION}_${DEBARCH}.deb" | cut -f1))"
else
  echo "== .deb skipped: dpkg-deb and dpkg-shlibdeps are needed (apt-get install dpkg-dev)" >&2
fi

APPIMAGETOOL="${APPIMAGETOOL:-$(command -v appimagetool || true)}"
if [ -n "$APPIMAGETOOL" ]; then
  echo "== AppImage"
  APPDIR="$WORK/voicedesk.AppDir"
  rm -rf "$APPDIR" && mkdir -p "$APPDIR/usr/lib"
  cp -a "$BUNDLE" "$APPDIR/usr/lib/voicedesk"
  install_share "$APPDIR/usr"
  install -m755 packaging/linux/AppRun "$APPDIR/AppRun"
  cp resources/voicedesk.desktop "$APPDIR/voicedesk.desktop"
  cp resources/icons/voicedesk-256.png "$APPDIR/voicedesk.png"
  ln -s voicedesk.png "$APPDIR/.DirIcon"
  export ARCH  # appimagetool reads the architecture from the environment
  "$APPIMAGETOOL" --no-appstream "$APPDIR" "$DIST/voicedesk-$VERSION-$ARCH.AppImage" >/dev/null
  echo "   $DIST/voicedesk-$VERSION-$ARCH.AppImage ($(du -h "$DIST/voicedesk-$VERSION-$ARCH.AppImage" | cut -f1))"
else
  echo "== AppImage skipped: no appimagetool (it is published only as a GitHub download, which CI fetches;" >&2
  echo "   see packaging/README.md). Set APPIMAGETOOL=/path/to/appimagetool to build one here." >&2
fi

echo "$INPUTS" >"$DIST/voicedesk.inputs"
echo "== done in $((SECONDS - start)) s"
