"""What an image's first bytes say (PNG or JPEG, width, height) and the data URLs ``input_image`` carries.

Header parsing only, no decoding: cheap enough for the receive path of the local server and for checking
a file before anything is sent. No imports from voicedesk: the wire, the local server and the app use it.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass

PNG, JPEG = "image/png", "image/jpeg"
SUPPORTED_MIMES = (PNG, JPEG)
"""What the Realtime API takes as ``input_image`` (the SDK's models: "Supported formats are PNG and JPEG")."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)", re.S)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    mime: str
    width: int
    height: int
    has_alpha: bool = False

    @property
    def kind(self) -> str:
        """``PNG`` or ``JPEG``, as people name them."""
        return self.mime.rsplit("/", 1)[-1].upper()


def probe(data: bytes) -> ImageInfo | None:
    """PNG or JPEG with its size, from the header; None for anything else (or a broken header)."""
    if data.startswith(_PNG_SIGNATURE):
        return _probe_png(data)
    if data.startswith(b"\xff\xd8"):
        return _probe_jpeg(data)
    return None


def sniff_kind(data: bytes) -> str | None:
    """A few other formats by their magic bytes, to name them in a message (GIF, WEBP, BMP, ...)."""
    for magic, name in ((b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF")):
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:12] in (b"ftypavif", b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "AVIF/HEIC"
    return None


def _probe_png(data: bytes) -> ImageInfo | None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, _depth, color_type = struct.unpack(">IIBB", data[16:26])
    if width == 0 or height == 0:
        return None
    # Colour types 4 and 6 carry alpha; a tRNS chunk (palette or key colour) makes pixels transparent too.
    alpha = color_type in (4, 6) or b"tRNS" in data[33 : data.find(b"IDAT") if b"IDAT" in data else 33]
    return ImageInfo(PNG, width, height, alpha)


def _probe_jpeg(data: bytes) -> ImageInfo | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return ImageInfo(JPEG, width, height) if width and height else None
        if marker in (0xD9, 0xDA) or length < 2:  # end, or the scan before any frame header
            return None
        at += 2 + length
    return None


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class DataUrl:
    mime: str
    data: bytes


class DataUrlError(ValueError):
    """Not a base64 data URL (the message says what it was instead, as the service's error does)."""


def parse_data_url(url: str) -> DataUrl:
    """``data:<mime>;base64,<bytes>`` decoded; DataUrlError says what was wrong."""
    match = _DATA_URL.fullmatch(url.strip())
    if match is None:
        raise DataUrlError("a value that is not a base64-encoded data URL")
    payload = match["data"]
    if not payload:
        raise DataUrlError("empty base64-encoded bytes")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DataUrlError("invalid base64-encoded bytes") from None
    if not data:
        raise DataUrlError("empty base64-encoded bytes")
    return DataUrl((match["mime"] or "").lower(), data)


def describe_size(size: int) -> str:
    """1.2 MB, 412 KB, 930 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1000:
        return f"{round(size / 1000)} KB"
    return f"{size} bytes"
