"""How one conversation item reads: a turn (who, when, the text; an interrupted answer split into what was
heard and what was not), a tool call as a one-line chip that opens to its arguments and result, a handoff or
guardrail note. Each item is HTML for its own QTextFrame plus that frame's format (background, padding,
indentation), so turns are told apart by more than colour: the heading, the time, and your turns indented.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import Literal

from PySide6.QtGui import QBrush, QColor, QTextDocument, QTextFormat, QTextFrameFormat

from voicedesk.session.conversation import Item
from voicedesk.ui import theme
from voicedesk.ui.thumbnails import thumbnails_html

TurnKind = Literal["user", "assistant", "tool", "note"]
TOOL_SCHEME = "tool"  # a chip's anchor: tool:<call_id>
RESULT_LIMIT = 20_000  # an expanded chip shows this much of a result; the tool log keeps all of it

# Turn backgrounds: tints faint enough that every text colour of theme.LIGHT / theme.DARK (and the palette's
# text) keeps WCAG AA on them, with room for a darker (light) or lighter (dark) muted grey.
TURNS_LIGHT: dict[str, str] = {
    "user": "#f2f6fc",
    "assistant": "#f4f9f5",
    "tool": "#fbf8ef",
    "note": "#ffffff",
    "user_border": "#c9d8ef",
    "assistant_border": "#cfe3d4",
    "tool_border": "#e6dcbc",
}
TURNS_DARK: dict[str, str] = {
    "user": "#161b22",
    "assistant": "#151a17",
    "tool": "#1b1914",
    "note": "#17181a",
    "user_border": "#2f3f58",
    "assistant_border": "#2c4434",
    "tool_border": "#4a4128",
}
BACKGROUNDS: tuple[TurnKind, ...] = ("user", "assistant", "tool", "note")
INDENT = {"user": 48.0, "assistant": 0.0, "tool": 16.0, "note": 0.0}  # your turns stand in from the left


def turn_colors() -> dict[str, str]:
    return TURNS_DARK if theme.dark_in_use() else TURNS_LIGHT


def turn_kind(item: Item) -> TurnKind:
    if item.is_note:
        return "note"
    if item.type == "function_call":
        return "tool"
    return "user" if item.role == "user" else "assistant"


def frame_format(kind: TurnKind) -> QTextFrameFormat:
    """The frame of one turn: a tinted, bordered box; yours indented, a tool chip small and inset."""
    turns = turn_colors()
    fmt = QTextFrameFormat()
    fmt.setBackground(QBrush(QColor(turns[kind])))
    fmt.setLeftMargin(INDENT[kind])
    fmt.setRightMargin(0.0 if kind == "user" else 24.0 if kind == "assistant" else 0.0)
    fmt.setBottomMargin(6.0)
    if kind in ("user", "assistant", "tool"):
        fmt.setBorder(1.0)
        fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        fmt.setBorderBrush(QBrush(QColor(turns[f"{kind}_border"])))
        fmt.setPadding(8.0 if kind != "tool" else 3.0)
    else:
        fmt.setPadding(2.0)
    fmt.setProperty(QTextFormat.Property.UserProperty, kind)  # which kind of turn, for tests and exports
    return fmt


@dataclass(frozen=True, slots=True)
class ToolState:
    """What the view knows about a call beyond its item: its result (None while it runs) and whether it is open."""

    output: str | None = None
    failed: bool = False
    expanded: bool = False


def escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def compact(text: str | None, limit: int = 80) -> str:
    """One line of at most ``limit`` characters ("" for None)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pretty_json(text: str | None) -> str:
    """Arguments or a result as indented JSON where they parse, else as they came ("" for None)."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def stamp(item: Item) -> str:
    return time.strftime("%H:%M:%S", time.localtime(item.created_at)) if item.created_at else ""


def item_html(item: Item, text: str, tool: ToolState, document: QTextDocument) -> str:
    """The HTML of one item's frame; ``text`` is its latest streamed text (or its own)."""
    c = theme.colors()
    muted = f"color:{c['muted']}"
    if item.is_note:
        return _note_html(item, c, muted)
    if item.type == "function_call":
        return tool_chip_html(item, tool, c)
    user = item.role == "user"
    who = "You" if user else "Assistant"
    color = c["user"] if user else c["assistant"]
    kind = ("spoken · " if item.has_audio else "shared · " if item.images else "typed · ") if user else ""
    head = f"<b style='color:{color}'>{who}</b> <span style='{muted}'>{kind}{stamp(item)}</span>"
    if item.truncated_ms is not None:
        heard = item.heard_text if item.display_text else text
        rest = text[len(heard) :].strip() if text.startswith(heard) else ""
        cut = f"<span style='color:{c['cut']}'>✂ interrupted at {item.truncated_ms / 1000:.1f} s</span>"
        unheard = f" <span style='{muted}'><s>{escape(rest)}</s></span>" if rest else ""
        body = f"{escape(heard)} {cut}{unheard}"
    elif text:
        body = escape(text)
    elif user and item.has_audio:
        body = f"<span style='{muted}'>(speech; the transcript follows)</span>"
    elif item.images:
        body = ""
    else:
        body = f"<span style='{muted}'>…</span>"
    if item.cut_off is not None:
        body += f" <span style='color:{c['cut']}'>— {escape(item.cut_off)}</span>"
    if item.images:  # thumbnails first, the text typed with them under
        shown = thumbnails_html(document, item.images, muted)
        body = f"{shown}<br>{body}" if body else shown
    return f"{head}<br>{body}"


