"""A stand-in for the XDG desktop portal's GlobalShortcuts on a private D-Bus session bus, for the portal
backend's test (no Wayland desktop runs here). It answers as the portal documents: CreateSession and
BindShortcuts through a Response signal on the request object named by the caller's handle_token, then
Activated/Deactivated when told on stdin ("press" / "release"). ``--refuse`` answers BindShortcuts with
response 1 (the person cancelled the desktop's dialog); ``--old`` has no GlobalShortcuts interface.

    python tests/desktop/fake_portal.py BUS_ADDRESS [--refuse | --old]

Prints "ready" once it owns org.freedesktop.portal.Desktop, then one JSON line per call it answered.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

PATH = "/org/freedesktop/portal/desktop"
INTERFACE = "org.freedesktop.portal.GlobalShortcuts"


def say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bus")
    parser.add_argument("--refuse", action="store_true")
    parser.add_argument("--old", action="store_true")
    args = parser.parse_args()
    connection = open_dbus_connection(bus=args.bus)
    connection.send_and_get_reply(message_bus.RequestName("org.freedesktop.portal.Desktop"))
    say(ready=True)
    session = ""

    def respond(message: Any, code: int, results: dict[str, Any]) -> None:
        sender = str(message.header.fields[HeaderFields.sender]).lstrip(":").replace(".", "_")
        token = message.body[-1]["handle_token"][1]
        request = f"{PATH}/request/{sender}/{token}"
        connection.send(new_method_return(message, "o", (request,)))
        emitter = DBusAddress(request, interface="org.freedesktop.portal.Request")
        connection.send(new_signal(emitter, "Response", "ua{sv}", (code, results)))

    while True:
        readable, _, _ = select.select([connection.sock, sys.stdin], [], [])
        if sys.stdin in readable:
            chunk = os.read(sys.stdin.fileno(), 4096).decode()  # unbuffered: several lines may come at once
            if not chunk:
                return
            for line in chunk.split():
                member = "Activated" if line == "press" else "Deactivated"
                emitter = DBusAddress(PATH, interface=INTERFACE)
                connection.send(new_signal(emitter, member, "osta{sv}", (session, "push-to-talk", 0, {})))
            continue
        message = connection.receive()
        if message.header.message_type != MessageType.method_call:
            continue
        member = message.header.fields.get(HeaderFields.member)
        interface = message.header.fields.get(HeaderFields.interface)
        say(call=member, body=repr(message.body))
        if member == "Get" and interface == "org.freedesktop.DBus.Properties":
            if args.old or message.body[0] != INTERFACE:
                connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownInterface"))
            else:
                connection.send(new_method_return(message, "v", (("u", 1),)))
        elif member == "CreateSession":
            session = f"{PATH}/session/1/{message.body[0]['session_handle_token'][1]}"
            respond(message, 0, {"session_handle": ("s", session)})
        elif member == "BindShortcuts":
            (shortcut_id, wanted), *_ = message.body[1]
            trigger = f"Press {wanted['preferred_trigger'][1]}"
            bound = [(shortcut_id, {"description": wanted["description"], "trigger_description": ("s", trigger)})]
            respond(message, 1 if args.refuse else 0, {} if args.refuse else {"shortcuts": ("a(sa{sv})", bound)})
        elif member == "Close":
            connection.send(new_method_return(message))


if __name__ == "__main__":
    main()
