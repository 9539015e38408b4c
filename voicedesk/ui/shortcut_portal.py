"""The global shortcut on Wayland: the XDG desktop portal's GlobalShortcuts interface over the session
D-Bus (jeepney on the asyncio loop, which qasync runs inside Qt's).

The portal's flow: ``CreateSession`` and ``BindShortcuts`` each answer through a ``Response`` signal on a
request object; then ``Activated`` and ``Deactivated`` report the shortcut's press and release, which is
what hold-to-talk needs. The desktop decides the final keys (it may ask the person, or refuse): voicedesk
proposes its shortcut as the preferred trigger. A desktop without the portal, or whose portal lacks
GlobalShortcuts (GNOME before 48, for instance), gets one line in Settings.

Not exercised against a real portal here (no Wayland desktop on the test machines): the calls follow the
portal's documented interface (org.freedesktop.portal.GlobalShortcuts, version 1) and are tested against a
stand-in portal on a private session bus (tests/desktop/fake_portal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from jeepney import DBusAddress, MatchRule, Properties, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.asyncio import open_dbus_router
from PySide6.QtCore import QObject

from voicedesk.app.shortcut_keys import Shortcut
from voicedesk.ui.shortcut_backend import ShortcutBackend

log = logging.getLogger(__name__)

PORTAL = DBusAddress(
    "/org/freedesktop/portal/desktop",
    bus_name="org.freedesktop.portal.Desktop",
    interface="org.freedesktop.portal.GlobalShortcuts",
)
SHORTCUT_ID = "push-to-talk"
XDG_MODIFIERS = {"Ctrl": "CTRL", "Alt": "ALT", "Shift": "SHIFT", "Meta": "LOGO"}
ANSWER_TIMEOUT_S = 120.0  # the desktop may ask the person first


def preferred_trigger(shortcut: Shortcut) -> str:
    """The XDG shortcuts format: "CTRL+ALT+space"."""
    modifiers = [XDG_MODIFIERS[m] for m in ("Ctrl", "Alt", "Shift", "Meta") if m in shortcut.modifiers]
    return "+".join([*modifiers, shortcut.keysym_name])


class PortalError(Exception):
    pass


class PortalShortcut(ShortcutBackend):
    name = "desktop portal (GlobalShortcuts)"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task: asyncio.Task[None] | None = None

    def start(self, shortcut: Shortcut) -> None:
        self.stop()
        try:
            self._task = asyncio.ensure_future(self._run(shortcut))
        except RuntimeError:
            self.fail("The shortcut cannot start: no event loop runs.")

    def stop(self) -> None:
        super().stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _run(self, shortcut: Shortcut) -> None:
        try:
            async with open_dbus_router(bus="SESSION") as router:
                await self._check_portal(router)
                session = await self._create_session(router)
                try:
                    await self._bind(router, session, shortcut)
                    await self._listen(router, session, shortcut)
                finally:
                    close = new_method_call(
                        DBusAddress(session, bus_name=PORTAL.bus_name, interface="org.freedesktop.portal.Session"),
                        "Close",
                    )
                    with contextlib.suppress(Exception):
                        await router.send(close)
        except asyncio.CancelledError:
            raise
        except PortalError as exc:
            self.fail(str(exc))
        except Exception as exc:  # no session bus, a broken reply: one line, never a crash
            log.info("the GlobalShortcuts portal failed", exc_info=True)
            self.fail(f"The shortcut cannot work: the desktop portal could not be reached ({exc}).")

    async def _check_portal(self, router: Any) -> None:
        reply = await router.send_and_get_reply(Properties(PORTAL).get("version"))
        if reply.header.message_type.name == "error":
            raise PortalError(
                "This desktop offers no global shortcuts to programs (its portal has no GlobalShortcuts): "
                "use Hold to talk or Space in the window, or a desktop shortcut that runs nothing."
            )

    async def _request(self, router: Any, method: str, signature: str, body: tuple[Any, ...]) -> dict[str, Any]:
        """Call a portal method that answers through a Request object's Response signal."""
        token = "voicedesk_" + secrets.token_hex(6)
        sender = router.unique_name.lstrip(":").replace(".", "_")
        path = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
        rule = MatchRule(type="signal", interface="org.freedesktop.portal.Request", member="Response", path=path)
        await router.send_and_get_reply(message_bus.AddMatch(rule))
        options = body[-1]
        options["handle_token"] = ("s", token)
        with router.filter(rule) as answers:
            reply = await router.send_and_get_reply(new_method_call(PORTAL, method, signature, body))
            if reply.header.message_type.name == "error":
                why = reply.body[0] if reply.body else reply.header.fields.get(4, "")  # 4: the error's name
                raise PortalError(f"The desktop refused the shortcut ({method}: {why}).")
            response = await asyncio.wait_for(answers.get(), ANSWER_TIMEOUT_S)
        code, results = response.body
        if code != 0:
            raise PortalError("The desktop did not allow the shortcut (its dialog was cancelled): set it again.")
        return {key: value[1] for key, value in results.items()}

    async def _create_session(self, router: Any) -> str:
        options = {"session_handle_token": ("s", "voicedesk_" + secrets.token_hex(6))}
        results = await self._request(router, "CreateSession", "a{sv}", (options,))
        return str(results["session_handle"])

    async def _bind(self, router: Any, session: str, shortcut: Shortcut) -> None:
        wanted = [
            (
                SHORTCUT_ID,
                {
                    "description": ("s", "Push to talk (hold while speaking)"),
                    "preferred_trigger": ("s", preferred_trigger(shortcut)),
                },
            )
        ]
        results = await self._request(router, "BindShortcuts", "oa(sa{sv})sa{sv}", (session, wanted, "", {}))
        bound = {name: props for name, props in results.get("shortcuts", [])}
        if SHORTCUT_ID not in bound:
            raise PortalError("The desktop did not bind the shortcut: set it in Settings again.")
        trigger = bound[SHORTCUT_ID].get("trigger_description", ("s", shortcut.text))[1] or shortcut.text
        self.activate(shortcut, f"{trigger} works in every application (desktop portal).")

    async def _listen(self, router: Any, session: str, shortcut: Shortcut) -> None:
        rule = MatchRule(type="signal", interface=PORTAL.interface, path=PORTAL.object_path)
        await router.send_and_get_reply(message_bus.AddMatch(rule))
        with router.filter(rule, bufsize=64) as signals:  # a press and its release can come together
            while True:
                message = await signals.get()
                member = message.header.fields.get(3)  # HeaderFields.member
                handle, shortcut_id = message.body[0], message.body[1]
                if handle == session and shortcut_id == SHORTCUT_ID and member in ("Activated", "Deactivated"):
                    self.key(member == "Activated")
