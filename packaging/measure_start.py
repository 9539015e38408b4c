"""Start-up time of a built bundle: from exec to the main window's first paint, and to the end of --smoke.

    python packaging/measure_start.py [--bundle dist/voicedesk/voicedesk] [--runs 5] [--xvfb] [--cold]

Each run starts ``BUNDLE gui --smoke`` with VOICEDESK_REPORT_FIRST_PAINT=1, so the bundle's runtime hook
prints the wall-clock time of the first Paint event of the main window; the time before exec is taken
here. ``--xvfb`` draws on a real X server (Xvfb, Qt's xcb plugin) instead of Qt's offscreen plugin.
``--cold`` empties the page cache before every run (root only; Linux), so the bundle is read from disk
as on the first start after boot. Prints the median and range; it asserts nothing (shared machines).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def drop_page_cache() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def run_once(bundle: Path, env: dict[str, str]) -> tuple[float, float]:
    started = time.time()
    result = subprocess.run(
        [str(bundle), "gui", "--smoke"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    ended = time.time()
    painted = re.search(r"voicedesk: first paint at (\d+\.\d+)", result.stderr)
    if result.returncode != 0 or painted is None:
        sys.exit(f"the bundle failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return float(painted.group(1)) - started, ended - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "voicedesk" / "voicedesk")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--xvfb", action="store_true", help="paint on Xvfb (xcb) instead of offscreen")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each run (root)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "VOICEDESK_REPORT_FIRST_PAINT": "1",
            "VOICEDESK_CONFIG_DIR": f"{tmp}/config",
            "VOICEDESK_DATA_DIR": f"{tmp}/data",
            "VOICEDESK_NO_KEYRING": "1",
            "QT_QPA_PLATFORM": "offscreen",
        }
        xvfb = None
        if args.xvfb:
            if shutil.which("Xvfb") is None:
                sys.exit("Xvfb is not installed")
            display = ":97"
            xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            time.sleep(1.0)
            env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        try:
            paints, exits = [], []
            for _ in range(args.runs):
                if args.cold:
                    drop_page_cache()
                paint, exit_ = run_once(args.bundle, env)
                paints.append(paint)
                exits.append(exit_)
        finally:
            if xvfb is not None:
                xvfb.terminate()
                xvfb.wait()

    def fmt(values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return f"median {statistics.median(ms):.0f} ms (range {min(ms):.0f}–{max(ms):.0f})"

    where = "Xvfb/xcb" if args.xvfb else "offscreen"
    cache = "page cache dropped before each run" if args.cold else "warm page cache"
    print(f"{args.bundle} — {args.runs} runs, {where}, {cache}")
    print(f"  exec → first paint of the main window: {fmt(paints)}")
    print(f"  exec → --smoke exit (one local turn):   {fmt(exits)}")


if __name__ == "__main__":
    main()
