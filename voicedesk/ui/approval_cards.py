"""Approval cards: "Allow <tool> to run?" under the conversation, with the tool, where it comes from and its
arguments, and Approve / Always allow / Deny. The window's ``Approver``: each question is a card until it is
answered, or withdrawn when its time is up (which counts as Deny). Keyboard: the card takes the focus,
Enter approves, Esc denies, Tab reaches every button."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextDocumentFragment
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from voicedesk.config import AppSettings, load_settings, save_settings
from voicedesk.tools.approval import Answer, ApprovalRequest, Policy, ToolSource
from voicedesk.ui.accessibility import describe

ARGUMENTS_SHOWN_CHARS = 600


def describe_request(request: ApprovalRequest) -> str:
    """The card's text (rich text, everything from the model or a server escaped)."""
    origin = {
        ToolSource.MCP: f"from the MCP server “{request.server or '?'}”",
        ToolSource.FILE: "from your tools folder",
        ToolSource.BUILTIN: "built in",
    }[request.source]
    arguments = json.dumps(dict(request.arguments), ensure_ascii=False, indent=1)
    if len(arguments) > ARGUMENTS_SHOWN_CHARS:
        arguments = arguments[:ARGUMENTS_SHOWN_CHARS] + "…"
    return (
        f"Allow <b>{html.escape(request.tool)}</b> ({html.escape(origin)}) to run?<pre>{html.escape(arguments)}</pre>"
    )


class ApprovalCard(QFrame):
    def __init__(self, request: ApprovalRequest, answered: asyncio.Future[Answer]) -> None:
        super().__init__()
        self.setObjectName("approval_card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.request = request
        self._answered = answered
        text = QLabel(describe_request(request))
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        self.setAccessibleName(f"Approve the tool {request.tool}?")
        self.setAccessibleDescription(QTextDocumentFragment.fromHtml(text.text()).toPlainText())
        self.approve_button = QPushButton("&Approve")
        self.always_button = QPushButton("Always allow this tool")
        self.deny_button = QPushButton("&Deny")
        describe(self.approve_button, f"Approve {request.tool}", "Enter")
        describe(self.always_button, f"Always allow {request.tool}", "Never ask about this tool again")
        describe(self.deny_button, f"Deny {request.tool}", "Esc")
        self.approve_button.setDefault(True)
        self.approve_button.clicked.connect(lambda: self.answer(Answer.APPROVE))
        self.always_button.clicked.connect(lambda: self.answer(Answer.APPROVE_ALWAYS))
        self.deny_button.clicked.connect(lambda: self.answer(Answer.DENY))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, lambda: self.answer(Answer.DENY))
        buttons = QHBoxLayout()
        for button in (self.approve_button, self.always_button, self.deny_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(text)
        column.addLayout(buttons)

    def answer(self, answer: Answer) -> None:
        if not self._answered.done():
            self._answered.set_result(answer)


def remember_policy(settings: Callable[[], AppSettings], persist: bool) -> Callable[[str, Policy], None]:
    """Keeps an "always allow" answer in the settings in use (and saved, when the window saves its settings)."""

    def remember(tool: str, policy: Policy) -> None:
        settings().tool_policies[tool] = policy.value
        if persist:
            saved = load_settings()
            saved.tool_policies[tool] = policy.value
            save_settings(saved)

    return remember


class ApprovalCards(QWidget):
    """The container of open questions; ``ask`` is the window's ``Approver``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("approval_cards")
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self.cards: list[ApprovalCard] = []
        self.hide()

    async def ask(self, request: ApprovalRequest) -> Answer:
        answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        card = ApprovalCard(request, answered)
        self.cards.append(card)
        self._column.addWidget(card)
        self.show()
        card.approve_button.setFocus(Qt.FocusReason.OtherFocusReason)
        try:
            return await answered
        finally:  # answered, or withdrawn (the time is up, the session ended)
            self.cards.remove(card)
            card.setParent(None)
            card.deleteLater()
            self.setVisible(bool(self.cards))
