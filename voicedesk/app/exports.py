"""Saving what happened: the conversation as Markdown and JSON, both sides' audio as WAV, and a debug
bundle (events log + settings without any secret). The front end only picks the place.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from voicedesk import __version__
from voicedesk.app.recorder import ConversationRecorder
from voicedesk.config import AppSettings
from voicedesk.image_formats import data_url
from voicedesk.private_files import open_private, private_dir, write_private_bytes, write_private_text
from voicedesk.session.conversation import Item
from voicedesk.session.items import ImagePart

ImageLink = Callable[[ImagePart], str | None]
"""Where the Markdown points for an image (None: its bytes are not at hand)."""

_SECRET_WORDS = ("key", "token", "secret", "password", "authorization", "sig")


# ---------------------------------------------------------------------- the conversation


def _speaker(item: Item) -> str:
    return {"user": "You", "assistant": "Assistant", "system": "System"}.get(item.role or "", "Item")


def embedded(image: ImagePart) -> str | None:
    """The image inside the Markdown itself, as a data URL (one file that goes anywhere)."""
    return data_url(image.mime, image.data) if image.data else None


def _image_lines(item: Item, link: ImageLink) -> list[str]:
    lines = []
    for image in item.images:
        target = link(image)
        what = f"image: {image.describe()}" + (f" ({image.source})" if image.source else "")
        lines += [f"![{what}]({target})" if target else f"_[{what}, not kept]_", ""]
    return lines


def conversation_markdown(
    items: Sequence[Item], *, title: str = "voicedesk conversation", image_link: ImageLink = embedded
) -> str:
    """The conversation as Markdown; images as ``image_link`` says (default: embedded as data URLs)."""
    outputs = {item.call_id: item.output for item in items if item.type == "function_call_output"}
    lines = [f"# {title}", "", f"_Exported {time.strftime('%Y-%m-%d %H:%M:%S')}_", ""]
    for item in items:
        stamp = time.strftime("%H:%M:%S", time.localtime(item.created_at)) if item.created_at else ""
        if item.type == "message":
            if item.truncated_ms is not None:
                heard = item.heard_text or "(nothing was heard)"
                lines.append(f"**{_speaker(item)}** {stamp} — interrupted at {item.truncated_ms / 1000:.1f} s")
                lines += ["", heard + " ✂", ""]
            else:
                text = item.display_text or ("(audio, no transcript)" if item.has_audio else "")
                if item.cut_off is not None:
                    text += f" _({item.cut_off})_"
                lines += [f"**{_speaker(item)}** {stamp}", "", *_image_lines(item, image_link)]
                lines += [text, ""] if text else []
        elif item.is_note:  # "Concierge → Billing", "Guardrail: …"
            lines += [f"> {item.text} {stamp}", ""]
        elif item.type == "function_call":
            result = outputs.get(item.call_id)
            call = f"`{item.name}({item.arguments})`"
            lines += [f"> tool {call} → `{result}`" if result is not None else f"> tool {call}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_conversation_markdown(path: Path, items: Sequence[Item]) -> list[Path]:
    """``path`` and, beside it in ``<name>-images/``, the images it shows (linked by relative paths)."""
    folder = path.with_name(path.stem + "-images")
    written: list[Path] = []

    def link(image: ImagePart) -> str | None:
        if not image.data:
            return None
        target = private_dir(folder) / f"{len(written) + 1:02d}-{image.sha256[:8]}.{image.extension}"
        written.append(write_private_bytes(target, image.data))
        return f"{folder.name}/{target.name}"

    markdown = conversation_markdown(items, image_link=link)
    return [write_private_text(path, markdown), *written]


def conversation_json(items: Sequence[Item]) -> str:
    payload = {
        "app": f"voicedesk {__version__}",
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "items": [item.to_record() for item in items],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------- the debug bundle


def scrub_url(url: str) -> str:
    """Drop credentials from a URL: user:password@ and key-like query parameters."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = [(k, "***" if any(w in k.lower() for w in _SECRET_WORDS) else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query), parts.fragment))


def scrub(value: Any) -> Any:
    """A JSON-like value with every key-like field masked and URLs cleaned."""
    if isinstance(value, dict):
        return {
            k: "***" if any(w in str(k).lower() for w in _SECRET_WORDS) and isinstance(v, str) and v else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("ws://", "wss://", "http://", "https://")):
        return scrub_url(value)
    return value


def safe_settings(settings: AppSettings) -> dict[str, Any]:
    data = settings.to_json()
    data.pop("ui", None)
    cleaned: dict[str, Any] = scrub(data)
    return cleaned


@dataclass
class BundleParts:
    settings: AppSettings
    events: Iterable[dict[str, Any]]
    items: Sequence[Item]
    notes: dict[str, Any]
    journal: Path | None = None


def write_debug_bundle(path: Path, parts: BundleParts) -> Path:
    """One zip: events.jsonl, settings.json (no key), conversation.json, environment.json, the journal."""
    private_dir(path.parent)
    environment = {
        "voicedesk": __version__,
        "python": sys.version,
        "platform": platform.platform(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **parts.notes,
    }
    with open_private(path, "wb") as file, zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        events = "".join(json.dumps(scrub(e), ensure_ascii=False) + "\n" for e in parts.events)
        bundle.writestr("events.jsonl", events)
        bundle.writestr("settings.json", json.dumps(safe_settings(parts.settings), indent=2) + "\n")
        bundle.writestr("conversation.json", conversation_json(parts.items))
        bundle.writestr("environment.json", json.dumps(environment, indent=2, default=str) + "\n")
        if parts.journal is not None and parts.journal.exists():
            bundle.write(parts.journal, f"journal/{parts.journal.name}")
    return path


def export_everything(
    directory: Path, items: Sequence[Item], recorder: ConversationRecorder, parts: BundleParts
) -> list[Path]:
    """The one-click export: Markdown, JSON, both WAVs and the debug bundle into ``directory``."""
    private_dir(directory)
    written = []
    js = directory / "conversation.json"
    written += write_conversation_markdown(directory / "conversation.md", items)
    written.append(write_private_text(js, conversation_json(items)))
    written += recorder.copy_to(directory)
    written.append(write_debug_bundle(directory / "debug-bundle.zip", parts))
    return written
