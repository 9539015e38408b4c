#!/usr/bin/env bash
# Screenshots of the real window under Xvfb (no screen needed): a scripted conversation against the
# embedded local server, saved as docs/screenshots/{idle,answering,interrupted,error}-{1400x900,800x600}[-dark].png
#   packaging/screenshots.sh [OUT_DIR]
# Needs xvfb (xvfb-run) and Qt's xcb libraries (see packaging/dev.sh); QT_DEBUG_PLUGINS=1 says which is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-docs/screenshots}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
for theme in light dark; do
  QT_QPA_PLATFORM=xcb xvfb-run --auto-servernum --server-args="-screen 0 1600x1000x24" \
    "$PY" packaging/screenshots.py --out "$OUT" --theme "$theme"
done
