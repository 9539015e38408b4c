#!/usr/bin/env bash
# The two set-up commands of the README:
#   packaging/dev.sh app  [voicedesk options]   install everything, then start voicedesk
#   packaging/dev.sh test [pytest options]      install everything, then run every check and test
# System packages (PortAudio, PulseAudio for the device tests, Qt's xcb libraries, espeak-ng, Xvfb) are
# installed when this runs as root or with password-less sudo; otherwise the exact command is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-venv libportaudio2 libasound2-plugins pulseaudio pulseaudio-utils espeak-ng sox xvfb xdotool trayer shellcheck
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
)

install_system_packages() {
  command -v dpkg >/dev/null 2>&1 || return 0   # not Debian/Ubuntu: see README for other systems
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "voicedesk: missing system packages. Please run:" >&2
      echo "  sudo apt-get install -y ${missing[*]}" >&2
      echo "(continuing: tests that need them will be skipped with a reason)" >&2
      return 0
    fi
  fi
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "voicedesk: could not install ${missing[*]}; tests that need them will be skipped" >&2
}

install_python_env() {
  local py="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv || { echo "voicedesk: cannot create a virtualenv: install python3-venv" >&2; exit 1; }
  fi
  local stamp=".venv/.voicedesk-installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  app)
    install_system_packages
    install_python_env
    exec .venv/bin/voicedesk "$@"
    ;;
  test)
    install_system_packages
    install_python_env
    echo "== ruff"; .venv/bin/ruff check voicedesk tests benchmarks packaging
    .venv/bin/ruff format --check voicedesk tests benchmarks packaging
    echo "== mypy"; .venv/bin/mypy
    echo "== import contracts"; .venv/bin/lint-imports
    echo "== shell scripts and the bundles workflow"
    if command -v shellcheck >/dev/null; then
      shellcheck packaging/*.sh packaging/linux/*.sh packaging/linux/AppRun packaging/macos/*.sh .ci/run
    else
      echo "shellcheck not installed: shell scripts not checked" >&2
    fi
    .venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
    echo "== pytest"
    set +e
    .venv/bin/python -m pytest "$@"
    status=$?
    set -e
    # pytest's 5 means "no test selected": not a failure of the suite.
    [ "$status" -eq 5 ] && status=0
    exit "$status"
    ;;
  *)
    echo "usage: packaging/dev.sh app [voicedesk options] | test [pytest options]" >&2
    exit 2
    ;;
esac
