"""A digest of everything a bundle is built from, so a build can be reused only while it is fresh.

    python packaging/build_inputs.py        prints the digest

packaging/build-linux.sh writes it to dist/voicedesk.inputs after a build; tests/packaging reuses that build
only if the digest still matches (same sources, resources, spec, hooks, pyproject and installed packages).
"""

from __future__ import annotations

import hashlib
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = (
    "voicedesk",
    "resources",
    "packaging/voicedesk.spec",
    "packaging/launcher.py",
    "packaging/icu_trim.py",
    "packaging/hooks",
)
SUFFIXES = {".py", ".spec", ".qss", ".png", ".svg", ".desktop", ".toml", ".typed"}


def digest() -> str:
    h = hashlib.sha256()
    files = [ROOT / "pyproject.toml", ROOT / "packaging" / "build-linux.sh"]
    for name in INPUTS:
        path = ROOT / name
        files += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES) if path.is_dir() else [path]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    # the installed packages the bundle copies (a pip upgrade makes a new bundle); only site-packages, so
    # the digest does not depend on the caller's sys.path
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    dists = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions(path=site)})
    h.update("\n".join([sys.version, *dists]).encode())
    return h.hexdigest()


if __name__ == "__main__":
    print(digest())
