"""Images end to end, over real loopback websockets: ``voicedesk ask --image`` as a person runs it, the
controller's image messages, the local server's acknowledgement and errors, the history keeping them.

The evidence asked for: every image path sends an ``input_image`` that validates against the ``openai``
models, and its data URL decodes to an image of the expected size (checked on what the server received)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.images import check_sent_image, encoded, image_parts, screenshot_like
from tests.integration.conftest import HarnessFactory
from tests.integration.test_ask_cli import records, run_ask
from tests.integration.test_history_cli import history
from tests.integration.test_local_server import local_server, peer, user_text
from voicedesk.app.images import prepare_bytes
from voicedesk.history import HistoryStore
from voicedesk.image_formats import data_url
from voicedesk.local.server import LocalRealtimeServer
from voicedesk.session import events as se
from voicedesk.session.items import ImagesNotSupported


def _files(tmp_path: Path) -> tuple[Path, Path]:
    big = tmp_path / "screen.png"
    big.write_bytes(encoded(screenshot_like()))
    small = tmp_path / "logo.png"
    pixels = np.zeros((200, 300, 4), np.uint8)
    pixels[:100, :, 0] = pixels[:100, :, 3] = 255
    small.write_bytes(encoded(pixels))
    return big, small


async def test_ask_image_goes_with_the_next_turn_and_alone_at_the_end(tmp_path: Path) -> None:
    big, small = _files(tmp_path)
    out = tmp_path / "out"
    async with LocalRealtimeServer() as server:
        code, stdout, stderr = await run_ask(
            "--image", str(big), "--text", "what is on my screen", "--image", str(small),
            "--out-dir", str(out), "--fast", "--url", server.url,
        )  # fmt: skip
        created = server.sessions[0].received("conversation.item.create")
    assert code == 0, stderr
    assert len(created) == 2
    check_sent_image(created[0], 2048, 1152, "image/jpeg")
    assert created[0]["item"]["content"][0] == {"type": "input_text", "text": "what is on my screen"}
    check_sent_image(created[1], 300, 200, "image/png")  # transparent: PNG
    assert "assistant: I see a 2048×1152 JPEG image" in stdout and "You said: what is on my screen" in stdout
    assert "assistant: I see a 300×200 PNG image" in stdout
    conversation = records(out / "conversation.jsonl")
    images = [r["images"][0] for r in conversation if r.get("images")]
    assert [(i["width"], i["height"], i["source"]) for i in images] == [
        (2048, 1152, "screen.png"),
        (300, 200, "logo.png"),
    ]
    events = (out / "events.jsonl").read_text()
    assert "bytes of image>" in events and len(events) < 200_000, "no base64 of the images in the log"


async def test_ask_image_before_a_wav_is_answered_with_the_audio_turn(tmp_path: Path) -> None:
    from tests.integration.test_ask_cli import write_wav
    from tests.signals import speech_like

    big, _ = _files(tmp_path)
    wav = write_wav(tmp_path / "q.wav", speech_like(1.0))
    async with LocalRealtimeServer() as server:
        code, stdout, stderr = await run_ask(
            "--image", str(big), str(wav), "--out-dir", str(tmp_path / "o"), "--fast", "--url", server.url,
            "--turn-detection", "none",
        )  # fmt: skip
        session = server.sessions[0]
        created = session.received("conversation.item.create")
        order = [e["type"] for e in session.client_events if e["type"] != "input_audio_buffer.append"]
    assert code == 0, stderr
    check_sent_image(created[0], 2048, 1152)
    assert order.index("conversation.item.create") < order.index("input_audio_buffer.commit")
    assert order.count("response.create") == 1, "one answer, for the image and the speech together"
    assert "assistant: I see a 2048×1152 JPEG image, " in stdout and "I heard" in stdout


async def test_ask_refuses_a_file_that_is_not_an_image_before_anything_starts(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    code, stdout, stderr = await run_ask("--image", str(text), "--text", "hi", "--out-dir", str(tmp_path / "o"))
    assert code == 2 and stdout == ""
    assert stderr == "voicedesk: --image: notes.txt is not an image (PNG, JPEG, GIF, WEBP, BMP …)\n"
    assert not (tmp_path / "o").exists()


async def test_a_beta_endpoint_is_one_line_and_nothing_is_sent(tmp_path: Path) -> None:
    big, _ = _files(tmp_path)
    async with LocalRealtimeServer() as server:
        code, _, stderr = await run_ask(
            "--image", str(big), "--text", "hi", "--out-dir", str(tmp_path / "o"), "--url", server.url,
            "--protocol", "beta",
        )  # fmt: skip
        sent = [e["type"] for s in server.sessions for e in s.client_events]
    assert code == 2 and "beta (preview) Realtime protocol, which takes no images" in stderr
    assert stderr.count("\n") == 1 and "conversation.item.create" not in sent


async def test_the_controller_shares_an_image_alone_then_answers_it_with_the_next_text(
    make_harness: HarnessFactory,
) -> None:
    h = await make_harness()
    shot = prepare_bytes(encoded(screenshot_like()), "screen")
    h.controller.send_text("", [shot])
    added = await h.wait_for(se.HistoryAdded, lambda e: bool(e.item.images))
    assert added.item.images[0].data == shot.data and added.item.role == "user"
    assert "response.create" not in h.sent_types(), "an image alone waits for the question"
    h.controller.send_text("what do you see")
    await h.wait_for(se.AgentEnd)
    answer = [i for i in h.controller.history() if i.role == "assistant"][-1]
    assert answer.display_text.startswith("I see a 2048×1152 JPEG image")
    check_sent_image(h.server.sessions[0].received("conversation.item.create")[0], 2048, 1152)
    journal = h.controller.journal_path
    assert journal is None or "base64" not in journal.read_text()


async def test_a_renewed_session_gets_the_image_again(make_harness: HarnessFactory) -> None:
    h = await make_harness(session_timeout_s=1.0)
    shot = prepare_bytes(encoded(screenshot_like(800, 600)), "screen")
    h.controller.send_text("remember this", [shot])
    assert await h.controller.wait_idle(15)
    await h.wait_for(se.SessionRenewed, within=10)
    h.controller.send_text("and what was it")  # after the replayed items, on the same connection
    assert await h.controller.wait_idle(15)
    replayed = h.server.sessions[1].received("conversation.item.create")
    check_sent_image(replayed[0], 800, 600)
    assert replayed[0]["item"]["id"] == h.server.sessions[0].received("conversation.item.create")[0]["item"]["id"]


async def test_the_local_server_refuses_bad_images_as_the_service_does() -> None:
    png = encoded(np.zeros((4, 4, 3), np.uint8))

    def image_item(url: str) -> dict[str, object]:
        item = user_text("look")
        item["content"] = [{"type": "input_image", "image_url": url}]
        return item

    async with local_server() as server, peer(server) as p:
        await p.expect("session.created")
        for url, code, said in (
            ("https://example.com/cat.png", "invalid_value", "Expected a base64-encoded data URL"),
            ("data:image/png;base64,", "invalid_value", "but got empty base64-encoded bytes"),
            (data_url("image/gif", b"GIF89a" + b"\0" * 20), "invalid_image_format", "['png', 'jpeg']"),
        ):
            await p.send("conversation.item.create", item=image_item(url))
            error = (await p.expect("error"))["error"]
            assert (error["code"], error["param"]) == (code, "item.content[0].image_url") and said in error["message"]
        await p.send("conversation.item.create", item=image_item(data_url("image/png", png)))
        added = await p.expect("conversation.item.added")
        assert image_parts(added) == [{"type": "input_image"}], "the echo does not repeat the bytes"
    async with local_server() as server, peer(server, protocol="beta", headers={"OpenAI-Beta": "realtime=v1"}) as p:
        await p.expect("session.created")
        await p.send("conversation.item.create", item=image_item(data_url("image/png", png)))
        error = (await p.expect("error"))["error"]
        assert error["code"] == "invalid_value" and "input_image" in error["message"]


async def test_beta_controller_refuses_images_in_one_line(make_harness: HarnessFactory) -> None:
    h = await make_harness(beta=True)
    shot = prepare_bytes(encoded(screenshot_like(64, 48)), "x")
    try:
        h.controller.send_text("hi", [shot])
    except ImagesNotSupported as exc:
        assert "takes no images" in str(exc)
    else:
        raise AssertionError("a beta session took an image")
    assert "conversation.item.create" not in h.sent_types()


async def test_the_history_keeps_the_image_and_a_resume_sends_it_again(tmp_path: Path) -> None:
    big, _ = _files(tmp_path)
    code, _, stderr = await run_ask(
        "--image", str(big), "--text", "keep this", "--out-dir", str(tmp_path / "a"), "--fast"
    )
    assert code == 0, stderr
    with HistoryStore(Path(__import__("os").environ["VOICEDESK_DATA_DIR"]) / "history.sqlite3") as store:
        stored = store.conversation("last")
        kept = store.images(stored.summary.id)
    sha = stored.records[0]["images"][0]["sha256"]
    assert list(kept) == [sha] and len(kept[sha]) == stored.records[0]["images"][0]["bytes"]
    assert "base64" not in json.dumps(stored.records)
    code, out, _ = await history("export", "last", "--format", "md")
    assert code == 0 and "![image: 2048×1152 JPEG" in out and "](data:image/jpeg;base64," in out
    async with LocalRealtimeServer() as server:
        code, stdout, stderr = await run_ask(
            "--resume", "last", "--text", "and now?", "--out-dir", str(tmp_path / "b"), "--fast", "--url", server.url
        )
        created = server.sessions[0].received("conversation.item.create")
    assert code == 0, stderr
    check_sent_image(created[0], 2048, 1152)
    assert "I see" not in stdout.splitlines()[-1], "the new turn has no image of its own"
