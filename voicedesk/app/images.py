"""Images made fit for the model: long side at most 2048 px, under 2 MB, PNG or JPEG.

One policy (``prepare``) over any decoder that can scale and encode (a ``Raster``): Pillow here, for
``voicedesk ask --image`` and anything else without Qt; the window gives it Qt's images (voicedesk.ui), which
capture and scale a screen faster. The policy: scale down (never up) to the long side; PNG for small
images and for those with transparency, as long as the PNG stays small; else JPEG, lowering the quality in
steps, then the size, until it fits. Re-encoding also drops the file's metadata (a photo's GPS position).
Without Pillow (the bundles leave it out), a PNG or JPEG that already fits goes as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from voicedesk.image_formats import JPEG, PNG, probe, sniff_kind
from voicedesk.session.items import ImagePart

if TYPE_CHECKING:
    from PIL import Image as PILImage

MAX_SIDE = 2048
MAX_BYTES = 2_000_000
"""Encoded bytes at most (2.7 MB as base64 in the event): "under a few MB", with room to spare."""
SMALL_PIXELS = 1024 * 1024
"""Up to this many pixels PNG is tried first (sharp text, no JPEG ringing) ..."""
PNG_BUDGET = 1_000_000
"""... and kept when it stays under this many bytes (a photo would not: it becomes JPEG)."""
JPEG_QUALITIES = (85, 75, 60, 45)
SHRINK_STEP = 0.75
MAX_FILE_BYTES = 100_000_000
"""Files larger than this are refused before they are read (no image a person shares is that big)."""

Encoding = Literal["png", "jpeg"]


class ImageError(ValueError):
    """An image that cannot be used, said in one line (not an image, unreadable, too large)."""


class Raster(Protocol):
    """A decoded image a front end can scale and encode (Pillow's here, Qt's in the window)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def has_alpha(self) -> bool: ...
    def scaled(self, width: int, height: int) -> Raster: ...
    def encode(self, encoding: Encoding, quality: int) -> bytes:
        """PNG, or JPEG at ``quality`` (transparent pixels over white)."""
        ...


def fitted_size(width: int, height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The size with the long side at most ``max_side`` (aspect kept, never enlarged, at least 1 px)."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _attempts(raster: Raster) -> Iterator[tuple[Encoding, int]]:
    pixels = raster.width * raster.height
    if raster.has_alpha or pixels <= SMALL_PIXELS:
        yield "png", 0
    for quality in JPEG_QUALITIES:
        yield "jpeg", quality


def prepare(raster: Raster, *, source: str = "", max_side: int = MAX_SIDE, max_bytes: int = MAX_BYTES) -> ImagePart:
    """``raster`` scaled and encoded to fit the model's limits (see the module's docstring)."""
    width, height = fitted_size(raster.width, raster.height, max_side)
    current = raster if (width, height) == (raster.width, raster.height) else raster.scaled(width, height)
    while True:
        for encoding, quality in _attempts(current):
            data = current.encode(encoding, quality)
            budget = max_bytes if current.has_alpha else min(max_bytes, PNG_BUDGET)
            if len(data) <= (budget if encoding == "png" else max_bytes):
                mime = PNG if encoding == "png" else JPEG
                return ImagePart.of(mime, current.width, current.height, data, source)
        if current.width <= 16 and current.height <= 16:
            raise ImageError(f"{source or 'the image'} cannot be made small enough to send")
        width, height = max(1, int(current.width * SHRINK_STEP)), max(1, int(current.height * SHRINK_STEP))
        current = current.scaled(width, height)


# --------------------------------------------------------------------------- Pillow


@dataclass(frozen=True, slots=True)
class PillowRaster:
    image: PILImage.Image

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def has_alpha(self) -> bool:
        if self.image.mode not in ("RGBA", "LA"):
            return False
        extrema = self.image.getchannel("A").getextrema()
        return isinstance(extrema, tuple) and isinstance(extrema[0], int | float) and extrema[0] < 255

    def scaled(self, width: int, height: int) -> PillowRaster:
        from PIL import Image

        # reducing_gap: a box pre-shrink before the filter, much faster and as sharp for large reductions
        return PillowRaster(self.image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0))

    def encode(self, encoding: Encoding, quality: int) -> bytes:
        from PIL import Image

        out = io.BytesIO()
        if encoding == "png":
            self.image.save(out, "PNG", compress_level=6)
            return out.getvalue()
        image = self.image
        if image.mode in ("RGBA", "LA"):
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
        return out.getvalue()


def pillow_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def pillow_raster(data: bytes, name: str) -> PillowRaster:
    """Decode with Pillow (first frame of an animation; turned upright as the camera's EXIF says)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    image: PILImage.Image
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(_not_an_image(name, data, str(exc))) from None
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return PillowRaster(image)


def _not_an_image(name: str, data: bytes, detail: str = "") -> str:
    kind = sniff_kind(data)
    if kind is not None:
        return f"{name}: a {kind} image this build cannot read ({detail or 'no decoder'})"
    return f"{name} is not an image (PNG, JPEG, GIF, WEBP, BMP …)"


def prepare_bytes(data: bytes, name: str) -> ImagePart:
    """An image file's bytes made fit to send (ImageError in one line when they cannot be)."""
    if pillow_available():
        return prepare(pillow_raster(data, name), source=name)
    info = probe(data)
    if info is None:
        raise ImageError(_not_an_image(name, data, "this build has no image library: PNG and JPEG only"))
    if max(info.width, info.height) > MAX_SIDE or len(data) > MAX_BYTES:
        raise ImageError(
            f"{name} is {info.width}×{info.height}, {len(data)} bytes: scaling it needs Pillow, which this build "
            f"leaves out (`pip install pillow`), or make it at most {MAX_SIDE} px and 2 MB yourself"
        )
    return ImagePart.of(info.mime, info.width, info.height, data, name)


def load_image_file(path: Path) -> ImagePart:
    """An image file ready to send; ImageError (one line) for a missing, unreadable or non-image file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{path} is {size // 1_000_000} MB: too large to be an image to share")
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image") from None
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise ImageError(f"{path} is empty, not an image")
    return prepare_bytes(data, path.name)
