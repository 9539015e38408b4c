"""packaging/icu_trim.py: the ICU data Qt ships, trimmed for the Linux bundle (fast; no bundle is built).

The real library from the installed PySide6 wheel is read, rebuilt, trimmed and assembled, and a Python
with Qt is started on the trimmed copy to check that Qt still collates, maps case and fails softly where
data was dropped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_icu_trim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("icu_trim", ROOT / "packaging" / "icu_trim.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["icu_trim"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


icu_trim = _load_icu_trim()


def _qt_icu_data() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    found = sorted((Path(spec.origin).parent / "Qt" / "lib").glob("libicudata.so.*"))
    return found[0] if found else None


QT_ICU = _qt_icu_data()
needs_qt_icu = pytest.mark.skipif(
    QT_ICU is None or shutil.which("nm") is None, reason="Qt's own ICU (PySide6 on Linux) and binutils needed"
)


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("icudt73l/coll/ucadata.icu", True),
        ("icudt73l/coll/sv.res", True),
        ("icudt73l/root.res", True),
        ("icudt73l/res_index.res", True),
        ("icudt73l/pool.res", True),
        ("icudt73l/likelySubtags.res", True),
        ("icudt73l/nfkc.nrm", True),
        ("icudt73l/uts46.nrm", True),
        ("icudt73l/brkitr/line.brk", True),
        ("icudt73l/de.res", False),
        ("icudt73l/sr_Latn_BA.res", False),
        ("icudt73l/ibm-943_P15A-2003.cnv", False),
        ("icudt73l/gb18030.cnv", False),
        ("icudt73l/unames.icu", False),
        ("icudt73l/zone/de.res", False),
        ("icudt73l/lang/fr.res", False),
        ("icudt73l/curr/ja.res", False),
        ("icudt73l/translit/root.res", False),
        ("icudt73l/brkitr/cjdict.dict", False),
    ],
)
def test_keeps_what_qt_reads_and_drops_the_rest(name: str, kept: bool) -> None:
    assert icu_trim.wanted(name) is kept


def _synthetic_package(items: list[tuple[str, bytes]]) -> bytes:
    header = bytearray(32)
    struct.pack_into("<H", header, 0, len(header))
    header[2:4] = icu_trim.MAGIC
    header[12:16] = b"CmnD"
    return bytes(icu_trim.build(icu_trim.Package(bytes(header), items)))


def test_a_built_package_parses_back_with_aligned_items() -> None:
    items = [("pkg/a.res", b"A" * 16), ("pkg/b.res", b"B" * 20), ("pkg/c.icu", b"C" * 3)]
    blob = _synthetic_package(items)
    package = icu_trim.parse(blob)
    assert [name for name, _ in package.items] == ["pkg/a.res", "pkg/b.res", "pkg/c.icu"]
    for (_, original), (_, parsed) in zip(items, package.items, strict=True):
        assert parsed.startswith(original) and len(parsed) % icu_trim.ALIGN == 0
    start = blob.index(b"AAAA")
    assert start % icu_trim.ALIGN == 0, "ICU reads items in place: they must stay aligned"


def test_data_that_is_not_an_icu_package_is_refused() -> None:
    with pytest.raises(ValueError, match="magic"):
        icu_trim.parse(b"RIFF" + bytes(60))
    wrong_format = bytearray(_synthetic_package([("pkg/a.res", b"A")]))
    wrong_format[12:16] = b"ResB"
    with pytest.raises(ValueError, match="common data"):
        icu_trim.parse(bytes(wrong_format))


@needs_qt_icu
def test_qts_package_rebuilds_byte_for_byte() -> None:
    assert QT_ICU is not None
    symbol, package = icu_trim.read_library(QT_ICU)
    assert symbol.startswith("icudt") and len(package.items) > 1000
    image = QT_ICU.read_bytes()
    rebuilt = icu_trim.build(package)
    assert rebuilt in image, "parse() and build() must agree with ICU's own layout"


@needs_qt_icu
@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="needs a C compiler")
def test_qt_runs_on_the_trimmed_library(tmp_path: Path) -> None:
    assert QT_ICU is not None
    trimmed = tmp_path / QT_ICU.name
    before, after = icu_trim.trim_library(QT_ICU, trimmed)
    assert after < before / 4, (before, after)
    probe = (
        "from PySide6.QtCore import QCollator, QDateTime, QLocale, QStringDecoder, QTimeZone\n"
        "print(QCollator(QLocale('sv_SE')).compare('ö', 'z'))\n"
        "print(QCollator(QLocale('de_DE')).compare('ö', 'z'))\n"
        "print(QLocale('tr_TR').toUpper('i'))\n"
        "print(QStringDecoder('Shift_JIS').isValid())\n"
        "zone = QTimeZone(b'Europe/Paris')\n"
        "print(zone.isValid(), zone.offsetFromUtc(QDateTime.fromSecsSinceEpoch(0)))\n"
        "print(any('" + str(trimmed) + "' in line for line in open('/proc/self/maps')))\n"
    )
    # LD_LIBRARY_PATH comes before Qt's RUNPATH ($ORIGIN), so this Qt loads the trimmed copy
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    swedish, german, turkish, shift_jis, zone, loaded = result.stdout.splitlines()
    assert loaded == "True", "the trimmed library was not the one loaded"
    assert (swedish, german) == ("1", "-1"), "collation tailorings lost: Swedish sorts ö after z, German before"
    assert turkish == "İ"
    assert shift_jis == "False", "converters are dropped: a legacy decoder is invalid, not a crash"
    assert zone == "True 3600", "time zones come from the system's tz database, not ICU"
