"""Echo control and device handling on the virtual devices (speaker routed back into the mic)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from audio_testkit import (
    VirtualPulse,
    active_span,
    db,
    envelope,
    reinit_portaudio,
    speechlike,
    to_pcm16,
    tone,
    wait_until,
    write_wav,
)

from voicedesk.audio.base import AudioProblem, Pcm16
from voicedesk.audio.devices import find_device, format_device_list, list_devices
from voicedesk.audio.echo import EchoMode
from voicedesk.audio.engine import AudioEngine

pytestmark = pytest.mark.pulse


async def _echo_run(
    pulse: VirtualPulse, mode: EchoMode, seconds: float, *, adaptive: bool = False
) -> tuple[np.ndarray, np.ndarray, str]:
    """The microphone before and after echo control, and the engine's counters (for failure messages)."""
    pulse.loopback("echo", "spk.monitor", "micsrc", 40, 60, adaptive=adaptive)
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
        e, sink, source = engine.echo, engine.sink, engine.source
        counters = (
            f"output underruns {sink.underruns}, input overflows {source.overflows}, "
            f"timeline gaps {e.timeline.gaps}, clamps {e.clamps}, relocations {e.relocations}, "
            f"path changes {e.path_changes}"
        )
    finally:
        pulse.unload("echo")
    return np.concatenate(raw), np.concatenate(out), counters


def _reduction(raw: np.ndarray, out: np.ndarray, skip_s: float) -> float:
    r = raw.astype(np.float32) / 32768.0
    lo, hi = active_span(r, 24000, 0.003)
    assert hi - lo > 24000, "the echo did not reach the microphone"
    sl = slice(lo + int(skip_s * 24000), hi)
    return db(raw[sl]) - db(out[sl])


def _reduction_per_second(raw: np.ndarray, out: np.ndarray, skip_s: float) -> list[float]:
    r = raw.astype(np.float32) / 32768.0
    lo, hi = active_span(r, 24000, 0.003)
    assert hi - lo > 24000, "the echo did not reach the microphone"
    starts = range(lo + int(skip_s * 24000), min(hi, out.size) - 24000 + 1, 24000)
    return [db(raw[i : i + 24000]) - db(out[i : i + 24000]) for i in starts]


async def test_echo_off_passes_it_and_half_duplex_gates_it(pulse: VirtualPulse) -> None:
    raw, out, _ = await _echo_run(pulse, "off", 4.0)
    assert abs(_reduction(raw, out, 0.5)) < 0.5
    raw, out, _ = await _echo_run(pulse, "half-duplex", 4.0)
    assert _reduction(raw, out, 0.0) > 60


@pytest.mark.parametrize("adaptive", [False, True], ids=["same-clock", "drifting"])
async def test_aec_cancels_the_echo_by_25_db(pulse: VirtualPulse, adaptive: bool) -> None:
    # "drifting": module-loopback steering its resampler, so the echo slides by ~2 samples a second
    # (~90 ppm), as between a USB microphone and the laptop's speakers.
    raw, out, counters = await _echo_run(pulse, "aec", 15.0, adaptive=adaptive)
    per_second = [round(x, 1) for x in _reduction_per_second(raw, out, 5.0)]
    reduction = _reduction(raw, out, 5.0)
    assert reduction >= 25, f"{reduction:.1f} dB, per second {per_second}; {counters}"


def test_device_list_and_choice_by_name(pulse: VirtualPulse) -> None:
    names = [d.name for d in list_devices()]
    assert "vd_spk" in names and "vd_mic" in names
    assert find_device("VD_SPK", "output").name == "vd_spk"  # case-insensitive
    assert find_device("mic2", "input").name == "vd_mic2"  # substring
    assert find_device(None, "output").is_default_output
    text = format_device_list()
    assert "Input devices:" in text and "vd_mic" in text and "ALSA" in text


async def test_switch_output_keeps_queued_audio_and_counters_continuous(pulse: VirtualPulse) -> None:
    # vd_spk and "default" both end in the sink spk: its monitor hears the tone before and after.
    engine = AudioEngine(output_device="vd_spk", echo="off")
    rec = pulse.record("spk.monitor", 48000)
    rec.wait_started()
    await engine.sink.start()
    seen: list[int] = []
    try:
        engine.sink.write(to_pcm16(tone(500.0, 1.0)))
        for _ in range(20):
            seen.append(engine.sink.played_samples)
            await asyncio.sleep(0.02)
        before = engine.sink.played_samples
        await engine.switch_output("default")
        assert engine.sink.current is not None and engine.sink.current.name == "default"
        assert engine.sink.played_samples >= before
        assert engine.sink.played_samples + engine.sink.buffered_samples == pytest.approx(24000, abs=48)
        while engine.sink.buffered_samples:
            seen.append(engine.sink.played_samples)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    finally:
        x = rec.stop()
        await engine.sink.stop()
    assert seen == sorted(seen)
    assert engine.sink.played_samples == pytest.approx(24000, abs=48)
    # Nothing queued on the old device was lost: a full second of tone came out, around the gap.
    audible_s = float(np.sum(envelope(x, 48000) > 0.05)) * 0.005
    assert audible_s == pytest.approx(1.0, abs=0.03)


async def test_unplugged_devices_fall_back_to_default(pulse: VirtualPulse, tmp_path: Path) -> None:
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
        assert not problems
        engine.sink.write(to_pcm16(tone(300.0, 8.0)))
        await asyncio.sleep(0.3)
        pulse.unload("mic2")
        pulse.unload("spk2")

        # PulseAudio moves streams whose device vanished to the default device rather than failing
        # them: the engine must still notice, say so, and reopen on the default.
        # (the virtual microphones record zeros until the tone plays: silence reports are not what is tested)
        def failed() -> list[AudioProblem]:
            return [p for p in problems if p.cause == "device"]

        assert await wait_until(lambda: {"vd_mic2", "vd_spk2"} <= {p.device for p in failed()}, 10), problems
        assert all(p.recovered for p in failed())
        # (each stream reports first, then reopens on the default: wait for both to be there)
        assert await wait_until(
            lambda: engine.source.current is not None and engine.source.current.name == "default", 5
        )
        assert await wait_until(lambda: engine.sink.current is not None and engine.sink.current.name == "default", 5)
        # The conversation goes on: the default microphone is heard, the speaker keeps playing.
        count, played = len(blocks), engine.sink.played_samples
        wav = tmp_path / "tone.wav"
        write_wav(wav, to_pcm16(tone(1000.0, 0.5, rate=48000, amplitude=0.4)), 48000)
        proc = pulse.play_file("micsrc", wav)
        assert await wait_until(lambda: proc.poll() is not None, 5)
        await asyncio.sleep(0.3)
        assert len(blocks) > count + 10, "the source stopped delivering"
        heard = np.concatenate(blocks[count:]).astype(np.float32) / 32768.0
        lo, hi = active_span(heard, 24000)
        assert (hi - lo) / 24000 == pytest.approx(0.5, abs=0.03), "the default microphone is not heard"
        assert engine.sink.played_samples > played, "the sink stopped playing"
    finally:
        await engine.stop()
        pulse.unload("mic2src")
