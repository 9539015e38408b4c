"""Capture through real PortAudio streams: audio played into the virtual microphone reaches on_block."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from audio_testkit import (
    VirtualPulse,
    active_span,
    dominant_frequency,
    espeak,
    read_wav,
    to_pcm16,
    tone,
    write_wav,
    xcorr_peak,
)

from voicedesk.audio.base import AudioSource, Pcm16
from voicedesk.audio.capture import DeviceSource
from voicedesk.audio.resample import resample_block

pytestmark = pytest.mark.pulse


async def _first_blocks(blocks: list[Pcm16], limit_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not blocks:
        if loop.time() > end:
            raise TimeoutError("no block from the source")
        await asyncio.sleep(0.01)


async def _play_and_wait(pulse: VirtualPulse, path: Path) -> None:
    proc = pulse.play_file("micsrc", path)
    while proc.poll() is None:  # noqa: ASYNC110 - a subprocess, not an event
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


async def test_speech_reaches_the_source_as_24k_blocks(pulse: VirtualPulse, tmp_path: Path) -> None:
    wav = espeak("The quick brown fox jumps over the lazy dog near the river bank.", tmp_path / "s.wav")
    if wav is None:
        pytest.skip("espeak-ng is not installed")
    speech, rate = read_wav(wav)
    source = DeviceSource()
    assert isinstance(source, AudioSource)
    blocks: list[Pcm16] = []
    await source.start(blocks.append)
    try:
        await _first_blocks(blocks)  # the stream runs before the person talks
        await _play_and_wait(pulse, wav)
    finally:
        await source.stop()
    assert {b.size for b in blocks} == {480}
    assert all(b.dtype == np.int16 for b in blocks)
    got = np.concatenate(blocks).astype(np.float32) / 32768.0
    want = resample_block(speech.astype(np.float32) / 32768.0, rate, 24000)
    lag, corr = xcorr_peak(got, want)
    assert corr > 0.9, f"correlation {corr:.3f} at lag {lag}; input overflows {source.overflows}"
    assert source.levels().peak > 0 or source.history().max() > 0.05


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (48000, 2)])
async def test_capture_formats(pulse: VirtualPulse, tmp_path: Path, rate: int, channels: int) -> None:
    wav = tmp_path / "tone.wav"
    write_wav(wav, to_pcm16(tone(1000.0, 1.0, rate=48000, amplitude=0.4)), 48000)
    source = DeviceSource(samplerate=rate, channels=channels)
    blocks: list[Pcm16] = []
    await source.start(blocks.append)
    try:
        await _first_blocks(blocks)
        assert (source.rate, source.channels) == (rate, channels)
        await _play_and_wait(pulse, wav)
    finally:
        await source.stop()
    got = np.concatenate(blocks).astype(np.float32) / 32768.0
    lo, hi = active_span(got, 24000)
    assert (hi - lo) / 24000 == pytest.approx(1.0, abs=0.03)
    body = got[lo + 1200 : hi - 1200]
    assert dominant_frequency(body, 24000) == pytest.approx(1000.0, abs=1.0)
    assert np.sqrt(np.mean(body**2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.1)
