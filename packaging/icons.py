"""The Windows .ico and macOS .icns of voicedesk, made from resources/icons/voicedesk-N.png.

    python packaging/icons.py OUT_DIR        writes OUT_DIR/voicedesk.ico and OUT_DIR/voicedesk.icns

Both formats can carry PNG data as is (ICO since Windows Vista, ICNS since OS X 10.7), so no image
library is needed. packaging/voicedesk.spec calls this on Windows and macOS.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def _png(size: int) -> bytes:
    data = (ICONS / f"voicedesk-{size}.png").read_bytes()
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    if (width, height) != (size, size):
        raise ValueError(f"voicedesk-{size}.png is {width}x{height}")
    return data


def ico() -> bytes:
    sizes = [s for s in (16, 24, 32, 48, 64, 128, 256) if (ICONS / f"voicedesk-{s}.png").exists()]
    images = [_png(s) for s in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries = b""
    for size, data in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + entries + b"".join(images)


# ICNS element types holding PNG data: (type, pixel size)
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
    (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)  # fmt: skip


def icns() -> bytes:
    body = b""
    for kind, size in ICNS_TYPES:
        if (ICONS / f"voicedesk-{size}.png").exists():
            data = _png(size)
            body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write(out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "voicedesk.ico", out_dir / "voicedesk.icns"
    paths[0].write_bytes(ico())
    paths[1].write_bytes(icns())
    return paths


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)
