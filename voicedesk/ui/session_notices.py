"""What the window tells the person about the session in its banners and status bar: how the session was set
up (the local server, no sound), errors with the action that fixes them, device problems and their end,
renewals, interruptions, a session the assistant ended.

Three banners, one per kind, each showing at most one message: the setup notice (which endpoint and why), the
sound notice (no device, a device that failed or went silent, and its recovery) and the session banner
(errors, renewals, what the person asked for). A banner never offers a plain "Settings…": the top bar has the
one way there; a banner's action opens the Settings page that fixes what it says."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtWidgets import QStatusBar

from voicedesk.app import AppRuntime, AuthenticationFailed, ConnectFailed
from voicedesk.session import events as se
from voicedesk.ui.banner import Banner, Level
from voicedesk.ui.status_panel import StatusPanel
from voicedesk.ui.view_model import SessionViewModel


def has_microphone(rt: AppRuntime) -> bool:
    """Whether the person's voice reaches the session: the audio falls back (null source) only without one."""
    return rt.audio is not None and rt.audio.fallback_reason is None


def has_speaker(rt: AppRuntime) -> bool:
    """Whether answers are heard: a fallback without a device engine is the null backend, no speaker either
    (without a microphone alone the engine still plays)."""
    return rt.audio is not None and (rt.audio.engine is not None or rt.audio.fallback_reason is None)


class SessionNotices:
    def __init__(
        self,
        *,
        banner: Banner,
        local_notice: Banner,
        audio_notice: Banner,
        status: StatusPanel,
        status_bar: QStatusBar,
        open_settings: Callable[..., object],  # open_settings(page, focus_key=False)
        reconnect: Callable[[], object],
    ) -> None:
        self.banner = banner
        self.local_notice = local_notice
        self.audio_notice = audio_notice
        self.status = status
        self._status_bar = status_bar
        self._open_settings = open_settings
        self._reconnect = reconnect
        self._device_warning: str | None = None  # the sound notice's device warning, until cleared

    def follow(self, vm: SessionViewModel) -> None:
        vm.error_reported.connect(self.on_error)
        vm.device_problem_reported.connect(self.on_device_problem)
        vm.session_renewed.connect(self.on_renewed)
        vm.audio_interrupted.connect(self.on_interrupted)
        vm.session_ended.connect(self.on_session_ended)

    def show_setup(self, rt: AppRuntime) -> None:
        """What the session was set up with: the local server instead of a model, no sound. One notice per fact,
        and no plain "Settings…" button: the controls row always has one; a notice offers only a specific action."""
        self.status.local = rt.using_local_server
        self.status.model = rt.settings.session.model
        self.status.has_microphone, self.status.has_speaker = has_microphone(rt), has_speaker(rt)
        self.status.clear()
        demo = "It understands simple requests (arithmetic, the time, “talk for 20 seconds”)."
        if rt.config_problem:
            self.local_notice.show_message(
                f"Cannot use the endpoint: {rt.config_problem}. "
                "voicedesk is talking to its embedded local server, an offline demo model, instead.",
                f"Correct the endpoint in Settings. Until then: {demo[0].lower()}{demo[1:]}",
                "warning",
                ("Fix endpoint…", partial(self._open_settings, "connection")),
            )
        elif rt.using_local_server:
            if rt.settings.endpoint == "local":
                # chosen in Settings or with --local: the window cannot tell which, so it names neither
                text = "Using the embedded local server, an offline demo model."
                self.local_notice.show_message(text, f"{demo} For a real model, choose its endpoint in Settings.",
                                               "notice")  # fmt: skip
            else:
                text = "No API key is set: voicedesk is talking to its embedded local server, an offline demo model."
                self.local_notice.show_message(text, demo, "notice", ("Enter API key…", self._enter_key))
        else:
            self.local_notice.hide()
        reason = rt.audio.fallback_reason if rt.audio is not None else None
        if not reason:
            self.audio_notice.hide()
        elif self.status.has_speaker:
            self.audio_notice.show_message(
                f"{reason[0].upper()}{reason[1:]}.",  # "No microphone was found."
                "Type your messages; the answers are spoken and shown as text. Connect a microphone and restart, "
                "or pick one in the audio settings.",
                "warning",
                self._audio_action,
            )
        else:
            self.audio_notice.show_message(
                f"No sound: {reason}.",
                "You can still type; answers appear as text. Connect a device and restart, or pick one in the audio "
                "settings.",
                "warning",
                self._audio_action,
            )

    def on_error(self, event: se.ErrorOccurred) -> None:
        if event.code == "config":
            return  # an endpoint that cannot be used: show_setup says so in the local-server notice, once
        action: tuple[str, Callable[[], object]] | None = None
        if event.code == "auth_failed":
            action = ("Enter API key…", self._enter_key)
        elif event.fatal:
            action = ("Retry" if event.code == "connection_lost" else "Connect", self._reconnect)
        level: Level = "error" if event.fatal or event.code in ("auth_failed", "quota") else "warning"
        self.banner.show_message(event.message, event.hint, level, action)

    def connect_failed(self, exc: ConnectFailed) -> None:
        """The one report of a connection that was never made (the session reports only lost ones)."""
        if isinstance(exc, AuthenticationFailed):
            self.banner.show_message(
                f"The server refused the API key ({exc}).",
                "Check the key in Settings, or remove it to use the local server.",
                "error",
                ("Enter API key…", self._enter_key),
            )
            return
        self.banner.show_message(
            f"Could not connect: {exc}.",
            "Check the network and the endpoint in Settings, then press Retry.",
            "error",
            ("Retry", self._reconnect),
        )

    def on_device_problem(self, event: se.AudioDeviceProblem) -> None:
        """On the sound notice: it replaces what that said (a device problem is news about the same thing)."""
        notice = self.audio_notice
        if event.cleared:
            if notice.isVisible() and notice.message == self._device_warning:
                notice.dismiss()  # the warning it ends gives way to the news; a warning about something else stays
            notice.show_message(event.message, "", "info")
            return
        self._device_warning = event.message
        action: tuple[str, Callable[[], object]] | None = self._audio_action
        if event.cause == "silence":
            hint = "Unmute it or allow voicedesk to use it, or choose another microphone."
        elif event.recovered:
            hint, action = "The conversation goes on.", None
        else:
            hint = "The conversation goes on. Check the device, or choose another one."
        notice.show_message(event.message, hint, "warning", action)

    @property
    def _audio_action(self) -> tuple[str, Callable[[], object]]:
        return ("Audio settings…", partial(self._open_settings, "audio"))

    def _enter_key(self) -> None:
        self._open_settings("connection", focus_key=True)

    def on_renewed(self, event: se.SessionRenewed) -> None:
        self.status.apply_event(event)
        why = {
            "expired": "the service's time limit",
            "timeout": "the session time limit",
            "reconnected": "a dropped connection",
        }
        self.banner.show_message(
            f"The session was renewed after {why.get(event.reason, event.reason)}; "
            f"{event.carried_items} items of the conversation were carried over.",
            "",
            "info",
        )

    def on_interrupted(self, event: se.AudioInterrupted) -> None:
        who = "You interrupted" if event.reason == "user" else "You talked over"
        self._status_bar.showMessage(f"{who} the assistant after {event.audio_end_ms / 1000:.1f} s.", 4000)

    def on_session_ended(self, reason: str) -> None:
        if reason == "tool":
            self.banner.show_message("The assistant ended the conversation.", "Press Connect to start again.", "info")
