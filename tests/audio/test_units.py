"""Unit tests of the audio engine's parts that need no device: ring, resampler, echo, levels."""

from __future__ import annotations

import numpy as np
import pytest
from audio_testkit import dominant_frequency, speechlike, to_pcm16, tone

from voicedesk.audio.echo import EchoControl, FarEndTimeline, HalfDuplexGate, KalmanEchoCanceller
from voicedesk.audio.levels import LevelMeter
from voicedesk.audio.resample import StreamResampler, resample_block
from voicedesk.audio.ring import FrameRing, StampRing

# --- ring ---------------------------------------------------------------------------------------


def test_ring_wraps_around_and_keeps_order() -> None:
    ring = FrameRing(10, 2, np.int16)
    data = np.arange(200, dtype=np.int16).reshape(-1, 2)
    out = np.zeros((100, 2), dtype=np.int16)
    got = 0
    for step in range(30):  # uneven writes and reads cross the end many times
        ring.write(data[(step * 3) % 90 : (step * 3) % 90 + 3])
        got += ring.read_into(out[got : got + 2 + step % 3])
    assert ring.write_position == 90 and ring.dropped == 0
    assert got == ring.read_position
    expected = np.concatenate([data[(s * 3) % 90 : (s * 3) % 90 + 3] for s in range(30)])
    assert np.array_equal(out[:got], expected[:got])


def test_ring_overflow_drops_newest_and_counts() -> None:
    ring = FrameRing(8, 1, np.float32)
    assert ring.write(np.ones(5, dtype=np.float32)) == 5
    assert ring.write(np.full(5, 2.0, dtype=np.float32)) == 3
    assert ring.dropped == 2
    out = np.zeros((8, 1), dtype=np.float32)
    assert ring.read_into(out) == 8
    assert list(out[:, 0]) == [1] * 5 + [2] * 3


def test_ring_peek_skip_and_silence() -> None:
    ring = FrameRing(6, 1, np.float32)
    ring.write(np.arange(1, 5, dtype=np.float32))
    ring.write_silence(2)
    peek = np.zeros((3, 1), dtype=np.float32)
    assert ring.peek_into(peek, offset=2) == 3
    assert list(peek[:, 0]) == [3, 4, 0]
    assert ring.available() == 6
    ring.skip_to(4)
    assert ring.available() == 2 and ring.space() == 4


def test_stamp_ring_latest() -> None:
    stamps = StampRing(4)
    assert stamps.latest() is None
    for i in range(10):
        stamps.note(i * 100, i * 0.5)
    assert stamps.latest() == (900, 4.5)


