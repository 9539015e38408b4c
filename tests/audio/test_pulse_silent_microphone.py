"""A microphone muted in the system mixer records zeros: voicedesk says so, and says when it hears again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from audio_testkit import VirtualPulse, reinit_portaudio, to_pcm16, tone, wait_until, write_wav

from voicedesk.audio.base import AudioProblem, Pcm16
from voicedesk.audio.capture import DeviceSource


async def test_a_muted_microphone_is_reported_and_its_return_too(pulse: VirtualPulse, tmp_path: Path) -> None:
    pulse.add_sink("mic2src")
    pulse.add_remap_source("mic2", "mic2src.monitor")
    reinit_portaudio()
    # the room the microphone hears: a quiet hum for longer than the test
    room = tmp_path / "room.wav"
    write_wav(room, to_pcm16(tone(220.0, 30.0, rate=48000, amplitude=0.05)), 48000)
    player = pulse.play_file("mic2src", room)
    problems: list[AudioProblem] = []
    source = DeviceSource("vd_mic2", on_problem=problems.append)
    blocks: list[Pcm16] = []
    await source.start(blocks.append)
    try:
        assert await wait_until(lambda: len(blocks) > 50, 5), "the microphone delivers nothing"
        await asyncio.sleep(1.0)
        assert not problems, "a microphone that hears its room is not silent"

        pulse.pactl("set-source-mute", "mic2", "1")
        assert await wait_until(lambda: len(problems) >= 1, 8), "a muted microphone went unnoticed"
        silent = problems[0]
        assert "records only silence" in silent.message and "muted" in silent.message, silent
        assert silent.kind == "silence" and silent.device == "vd_mic2" and not silent.cleared
        assert not silent.recovered, "nothing voicedesk can do about it: the person has to act"

        pulse.pactl("set-source-mute", "mic2", "0")
        assert await wait_until(lambda: len(problems) >= 2, 5), "its return went unnoticed"
        back = problems[1]
        assert back.kind == "silence" and back.cleared and back.device == "vd_mic2"
        assert "hears sound again" in back.message
        await asyncio.sleep(1.0)
        assert len(problems) == 2, f"reported once per episode, not per block: {problems}"
    finally:
        await source.stop()
        player.kill()
        pulse.unload("mic2")
        pulse.unload("mic2src")
