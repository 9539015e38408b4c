"""Echo control and device handling on the virtual devices (speaker routed back into the mic)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from audio_testkit import VirtualPulse, active_span, db, reinit_portaudio, speechlike, to_pcm16, tone

from voicedesk.audio.base import AudioProblem, Pcm16
from voicedesk.audio.devices import find_device, format_device_list, list_devices
from voicedesk.audio.echo import EchoMode
from voicedesk.audio.engine import AudioEngine

pytestmark = pytest.mark.pulse


async def _echo_run(pulse: VirtualPulse, mode: EchoMode, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    pulse.loopback("echo", "spk.monitor", "micsrc", 40, 60)
    try:
        engine = AudioEngine(echo=mode)
        raw: list[Pcm16] = []
        out: list[Pcm16] = []
        engine.source.raw_tap = raw.append
        await engine.start(out.append)
        await asyncio.sleep(0.3)
        engine.sink.write(to_pcm16(speechlike(seconds, seed=2) * 0.9))
        await asyncio.sleep(seconds + 0.5)
        await engine.stop()
    finally:
        pulse.unload("echo")
    return np.concatenate(raw), np.concatenate(out)


def _reduction(raw: np.ndarray, out: np.ndarray, skip_s: float) -> float:
    r = raw.astype(np.float32) / 32768
    lo, hi = active_span(r, 24000, 0.003)
    assert hi - lo > 24000, "the echo did not reach the microphone"
    sl = slice(lo + int(skip_s * 24000), hi)
    return db(raw[sl]) - db(out[sl])


async def test_echo_off_passes_it_and_half_duplex_gates_it(pulse: VirtualPulse) -> None:
    raw, out = await _echo_run(pulse, "off", 4.0)
    assert abs(_reduction(raw, out, 0.5)) < 0.5
    raw, out = await _echo_run(pulse, "half-duplex", 4.0)
    assert _reduction(raw, out, 0.0) > 60


async def test_aec_cancels_the_echo_by_25_db(pulse: VirtualPulse) -> None:
    raw, out = await _echo_run(pulse, "aec", 15.0)
    assert _reduction(raw, out, 5.0) >= 25


def test_device_list_and_choice_by_name(pulse: VirtualPulse) -> None:
    names = [d.name for d in list_devices()]
    assert "vd_spk" in names and "vd_mic" in names
    assert find_device("VD_SPK", "output").name == "vd_spk"  # case-insensitive
    assert find_device("mic2", "input").name == "vd_mic2"  # substring
    assert find_device(None, "output").is_default_output
    text = format_device_list()
    assert "Input devices:" in text and "vd_mic" in text and "ALSA" in text


@pytest.mark.xfail(reason="audio queued in the old device's ring (~300 ms) is lost on a switch", strict=False)
async def test_switch_output_keeps_counters_continuous(pulse: VirtualPulse) -> None:
    engine = AudioEngine(output_device="vd_spk", echo="off")
    await engine.sink.start()
    try:
        engine.sink.write(to_pcm16(tone(500.0, 1.0)))
        await asyncio.sleep(0.4)
        before = engine.sink.played_samples
        await engine.switch_output("default")
        assert engine.sink.current is not None and engine.sink.current.name == "default"
        while engine.sink.buffered_samples:  # noqa: ASYNC110 - polling a counter
            await asyncio.sleep(0.02)
        assert engine.sink.played_samples >= before
        assert engine.sink.played_samples == pytest.approx(24000, abs=480)
    finally:
        await engine.sink.stop()


async def test_unplugged_devices_fall_back_to_default(pulse: VirtualPulse) -> None:
    pulse.add_sink("spk2")
    pulse.add_sink("mic2src")
    pulse.add_remap_source("mic2", "mic2src.monitor")
    reinit_portaudio()
    problems: list[AudioProblem] = []
    engine = AudioEngine(input_device="vd_mic2", output_device="vd_spk2", echo="off", on_problem=problems.append)
    blocks: list[Pcm16] = []
    await engine.start(blocks.append)
    try:
        await asyncio.sleep(0.5)
        assert engine.source.current is not None and engine.source.current.name == "vd_mic2"
        assert engine.sink.current is not None and engine.sink.current.name == "vd_spk2"
        engine.sink.write(to_pcm16(tone(300.0, 6.0)))
        await asyncio.sleep(0.3)
        pulse.unload("mic2")
        pulse.unload("spk2")
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while loop.time() < end and not (  # noqa: ASYNC110 - polling the engine's state
            engine.sink.current is not None and engine.sink.current.name != "vd_spk2"
        ):
            await asyncio.sleep(0.05)
        assert "vd_spk2" in {p.device for p in problems}
        assert all(p.recovered for p in problems)
        # PulseAudio may move a capture stream whose source vanished instead of failing it; either
        # way the source must keep delivering.
        count, played = len(blocks), engine.sink.played_samples
        await asyncio.sleep(0.5)
        assert len(blocks) > count + 10, "the source stopped delivering"
        assert engine.sink.played_samples > played, "the sink stopped playing"
    finally:
        await engine.stop()
        pulse.unload("mic2src")