def _note_html(item: Item, c: dict[str, str], muted: str) -> str:
    """A handoff ("Concierge → Billing") or a guardrail that cut an answer."""
    color, mark = (c["tool"], "⇄") if item.type == "handoff" else (c["cut"], "⛔")
    extra = str((item.note or {}).get("voice_note") or "")
    aside = f"<br><span style='{muted}'>{escape(extra)}</span>" if extra else ""
    head = f"<span style='color:{color}'>{mark} {escape(item.text)}</span>"
    return f"{head} <span style='{muted}'>{stamp(item)}</span>{aside}"


def tool_chip_html(item: Item, tool: ToolState, c: dict[str, str]) -> str:
    """``▸ ⚙ name · short result`` as one link that opens (▾) to the arguments and the whole result."""
    muted = f"color:{c['muted']}"
    name = html.escape(item.name or "?")
    if tool.output is None:
        result = f"<span style='{muted}'>running…</span>"
    elif tool.failed:
        result = f"<span style='color:{c['cut']}'>failed: {html.escape(compact(tool.output))}</span>"
    else:
        result = f"<span style='color:{c['tool']}'>{html.escape(compact(tool.output))}</span>"
    marker = "▾" if tool.expanded else "▸"
    href = f"{TOOL_SCHEME}:{html.escape(item.call_id or item.id, quote=True)}"
    line = (
        f"<a href='{href}' style='text-decoration:none'><span style='{muted}'>{marker}</span> "
        f"<span style='color:{c['tool']}'>⚙ {name}</span> <span style='{muted}'>·</span> {result}</a>"
    )
    if not tool.expanded:
        return line
    arguments = html.escape(pretty_json(item.arguments or "{}"))
    if tool.output is None:
        output = f"<span style='{muted}'>running…</span>"
    else:
        whole = tool.output if len(tool.output) <= RESULT_LIMIT else tool.output[:RESULT_LIMIT] + "\n…"
        output = html.escape(pretty_json(whole))
    label = f"style='{muted}'"
    return (
        f"{line}<br><span {label}>Arguments</span><pre>{arguments}</pre>"
        f"<span {label}>{'Error' if tool.failed else 'Result'}</span><pre>{output}</pre>"
    )
