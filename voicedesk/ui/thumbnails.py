"""Shared images as thumbnails in the conversation: each image a resource of the QTextDocument (decoded and
scaled once per document), shown with what it is ("2048×1152 JPEG, 412 KB · screen")."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument

from voicedesk.session.items import ImagePart

THUMBNAIL = QSize(240, 160)
SCHEME = "vdimage"


def thumbnail_url(image: ImagePart) -> QUrl:
    return QUrl(f"{SCHEME}:{image.sha256}")  # no "//": a sha256 is longer than a host name may be


def _thumbnail_size(document: QTextDocument, image: ImagePart) -> QSize | None:
    """Registers the thumbnail with ``document`` if need be; None when the bytes are not at hand."""
    url = thumbnail_url(image)
    shown = document.resource(QTextDocument.ResourceType.ImageResource, url)
    if isinstance(shown, QImage) and not shown.isNull():
        return shown.size()
    if not image.data:
        return None
    decoded = QImage.fromData(image.data)
    if decoded.isNull():
        return None
    small = decoded.scaled(THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    document.addResource(QTextDocument.ResourceType.ImageResource, url, small)
    return small.size()


def thumbnails_html(document: QTextDocument, images: Sequence[ImagePart], muted: str) -> str:
    """The images of one message, each a thumbnail (or a line saying what it was) and its description."""
    parts = []
    for image in images:
        what = html.escape(image.describe() + (f" · {image.source}" if image.source else ""))
        size = _thumbnail_size(document, image)
        if size is None:
            parts.append(f"<span style='{muted}'>🖼 image {what}</span>")
            continue
        src = thumbnail_url(image).toString()
        parts.append(
            f"<img src='{src}' width='{size.width()}' height='{size.height()}'><br><span style='{muted}'>{what}</span>"
        )
    return "<br>".join(parts)
