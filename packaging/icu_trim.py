"""Trim the ICU data library that Qt ships on Linux to what Qt itself reads (about 32 MB down to 8 MB).

Qt's Linux wheels carry ``libicudata.so.NN``: ICU's whole "common data" package (every converter table,
every locale's currency, unit, language, region and time-zone names, transliterators, the CJK and Thai
dictionaries) compiled into one shared library exporting ``icudtNN_dat``. Qt 6 reads only a small part:

- collation (``coll/``, plus ``ucadata.icu``): QCollator, and through it QFileSystemModel's sorting
- normalization and stringprep (``*.nrm``, ``*.spp``), character properties (``*.icu``): QString, QUrl
- locale meta data (``likelySubtags``, ``metadata``, ``supplementalData``, ...): resolving a locale name

Dropped: converters (``*.cnv``; Qt 6 decodes UTF-8/16/32 and Latin-1 itself, and on Unix its local 8-bit
codec is UTF-8; ICU converters serve only a QStringDecoder asked for a legacy encoding by name, which
voicedesk never does), display names of languages, regions, currencies, units and time zones (QLocale
uses its own CLDR tables; ICU's serve only QTimeZone::displayName, which voicedesk never shows), the
per-locale formatting bundles, number spell-out rules, transliterators, character names and the
word-break dictionaries (Qt breaks text with its own tables). ICU answers a request for dropped data with
an error code, which Qt turns into its fallback (an invalid decoder, an empty zone name), never a crash.

The package format (ICU's ``ucmndata.h``): a data header (``headerSize``, magic ``0xda 0x27``, then
``UDataInfo`` whose ``dataFormat`` is ``CmnD``), then a table of contents: ``count`` and ``count`` pairs
of (name offset, data offset), both relative to the table, names sorted (ICU looks them up by binary
search), then each item 16-byte aligned. The trimmed package is assembled into a new shared library with
the same soname and symbol (``.incbin`` through gcc), so libicuuc links to it unchanged.

    python packaging/icu_trim.py SRC.so DEST.so      # prints the sizes before and after
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\xda\x27"
ALIGN = 16
FILL = b"\xaa"  # what ICU's own packager pads with, so an untrimmed package rebuilds byte for byte

# Per-locale bundles at the top of the tree, "de.res", "pt_BR.res", "sr_Latn_BA.res": formatting data
# Qt never asks ICU for. "root.res" is kept (every lookup's last fallback), and so are the tree's index
# and key pool, which share the shape of a locale name.
_LOCALE_BUNDLE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")
_TOP_LEVEL_KEPT = {"root.res", "res_index.res", "pool.res"}
_DROPPED_TREES = {"unit", "zone", "curr", "lang", "region", "translit", "rbnf"}
_TOP_LEVEL_DROPPED = {"unames.icu"}  # Unicode character names (u_charName), which Qt never asks for


def wanted(name: str) -> bool:
    """Whether an item of the package (``icudt73l/coll/de.res``) stays in the trimmed one."""
    path = name.split("/", 1)[1] if "/" in name else name
    parts = path.split("/")
    if len(parts) > 1:
        return parts[0] not in _DROPPED_TREES and not path.endswith(".dict")
    if path in _TOP_LEVEL_KEPT:
        return True
    if path in _TOP_LEVEL_DROPPED:
        return False
    return not path.endswith(".cnv") and not _LOCALE_BUNDLE.match(path)


@dataclass(frozen=True)
class Package:
    header: bytes  # the common data header, copied unchanged
    items: list[tuple[str, bytes]]  # (name, bytes) in table order

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.items)


def parse(blob: bytes) -> Package:
    """A common data package exactly as ``icudtNN_dat`` holds it (its length must be the symbol's)."""
    if len(blob) < 32 or blob[2:4] != MAGIC:
        raise ValueError("not ICU data: the header's magic bytes are missing")
    header_size = struct.unpack_from("<H", blob, 0)[0]
    if blob[12:16] != b"CmnD":
        raise ValueError(f"not an ICU common data package: data format {blob[12:16]!r}")
    if blob[8] != 0:
        raise ValueError("big-endian ICU data is not supported")
    toc = blob[header_size:]
    (count,) = struct.unpack_from("<I", toc, 0)
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    ends = [data_offset for _, data_offset in entries[1:]] + [len(toc)]
    items = []
    for (name_offset, data_offset), end in zip(entries, ends, strict=True):
        name = toc[name_offset : toc.index(b"\0", name_offset)].decode("ascii")
        items.append((name, bytes(toc[data_offset:end])))
    return Package(bytes(blob[:header_size]), items)


def _pad(size: int) -> int:
    return -size % ALIGN


def build(package: Package) -> bytes:
    """The package as bytes, laid out as ICU's own tools lay it out."""
    count = len(package.items)
    names = [name.encode("ascii") + b"\0" for name, _ in package.items]
    table_size = 4 + 8 * count
    name_offsets, offset = [], table_size
    for encoded in names:
        name_offsets.append(offset)
        offset += len(encoded)
    offset += _pad(len(package.header) + offset)
    data_offsets = []
    for _, data in package.items:
        data_offsets.append(offset)
        offset += len(data) + _pad(len(data))
    out = bytearray(package.header)
    out += struct.pack("<I", count)
    for name_offset, data_offset in zip(name_offsets, data_offsets, strict=True):
        out += struct.pack("<II", name_offset, data_offset)
    for encoded in names:
        out += encoded
    out += FILL * _pad(len(out))
    for _, data in package.items:
        out += data + FILL * _pad(len(data))
    return bytes(out)


def trimmed(package: Package) -> Package:
    return Package(package.header, [(name, data) for name, data in package.items if wanted(name)])


def _exported_data_symbol(library: Path) -> tuple[str, int]:
    """(name, size) of the ``icudtNN_dat`` symbol, read with nm (binutils, which PyInstaller needs anyway)."""
    out = subprocess.run(
        ["nm", "-D", "-S", "--defined-only", str(library)], capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and re.fullmatch(r"icudt\d+_dat", fields[3]):
            return fields[3], int(fields[1], 16)
    raise ValueError(f"{library.name} exports no icudtNN_dat symbol")


def read_library(library: Path) -> tuple[str, Package]:
    """The symbol name and the package inside a libicudata shared library."""
    symbol, size = _exported_data_symbol(library)
    image = library.read_bytes()
    # The symbol's file offset: the one place where a common data header of that size starts.
    for match in re.finditer(re.escape(MAGIC), image):
        start = match.start() - 2
        if start >= 0 and image[start + 12 : start + 16] == b"CmnD" and start + size <= len(image):
            return symbol, parse(image[start : start + size])
    raise ValueError(f"no ICU common data package found in {library.name}")


def write_library(package: Package, symbol: str, soname: str, dest: Path) -> None:
    """A shared library exporting ``symbol`` with the package as its read-only data (needs gcc)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("no C compiler (gcc) to assemble the trimmed ICU data library")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "icudata.dat"
        data.write_bytes(build(package))
        source = Path(tmp) / "icudata.s"
        source.write_text(
            "\t.section .rodata\n"
            f"\t.globl {symbol}\n"
            f"\t.type {symbol}, @object\n"
            f"\t.balign {ALIGN}\n"
            f"{symbol}:\n"
            f'\t.incbin "{data}"\n'
            f"\t.size {symbol}, . - {symbol}\n"
            '\t.section .note.GNU-stack,"",@progbits\n'
        )
        subprocess.run(
            [compiler, "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(dest), str(source)], check=True
        )


def trim_library(source: Path, dest: Path) -> tuple[int, int]:
    """Write the trimmed copy of ``source`` to ``dest``; returns both file sizes in bytes."""
    symbol, package = read_library(source)
    write_library(trimmed(package), symbol, source.name, dest)
    return source.stat().st_size, dest.stat().st_size


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: icu_trim.py SRC.so DEST.so", file=sys.stderr)
        return 2
    before, after = trim_library(Path(argv[0]), Path(argv[1]))
    print(f"{Path(argv[0]).name}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