# --- resampler ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_resampler_streaming_length_and_frequency(rate: int) -> None:
    x = tone(997.0, 2.0, rate=rate)
    stream = StreamResampler(rate, 24000)
    chunks = [stream.process(x[i : i + rate // 100]) for i in range(0, x.size, rate // 100)]
    y = np.concatenate([*chunks, stream.drain()])
    assert abs(y.size - 48000) <= 2
    assert dominant_frequency(y[2400:-2400], 24000) == pytest.approx(997.0, abs=0.5)
    # A clean sine: residual after a least-squares sine fit is tiny.
    seg = y[2400:-2400].astype(np.float64)
    t = np.arange(seg.size) / 24000
    basis = np.stack([np.sin(2 * np.pi * 997 * t), np.cos(2 * np.pi * 997 * t)], 1)
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    resid = seg - basis @ coef
    assert 10 * np.log10(np.sum((basis @ coef) ** 2) / np.sum(resid**2)) > 80


def test_resampler_holds_back_little() -> None:
    stream = StreamResampler(48000, 24000)
    out = sum(stream.process(np.zeros(480, dtype=np.float32)).size for _ in range(10))
    assert 2400 - out < 24000 * 0.005  # under 5 ms still inside the filter


def test_resample_block_up_and_passthrough() -> None:
    y = resample_block(tone(440.0, 1.0, rate=24000), 24000, 48000)
    assert abs(y.size - 48000) <= 2
    same = StreamResampler(24000, 24000)
    assert same.passthrough and same.process(np.ones(5, dtype=np.float32)).size == 5


# --- echo ---------------------------------------------------------------------------------------


def _room(delay_ms: float, rate: int = 24000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(0.2 * rate)
    h = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / rate / 0.3) * 0.2
    d = int(delay_ms * rate / 1000)
    h[:d] = 0
    h[d] = 1.0
    return h / float(np.sqrt(np.sum(h**2)))


def _erle(before: np.ndarray, after: np.ndarray) -> float:
    return float(
        10 * np.log10(np.sum(before.astype(np.float64) ** 2) / (np.sum(after.astype(np.float64) ** 2) + 1e-20))
    )


@pytest.mark.parametrize("delay_ms", [30, 80])
def test_aec_cancels_simulated_echo_and_keeps_near_end(delay_ms: int) -> None:
    rate, block = 24000, 480
    far = speechlike(16.0, seed=1)
    echo = np.convolve(far, _room(delay_ms))[: far.size].astype(np.float32) * 0.3
    near = np.zeros_like(far)
    talk = speechlike(3.0, seed=9) * 0.8
    near[12 * rate : 15 * rate] = talk
    mic = echo + near + np.random.default_rng(5).standard_normal(far.size).astype(np.float32) * 1e-4
    aec = KalmanEchoCanceller(block)
    out = np.concatenate([aec.process(mic[i : i + block], far[i : i + block]) for i in range(0, far.size, block)])
    steady = slice(6 * rate, 12 * rate)
    assert _erle(mic[steady], out[steady]) >= 25.0
    # Double talk: the near-end speech comes through (the suppressor delays by half a block).
    shift = block // 2
    dt = slice(12 * rate + shift, 15 * rate)
    got = out[dt]
    ref = near[12 * rate : 15 * rate - shift]
    gain = float(np.dot(got, ref) / np.dot(ref, ref))
    assert gain > 0.7
    assert np.corrcoef(got, ref)[0, 1] > 0.9


def test_half_duplex_gate_mutes_while_far_end_plays_plus_hangover() -> None:
    gate = HalfDuplexGate(480, hangover_s=0.1)
    mic = np.full(480, 0.2, dtype=np.float32)
    loud = np.full(480, 0.1, dtype=np.float32)
    quiet = np.zeros(480, dtype=np.float32)
    assert np.allclose(gate.process(mic, quiet), mic)
    first = gate.process(mic, loud)  # ramps down
    assert first[-1] == 0.0 and gate.muted
    outs = [gate.process(mic, quiet) for _ in range(5)]  # 100 ms hangover = 5 blocks
    assert all(np.all(o == 0) for o in outs)
    back = gate.process(mic, quiet)
    gate = gate  # for mypy, which would keep gate.muted narrowed to True across process()
    assert not gate.muted and back[-1] == pytest.approx(0.2)


def test_echo_control_aligns_reference_by_time() -> None:
    ctl = EchoControl("half-duplex", lead_s=0.0)
    tl = ctl.timeline
    tl.append(np.zeros(2400, dtype=np.float32), t_first=100.0)
    tl.append(np.full(2400, 0.5, dtype=np.float32), t_first=100.1)
    assert np.all(tl.reference(100.0, 480) == 0)
    assert np.all(tl.reference(100.1, 480) == 0.5)
    mic = np.full(480, 1000, dtype=np.int16)
    assert np.all(ctl.process(mic, 100.0) == 1000)
    ctl.process(mic, 100.12)
    assert np.all(ctl.process(mic, 100.14) == 0)
    ctl.set_mode("off")
    assert np.all(ctl.process(mic, 100.16) == 1000)


@pytest.mark.parametrize("lead_s", [0.0, 0.15])
def test_echo_control_pairs_by_sample_count_and_never_uses_unplayed_audio(lead_s: float) -> None:
    """Stream times that drift from the sample counts (as PulseAudio's ALSA plugin's do, by hundreds
    of ppm) and a first guess that lies in the future must not cut holes in the reference."""
    rate, block, delay = 24000, 480, 1500  # echo 62.5 ms after the sample was handed to the device
    far = speechlike(14.0, seed=1)
    mic = np.zeros_like(far)
    mic[delay:] = 0.3 * far[:-delay]
    ctl = EchoControl("aec", lead_s=lead_s)
    tl = ctl.timeline
    tl.live = True
    out = []
    played = 0
    rng = np.random.default_rng(1)
    for k in range(far.size // block):
        # The output callback runs 10 ms chunks a little ahead of the microphone; stamps drift 500 ppm.
        while played < (k + 1) * block + 240:
            tl.append(far[played : played + 240], played / rate * 1.0005)
            played += 240
        t_adc = k * block / rate * 0.9996 + rng.uniform(-0.003, 0.003)
        out.append(ctl.process(to_pcm16(mic[k * block : (k + 1) * block]), t_adc))
    got = np.concatenate(out).astype(np.float32) / 32767
    steady = slice(6 * rate, 14 * rate)
    assert _erle(mic[steady], got[steady]) >= 30.0
    assert ctl.clamps <= 1 and ctl.relocations <= 1


@pytest.mark.parametrize("ppm", [100, -60])
def test_echo_control_finds_and_follows_clock_drift(ppm: int) -> None:
    """A microphone whose clock runs ``ppm`` off the speaker's: the echo slides through the filter
    unless the reference is read at the same rate."""
    rate, block = 24000, 480
    far = speechlike(30.0, seed=1)
    echo = np.zeros_like(far)
    echo[1500:] = 0.3 * far[:-1500]
    stretched = resample_block(echo, rate, rate * (1 + ppm * 1e-6))
    mic = np.zeros_like(far)
    mic[: min(far.size, stretched.size)] = stretched[: far.size]
    ctl = EchoControl("aec")
    ctl.timeline.live = True
    out = []
    for k in range(far.size // block):
        ctl.timeline.append(far[k * block : (k + 1) * block], k * block / rate)
        out.append(ctl.process(to_pcm16(mic[k * block : (k + 1) * block]), k * block / rate))
    got = np.concatenate(out).astype(np.float32) / 32767
    assert ctl.drift * 1e6 == pytest.approx(-ppm, abs=10)
    late = slice(15 * rate, 30 * rate)
    assert _erle(mic[late], got[late]) >= 30.0


def test_timeline_fills_gaps_and_realigns() -> None:
    tl = FarEndTimeline()
    tl.append(np.ones(240, dtype=np.float32), 10.0)
    tl.append(np.ones(240, dtype=np.float32), 10.5)  # output restarted: the gap was silence
    assert tl.end == 240 + 12000 - 240 + 240
    assert np.all(tl.reference(10.2, 100) == 0)
    assert np.all(tl.reference(10.5, 240) == 1)


def test_timeline_follows_output_underruns_by_their_stream_times() -> None:
    tl = FarEndTimeline()
    tl.append(np.ones(480, dtype=np.float32), 1.0)
    tl.append(np.ones(480, dtype=np.float32), 1.02 + 0.002)  # 2 ms of timestamp jitter: ignored
    assert tl.end == 960 and tl.gaps == 0
    # An underrun that inserted 10 ms of silence: the stream times jump forward by it.
    tl.append(np.full(480, 2.0, dtype=np.float32), 1.04 + 0.002 + 0.010, discontinuity=True)
    assert tl.end == 960 + 240 + 480 and tl.gaps == 1
    assert np.all(tl.samples(960, 240) == 0) and np.all(tl.samples(1200, 480) == 2)
    # One that dropped 10 ms already handed to the device: those samples were never played.
    t_next = 1.04 + 0.002 + 0.010 + 0.02
    tl.append(np.full(480, 3.0, dtype=np.float32), t_next - 0.010, discontinuity=True)
    assert tl.end == 1680 - 240 + 480 and tl.gaps == 2
    assert np.all(tl.samples(1200, 240) == 2) and np.all(tl.samples(1440, 480) == 3)


# --- levels -------------------------------------------------------------------------------------


def test_level_meter_reads_the_latest_window_and_keeps_a_history() -> None:
    meter = LevelMeter(window_s=0.02, history_s=1.0, bins_per_s=50)
    meter.feed(np.full(480, 16384, dtype=np.int16))
    lv = meter.levels()
    assert lv.peak == pytest.approx(0.5, abs=0.02) and lv.rms == pytest.approx(0.5, abs=0.02)
    meter.feed(np.zeros(480, dtype=np.int16))
    assert meter.levels().peak == 0.0  # a window of silence: silence, no decay
    hist = meter.history()
    assert hist.size == 50 and hist[-2] == pytest.approx(0.5, abs=0.01) and hist[-1] == 0.0
