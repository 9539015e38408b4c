"""Images made fit for the model (voicedesk.app.images), their headers and data URLs (voicedesk.image_formats),
and how a message with images goes on the wire, into records and into a new session."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.contract import validate_client_event
from tests.images import encoded, screenshot_like
from voicedesk.app import images
from voicedesk.app.exports import conversation_markdown, write_conversation_markdown
from voicedesk.image_formats import DataUrlError, data_url, parse_data_url, probe, sniff_kind
from voicedesk.realtime import events as ev
from voicedesk.realtime.client_events import IMAGE_NOT_SENT
from voicedesk.session.carryover import carry_over
from voicedesk.session.conversation import Conversation
from voicedesk.session.inspector import for_inspection
from voicedesk.session.intents import IntentSender, SendUserMessage
from voicedesk.session.items import ImagePart, Item, item_from_record, with_image_data
from voicedesk.session.wire_audio import AudioCodec


def _part(width: int = 40, height: int = 30, source: str = "test") -> ImagePart:
    data = encoded(np.zeros((height, width, 3), np.uint8))
    return ImagePart.of("image/png", width, height, data, source)


# --------------------------------------------------------------------------- headers and data URLs


def test_probe_reads_png_and_jpeg_sizes_and_alpha() -> None:
    rgb = np.zeros((37, 91, 3), np.uint8)
    png = probe(encoded(rgb))
    assert png is not None and (png.mime, png.width, png.height, png.has_alpha) == ("image/png", 91, 37, False)
    rgba = probe(encoded(np.zeros((5, 6, 4), np.uint8)))
    assert rgba is not None and rgba.has_alpha
    for options in ({}, {"progressive": True}, {"exif": b"Exif\x00\x00" + b"\x00" * 40}):
        jpeg = probe(encoded(rgb, "JPEG", **options))
        assert jpeg is not None and (jpeg.mime, jpeg.width, jpeg.height) == ("image/jpeg", 91, 37), options
    assert probe(b"GIF89a....") is None and sniff_kind(b"GIF89a....") == "GIF"
    assert probe(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10) is None, "a torn header is no image"
    assert probe(b"hello") is None and sniff_kind(b"hello") is None


def test_data_urls_round_trip_and_say_what_was_wrong() -> None:
    data = encoded(np.zeros((2, 3, 3), np.uint8))
    parsed = parse_data_url(data_url("image/png", data))
    assert (parsed.mime, parsed.data) == ("image/png", data)
    for bad, why in (
        ("https://example.com/a.png", "not a base64-encoded data URL"),
        ("data:image/png;base64,", "empty base64-encoded bytes"),
        ("data:image/png;base64,@@@", "invalid base64"),
        ("data:image/png,rawbytes", "not a base64-encoded data URL"),
    ):
        with pytest.raises(DataUrlError, match=why):
            parse_data_url(bad)


# --------------------------------------------------------------------------- the policy, with Pillow


def test_a_large_screenshot_becomes_a_jpeg_with_the_long_side_2048() -> None:
    part = images.prepare_bytes(encoded(screenshot_like()), "shot.png")
    assert (part.mime, part.width, part.height) == ("image/jpeg", 2048, 1152)
    assert part.size <= images.MAX_BYTES and probe(part.data) is not None
    assert part.source == "shot.png"


def test_a_tall_image_keeps_its_aspect_and_a_small_one_is_not_enlarged() -> None:
    tall = images.prepare_bytes(encoded(screenshot_like(900, 4000)), "tall.png")
    assert (tall.width, tall.height) == (461, 2048)
    small = images.prepare_bytes(encoded(screenshot_like(320, 200)), "small.png")
    assert (small.width, small.height, small.mime) == (320, 200, "image/png"), "small and sharp: PNG"


def test_transparency_stays_png_and_a_jpeg_gets_white_behind_it() -> None:
    pixels = np.zeros((60, 80, 4), np.uint8)
    pixels[..., 0] = 255
    pixels[:, :40, 3] = 255  # left half opaque red, right half transparent
    part = images.prepare_bytes(encoded(pixels), "logo.png")
    assert part.mime == "image/png" and probe(part.data) is not None and probe(part.data).has_alpha  # type: ignore[union-attr]
    raster = images.pillow_raster(encoded(pixels), "logo.png")
    jpeg = Image.open(io.BytesIO(raster.encode("jpeg", 90))).convert("RGB")
    pixel = jpeg.getpixel((70, 30))
    assert isinstance(pixel, tuple) and pixel[1] > 230, "transparent pixels over white, not black"


def test_photos_too_big_for_png_go_jpeg_and_quality_steps_down_to_fit() -> None:
    noise = np.random.default_rng(3).integers(0, 255, (1000, 1000, 3), dtype=np.uint8)
    part = images.prepare_bytes(encoded(noise), "noise.png")
    assert part.mime == "image/jpeg", "a photo-like image of 1 MP is over the PNG budget"
    tight = images.prepare(images.pillow_raster(encoded(noise), "n"), max_bytes=150_000)
    assert tight.size <= 150_000 and tight.mime == "image/jpeg"
    assert tight.width < 1000, "past the lowest quality the image shrinks"


def test_the_camera_orientation_is_applied_and_metadata_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x010F] = "SecretCam"
    raw = encoded(np.zeros((30, 80, 3), np.uint8), "JPEG", exif=exif.tobytes())
    part = images.prepare_bytes(raw, "photo.jpg")
    assert (part.width, part.height) == (30, 80), "upright"
    assert b"SecretCam" not in part.data


def test_files_that_are_no_image_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, said in (
        ("notes.txt", "notes.txt is not an image"),
        ("empty.png", "is empty, not an image"),
        ("missing.png", "cannot read"),
        ("", "is a folder"),
    ):
        with pytest.raises(images.ImageError, match=said) as caught:
            images.load_image_file(tmp_path / name)
        assert "\n" not in str(caught.value)


def test_without_pillow_a_fitting_png_or_jpeg_goes_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "pillow_available", lambda: False)
    small = encoded(screenshot_like(640, 400), "JPEG")
    part = images.prepare_bytes(small, "small.jpg")
    assert part.data == small and (part.width, part.height) == (640, 400)
    with pytest.raises(images.ImageError, match="needs Pillow"):
        images.prepare_bytes(encoded(screenshot_like(), "JPEG"), "big.jpg")
    with pytest.raises(images.ImageError, match="GIF image this build cannot read"):
        images.prepare_bytes(b"GIF89a" + b"\x00" * 20, "anim.gif")


# --------------------------------------------------------------------------- on the wire and in records


def test_a_message_with_an_image_validates_in_ga_and_is_a_note_in_beta() -> None:
    image = ev.InputImage("image/png", encoded(np.zeros((4, 4, 3), np.uint8)))
    for spec in (ev.MessageSpec("user", "what is this", images=(image,)), ev.MessageSpec("user", "", images=(image,))):
        ga = ev.ItemCreate(spec).to_wire("ga")
        validate_client_event(ga, "ga")
        kinds = [p["type"] for p in ga["item"]["content"]]
        assert kinds == (["input_text", "input_image"] if spec.text else ["input_image"])
        beta = ev.ItemCreate(spec).to_wire("beta")
        validate_client_event(beta, "beta")
        assert IMAGE_NOT_SENT in [p.get("text") for p in beta["item"]["content"]]
    detailed = ev.ItemCreate(ev.MessageSpec("user", "", images=(ev.InputImage("image/png", b"x", "low"),)))
    validate_client_event(detailed.to_wire("ga"), "ga")


def test_intents_send_one_message_under_our_id_and_logs_keep_no_base64() -> None:
    sent: list[ev.ClientEvent] = []

    def send(event: ev.ClientEvent) -> str:
        sent.append(event)
        return "id"

    wire = IntentSender(send, AudioCodec("pcm16", "pcm16"))
    part = _part()
    wire.send(SendUserMessage("look", (part,), "item_vdimg0123456789abcdef"))
    event = sent[0].to_wire("ga")
    assert event["item"]["id"] == "item_vdimg0123456789abcdef"
    assert parse_data_url(event["item"]["content"][1]["image_url"]).data == part.data
    logged, size = for_inspection(event)
    assert "bytes of image>" in logged["item"]["content"][1]["image_url"] and size < 1000
    assert event["item"]["content"][1]["image_url"].startswith("data:image/png;base64,iVBOR"), "the original kept"


def test_records_name_images_without_their_bytes_and_come_back() -> None:
    part = _part(source="screen")
    item = Item("item_vdimg1", "message", "user", "completed", text="see", images=(part,))
    record = item.to_record()
    assert record["images"] == [
        {"mime": "image/png", "width": 40, "height": 30, "bytes": part.size, "sha256": part.sha256, "source": "screen"}
    ]
    back = item_from_record(record)
    assert back is not None and back.images[0] == part and back.images[0].data == b""
    filled = with_image_data(back, {part.sha256: part.data}.get)
    assert filled.images[0].data == part.data


def test_the_conversation_keeps_our_images_when_the_server_adds_the_item() -> None:
    conversation = Conversation()
    finished: list[Item] = []
    conversation.on_finished(finished.append)
    part = _part()
    conversation.expect_images("item_vdimgA", (part,))
    echo = {"id": "item_vdimgA", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_image"}]}  # fmt: skip
    added = conversation.add(echo)
    assert added is not None and added.images == (part,)
    assert finished and finished[0].images[0].data == part.data, "an image-only message is finished at once"


def test_a_new_session_gets_the_images_again_or_what_they_were() -> None:
    part = _part()
    kept = Item("item_vdimgA", "message", "user", "completed", text="and this?", images=(part,))
    lost = Item("item_vdimgB", "message", "user", "completed", images=(ImagePart.from_record(part.to_record()),))  # type: ignore[arg-type]
    specs, _ = carry_over([kept, lost])
    first, second = (spec.to_wire("ga") for spec in specs)
    assert [p["type"] for p in first["content"]] == ["input_text", "input_image"]
    assert second["content"] == [{"type": "input_text", "text": f"[an image shared earlier: {part.describe()}]"}]


def test_markdown_shows_images_embedded_or_as_files_beside(tmp_path: Path) -> None:
    part = _part(source="screen")
    items = [Item("item_vdimg1", "message", "user", "completed", text="look", images=(part,))]
    markdown = conversation_markdown(items)
    assert f"![image: {part.describe()} (screen)](data:image/png;base64," in markdown
    written = write_conversation_markdown(tmp_path / "talk.md", items)
    image_file = written[1]
    assert image_file.parent.name == "talk-images" and image_file.read_bytes() == part.data
    assert f"](talk-images/{image_file.name})" in written[0].read_text()
    assert oct(image_file.stat().st_mode & 0o777) == "0o600"
    without = conversation_markdown([item_from_record(items[0].to_record())])  # type: ignore[list-item]
    assert "not kept" in without


def test_the_history_keeps_images_once_and_deletes_them_with_the_conversation(tmp_path: Path) -> None:
    from voicedesk.history import HistoryStore

    part = _part()
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        first, second = store.begin(), store.begin()
        for conversation in (first, first, second):  # the same image twice in one conversation: stored once
            store.add_image(conversation, part.sha256, part.mime, part.data)
        store.add_item(first, Item("item_vdimg1", "message", "user", "completed", images=(part,)).to_record())
        assert store.images(first) == {part.sha256: part.data}
        store.delete(first)
        assert store.images(second) == {part.sha256: part.data}, "another conversation's copy stays"
        assert store._db.execute("SELECT count(*) FROM images").fetchone()[0] == 1


def test_an_older_history_gains_the_images_table(tmp_path: Path) -> None:
    import sqlite3

    from voicedesk.history import HistoryStore
    from voicedesk.history.schema import VERSION

    path = tmp_path / "old.sqlite3"
    with HistoryStore(path) as store:
        kept = store.begin()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE images")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    with HistoryStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == VERSION == 4
        assert store.images(kept) == {}
