"""Images for the image tests, made here (Pillow), and the check every path's sent image must pass: the
event validates against the ``openai`` models and its data URL decodes to an image of the expected size."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from tests.contract import validate_client_event
from voicedesk.image_formats import ImageInfo, parse_data_url, probe


def screenshot_like(width: int = 2560, height: int = 1440, seed: int = 1) -> np.ndarray:
    """RGB pixels that compress like a desktop: flat panels, lines of "text", one photo-like area."""
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 238, np.uint8)
    pixels[: height // 24] = (40, 44, 52)  # a title bar
    for y in range(height // 12, height - 40, 24):
        length = int(rng.integers(width // 8, width * 3 // 4))
        pixels[y : y + 12, 80 : 80 + length] = rng.integers(0, 90, (12, 1, 3))
    top, left = height // 5, width // 2
    pixels[top : top + height // 3, left : left + width // 3] = rng.integers(
        0, 255, (height // 3, width // 3, 3), dtype=np.uint8
    )
    return pixels


def encoded(pixels: np.ndarray, kind: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, kind, **options)
    return out.getvalue()


def image_parts(event: dict[str, Any]) -> list[dict[str, Any]]:
    content = event["item"]["content"]
    return [part for part in content if part.get("type") == "input_image"]


def check_sent_image(event: dict[str, Any], width: int, height: int, mime: str | None = None) -> ImageInfo:
    """The whole event as it went on the wire: valid for the openai models, one image of ``width``×``height``."""
    assert event["type"] == "conversation.item.create"
    validate_client_event(event, "ga")
    parts = image_parts(event)
    assert len(parts) == 1, parts
    url = parts[0]["image_url"]
    decoded = parse_data_url(url)
    info = probe(decoded.data)
    assert info is not None, "the data URL holds no PNG or JPEG"
    assert decoded.mime == info.mime, "the data URL's type is the bytes' type"
    assert (info.width, info.height) == (width, height)
    if mime is not None:
        assert info.mime == mime
    decoded_image = Image.open(io.BytesIO(decoded.data))
    assert decoded_image.size == (width, height), "it decodes (not just its header) to that size"
    return info
