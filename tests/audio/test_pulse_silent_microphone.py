"""A microphone muted in the system mixer records zeros: voicedesk says so, and says when it hears again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from audio_testkit import VirtualPulse, reinit_portaudio, to_pcm16, tone, wait_until, write_wav

from voicedesk.audio.base import AudioProblem, Pcm16
from voicedesk.audio.capture import DeviceSource
from voicedesk.audio.silence import SilenceWatch


async def test_a_muted_microphone_is_reported_and_its_return_too(pulse: VirtualPulse, tmp_path: Path) -> None:
    pulse.add_sink("mic2src")
    pulse.add_remap_source("mic2", "mic2src.monitor")
    reinit_portaudio()
    # the room the microphone hears: a quiet hum for longer than the test
    room = tmp_path / "room.wav"
    write_wav(room, to_pcm16(tone(220.0, 40.0, rate=48000, amplitude=0.05)), 48000)
    player = pulse.play_file("mic2src", room)
    problems: list[AudioProblem] = []
    source = DeviceSource("vd_mic2", on_problem=problems.append)
    # silence after sound is reported after 15 s by default (a pause behind a noise gate is not a mute)
    source.silence = SilenceWatch(after_s=3.0, after_sound_s=2.0)
    blocks: list[Pcm16] = []
    pulse.pactl("set-source-mute", "mic2", "1")  # muted before voicedesk starts, like a refused permission
    await source.start(blocks.append)
    try:
        assert await wait_until(lambda: len(problems) >= 1, 8), "a microphone muted from the start went unnoticed"
        silent = problems[0]
        assert "records only silence" in silent.message and "muted" in silent.message, silent
        assert silent.cause == "silence" and silent.device == "vd_mic2" and not silent.cleared
        assert not silent.recovered, "nothing voicedesk can do about it: the person has to act"
        assert len(blocks) > 100, "the stream itself runs: it is the audio that is silent"

        pulse.pactl("set-source-mute", "mic2", "0")
        assert await wait_until(lambda: len(problems) >= 2, 5), "its return went unnoticed"
        back = problems[1]
        assert back.cause == "silence" and back.cleared and back.device == "vd_mic2"
        assert "hears sound again" in back.message
        await asyncio.sleep(1.0)
        assert len(problems) == 2, f"reported once per episode, not per block: {problems}"

        pulse.pactl("set-source-mute", "mic2", "1")  # muted mid-conversation
        assert await wait_until(lambda: len(problems) >= 3, 6), "a microphone muted later went unnoticed"
        assert problems[2].cause == "silence" and not problems[2].cleared
    finally:
        await source.stop()
        player.kill()
        pulse.unload("mic2")
        pulse.unload("mic2src")
