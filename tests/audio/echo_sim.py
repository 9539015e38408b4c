"""Synthetic echo conditions for the echo canceller's tests and benchmarks/bench_echo.py.

Everything is derived from a seed: speech-like far and near ends (audio_testkit.speechlike), a room
response with a given RT60, a loudspeaker's soft clipping, a clock drift between speaker and microphone
(either sign), microphone noise at -55 dBFS, echo 12 dB under the far end, an optional echo-path change
(the laptop is moved) and optional double talk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from audio_testkit import speechlike

from voicedesk.audio.resample import resample_block

RATE = 24000
FRAME = 480  # 20 ms: the unit of "frames above -40 dBFS"

Float32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Condition:
    name: str
    seconds: float = 20.0
    rt60: float = 0.25
    ppm: float = 0.0
    clipping: bool = False
    change_at: float | None = None  # the echo path jumps to another room here
    talk: tuple[float, float] | None = None  # near-end speech from, to (s)
    far: bool = True  # the far end plays (False: the person talks, the assistant listens)
    noise_dbfs: float = -55.0
    fan: bool = False  # the noise is a fan's: pink, with a 100 Hz hum and its harmonics
    suppress_noise: bool = False  # measure with noise suppression on
    far_pause: tuple[float, float] | None = None  # the far end is silent from, to (s)


@dataclass
class Scene:
    far: Float32  # what the speaker plays (the reference)
    mic: Float32  # echo + near + noise
    echo: Float32
    near: Float32
    condition: Condition


def room(rt60: float, seed: int, rate: int = RATE) -> npt.NDArray[np.float64]:
    """A direct path 4 - 10 ms after the reference, then exponentially decaying diffuse reverberation."""
    rng = np.random.default_rng(seed)
    n = int(min(rt60, 0.45) * rate)
    t = np.arange(n) / rate
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    direct = int(rng.uniform(0.004, 0.010) * rate)
    h[:direct] = 0.0
    h[direct] = 1.0
    return h / float(np.sqrt(np.sum(h**2)))


def _rms(x: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)) + 1e-20)


def _fan(n: int, seed: int) -> npt.NDArray[np.float64]:
    """Pink noise (1/f power) plus a 100 Hz hum with two harmonics: a fan or an air conditioner."""
    rng = np.random.default_rng(seed + 78)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(f[1:] / 50.0)
    spectrum[f < 40.0] = 0.0  # below what a microphone picks up
    pink = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    hum = np.sin(2 * np.pi * 100 * t + 1) + np.sin(2 * np.pi * 200 * t + 2) / 2 + np.sin(2 * np.pi * 300 * t + 3) / 3
    return pink / _rms(pink) + 0.5 * hum / _rms(hum)


def scene(cond: Condition, seed: int) -> Scene:
    n = int(cond.seconds * RATE)
    far = speechlike(cond.seconds, seed=seed) * (1.6 if cond.far else 0.0)  # peaks at 0.8
    if cond.far_pause is not None:
        far[int(cond.far_pause[0] * RATE) : int(cond.far_pause[1] * RATE)] = 0.0
    played = np.tanh(2.0 * far) / 2.0 if cond.clipping else far.astype(np.float64)
    first = room(cond.rt60, 1000 + seed)
    echo = np.convolve(played, first)[:n]
    if cond.change_at is not None:
        k = int(cond.change_at * RATE)
        second = room(cond.rt60, 2000 + seed)
        echo[k:] = np.convolve(played, second)[k:n] * 1.4  # also closer: louder
    echo *= 10 ** (-12 / 20) * _rms(far) / _rms(echo[: int(min(n, 10 * RATE))]) if cond.far else 0.0
    if cond.ppm:
        stretched = resample_block(echo.astype(np.float32), RATE, round(RATE * (1 + cond.ppm * 1e-6)))
        out = np.zeros(n)
        m = min(n, stretched.size)
        out[:m] = stretched[:m]
        echo = out
    near = np.zeros(n)
    if cond.talk is not None:
        a, b = (int(s * RATE) for s in cond.talk)
        near[a:b] = speechlike((b - a) / RATE, seed=seed + 500) * 1.6 * 10 ** (-6 / 20)
    noise = _fan(n, seed) if cond.fan else np.random.default_rng(seed + 77).standard_normal(n)
    noise *= 10 ** (cond.noise_dbfs / 20) / _rms(noise)
    mic = echo + near + noise
    return Scene(
        far.astype(np.float32),
        mic.astype(np.float32),
        echo.astype(np.float32),
        near.astype(np.float32),
        cond,
    )


def frame_dbfs(x: Float32) -> npt.NDArray[np.float64]:
    """RMS level of each 20 ms frame, dBFS."""
    m = x.size // FRAME
    frames = x[: m * FRAME].astype(np.float64).reshape(m, FRAME)
    levels: npt.NDArray[np.float64] = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    return levels


def erle(sc: Scene, out: Float32, start_s: float, end_s: float) -> float:
    """Echo reduction (mic over output) where the far end plays and the near end is silent."""
    a, b = int(start_s * RATE), int(end_s * RATE)
    mic, res = sc.mic[a:b].astype(np.float64), out[a:b].astype(np.float64)
    return float(10 * np.log10(np.sum(mic**2) / (np.sum(res**2) + 1e-20)))


def loud_frames(out: Float32, start_s: float, end_s: float, level_dbfs: float = -40.0) -> list[float]:
    """Start times (s) of the 20 ms frames in [start, end) louder than ``level_dbfs``."""
    levels = frame_dbfs(out)
    first, last = int(start_s * RATE) // FRAME, min(int(end_s * RATE) // FRAME, levels.size)
    return [k * FRAME / RATE for k in range(first, last) if levels[k] > level_dbfs]


def settle_time(out: Float32, start_s: float, end_s: float) -> float:
    """Seconds from ``start_s`` to the end of the last frame above -40 dBFS before ``end_s`` (0: none)."""
    loud = loud_frames(out, start_s, end_s)
    return 0.0 if not loud else loud[-1] + FRAME / RATE - start_s


def near_end_quality(sc: Scene, out: Float32, latency: int) -> tuple[float, float]:
    """(segmental SNR dB, attenuation dB) of the near-end speech in double talk; ``latency`` in samples."""
    assert sc.condition.talk is not None
    a, b = (int(s * RATE) for s in sc.condition.talk)
    near = sc.near[a:b].astype(np.float64)
    got = out[a + latency : b + latency].astype(np.float64)
    if float(np.dot(near, got)) < 0.0:
        got = -got  # WebRTC AEC3 (through livekit) gives the microphone back with its polarity inverted
    m = near.size // FRAME
    near_f = near[: m * FRAME].reshape(m, FRAME)
    got_f = got[: m * FRAME].reshape(m, FRAME)
    power = np.sum(near_f**2, axis=1)
    active = power > np.max(power) * 1e-3
    seg = 10 * np.log10(power[active] / (np.sum((got_f - near_f)[active] ** 2, axis=1) + 1e-20))
    snr = float(np.mean(np.clip(seg, -10.0, 35.0)))
    atten = float(10 * np.log10(np.sum(power[active]) / (np.sum(got_f[active] ** 2) + 1e-20)))
    return snr, atten


def best_latency(sc: Scene, out: Float32, max_lag: int = 1200) -> int:
    """The engine's delay, from the near end in double talk (lag of the highest correlation)."""
    assert sc.condition.talk is not None
    a, b = (int(s * RATE) for s in sc.condition.talk)
    near = sc.near[a:b].astype(np.float64)

    def score(lag: int) -> float:
        return abs(float(np.dot(near, out[a + lag : b + lag].astype(np.float64))))

    coarse = max(range(0, max_lag, 8), key=score)
    return max(range(max(0, coarse - 8), coarse + 9), key=score)


def noise_reduction(sc: Scene, out: Float32, latency: int) -> float:
    """How far the noise fell (dB) in the frames where the near end is silent and the far end too."""
    m = min(sc.near.size, out.size - latency) // FRAME
    near = sc.near[: m * FRAME].astype(np.float64).reshape(m, FRAME)
    far = sc.far[: m * FRAME].astype(np.float64).reshape(m, FRAME)
    quiet = (np.sum(near**2, axis=1) == 0.0) & (np.sum(far**2, axis=1) == 0.0)
    quiet[: int(3.0 * RATE) // FRAME] = False  # after the suppressor learned the noise
    mic = sc.mic[: m * FRAME].astype(np.float64).reshape(m, FRAME)[quiet]
    got = out[latency : latency + m * FRAME].astype(np.float64).reshape(m, FRAME)[quiet]
    return float(10 * np.log10(np.sum(mic**2) / (np.sum(got**2) + 1e-20)))
