#!/bin/sh
# Adds voicedesk from this unpacked tarball to your application menu (no root needed):
#   ./install.sh            menu entry + icons under ~/.local/share, pointing at this folder
#   ./install.sh --remove   takes them away again
# The folder itself stays where it is: move it first if you want it elsewhere, then run this again.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$DATA/applications/voicedesk.desktop"
  find "$DATA/icons/hicolor" -name 'voicedesk.*' -path '*/apps/*' -delete 2>/dev/null || true
  echo "voicedesk: menu entry removed"
  exit 0
fi
mkdir -p "$DATA/applications"
sed -e "s|^Exec=voicedesk|Exec=\"$HERE/voicedesk\"|" -e "s|^TryExec=.*|TryExec=$HERE/voicedesk|" \
  "$HERE/share/applications/voicedesk.desktop" >"$DATA/applications/voicedesk.desktop"
cp -R "$HERE/share/icons" "$DATA/"
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$DATA/applications" || true
fi
echo "voicedesk: added to the application menu (starts $HERE/voicedesk)"
