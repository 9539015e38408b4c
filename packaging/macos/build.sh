#!/usr/bin/env bash
# Builds dist/voicedesk.app and dist/voicedesk-VERSION-macos-ARCH.dmg. Run on macOS (CI: macos runners).
#
#   packaging/macos/build.sh          PYTHON=.venv/bin/python by default (pip install -e '.[dev]')
#
# The .app is ad-hoc signed by PyInstaller; with VOICEDESK_CODESIGN_IDENTITY="Developer ID Application: …"
# it is signed with that identity, the hardened runtime and packaging/macos/entitlements.plist instead
# (notarizing it, `xcrun notarytool submit --wait`, needs an Apple account and is not done here).
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${PYTHON:-.venv/bin/python}"
VERSION="$("$PY" -c 'import voicedesk; print(voicedesk.__version__)')"
ARCH="$(uname -m)"
WORK="build/pyinstaller"
start=$SECONDS

"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath "$WORK" packaging/voicedesk.spec
APP="dist/voicedesk.app"
plutil -lint "$APP/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Print :NSMicrophoneUsageDescription" "$APP/Contents/Info.plist" >/dev/null
codesign --verify --deep --strict "$APP"
VOICEDESK_BUNDLE_CHECK=1 "$APP/Contents/MacOS/voicedesk" >"$WORK/bundle-check.json" \
  || { cat "$WORK/bundle-check.json" >&2; echo "macos/build.sh: the app cannot load its parts" >&2; exit 1; }
echo "voicedesk.app: $(du -sh "$APP" | cut -f1), built in $((SECONDS - start)) s"

# The disk image: the app and a link to /Applications to drag it onto.
STAGE="$WORK/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
ditto "$APP" "$STAGE/voicedesk.app"
ln -s /Applications "$STAGE/Applications"
DMG="dist/voicedesk-$VERSION-macos-$ARCH.dmg"
rm -f "$DMG"
hdiutil create -volname "voicedesk $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "$DMG: $(du -h "$DMG" | cut -f1)"
