"""Acoustic echo control for speakers: the assistant's own voice must not reach the server's VAD.

Modes:

- ``aec`` (default): an adaptive filter predicts the echo from what was actually played and
  subtracts it, then a residual-echo suppressor removes what the linear model misses;
- ``half-duplex``: the microphone is muted (silence is still delivered, so the stream stays
  continuous) while the assistant's audio is audible plus a hangover; barge-in is by button;
- ``off``: for headsets.

The parts: the canceller in ``echo_canceller``; the far-end timeline, the delay estimator and the drift
tracker that keep its reference aligned in ``echo_reference``; the half-duplex gate and ``EchoControl``,
which applies the chosen mode, here. Why this design and how well it cancels on real devices:
docs/decisions/0001-echo-canceller.md.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from voicedesk.audio.base import SAMPLE_RATE
from voicedesk.audio.drift_reader import DriftReader
from voicedesk.audio.echo_canceller import KalmanEchoCanceller
from voicedesk.audio.echo_reference import DelayEstimator, DriftTracker, FarEndTimeline
from voicedesk.audio.noise import NoiseSuppressor

__all__ = [
    "ECHO_MODES",
    "DelayEstimator",
    "DriftTracker",
    "EchoControl",
    "EchoMode",
    "FarEndTimeline",
    "HalfDuplexGate",
    "KalmanEchoCanceller",
]

EchoMode = Literal["aec", "half-duplex", "off"]
ECHO_MODES: tuple[EchoMode, ...] = ("aec", "half-duplex", "off")

Float32 = npt.NDArray[np.float32]


class HalfDuplexGate:
    """Mutes the microphone while the far end is audible, plus ``hangover_s``; short ramps avoid clicks."""

    def __init__(
        self,
        block: int = 480,
        *,
        rate: int = SAMPLE_RATE,
        threshold_db: float = -50.0,
        hangover_s: float = 0.3,
        ramp_s: float = 0.005,
    ) -> None:
        self.block = block
        self._threshold = 10.0 ** (threshold_db / 20.0)
        self._hangover_blocks = max(1, math.ceil(hangover_s * rate / block))
        self._ramp = max(1, int(ramp_s * rate))
        self._quiet_blocks = self._hangover_blocks + 1
        self._gain = 1.0

    @property
    def muted(self) -> bool:
        return self._quiet_blocks <= self._hangover_blocks

    def reset(self) -> None:
        self._quiet_blocks = self._hangover_blocks + 1
        self._gain = 1.0

    def process(self, mic: Float32, ref: Float32) -> Float32:
        active = ref.size > 0 and float(np.sqrt(np.mean(ref.astype(np.float64) ** 2))) > self._threshold
        self._quiet_blocks = 0 if active else self._quiet_blocks + 1
        target = 0.0 if self.muted else 1.0
        if target == self._gain:
            return mic if target == 1.0 else np.zeros_like(mic)
        ramp = np.ones(mic.size, dtype=np.float32) * target
        steps = min(self._ramp, mic.size)
        ramp[:steps] = np.linspace(self._gain, target, steps, dtype=np.float32)
        self._gain = target
        return (mic * ramp).astype(np.float32)


class EchoControl:
    """Applies the chosen mode to consecutive 24 kHz pcm16 microphone blocks.

    The canceller pairs microphone block ``k`` with timeline samples ``(k * block) * (1 + drift) +
    offset``, so the reference is as continuous as the microphone. The offset is first guessed from
    the stream times, then kept causal (a reference block is never taken from audio the speaker has
    not played yet: that would be zeros now and the real signal later, so the filter would learn
    holes, and the stream times alone put most blocks partly there; decision record 0001) and moved
    when the delay estimator finds the echo outside the filter. Each move restarts the filter, so
    they are kept rare: a ``slack_s`` margin below what has been played absorbs jitter. ``drift`` is
    found from how the filter's response moves while it cancels (DriftTracker), and applied by
    reading the reference at ``1 + drift`` timeline samples per microphone sample (DriftReader).
    """

    def __init__(
        self,
        mode: EchoMode = "aec",
        *,
        block: int = 480,
        lead_s: float = 0.0,
        slack_s: float = 0.02,
        tail_ms: float = 320.0,
        noise_suppression: bool = False,
    ) -> None:
        self.timeline = FarEndTimeline()
        self.noise: NoiseSuppressor | None = NoiseSuppressor(block) if noise_suppression else None
        self.block = block
        self.lead_s = lead_s  # first guess: reference this far after the block's stream time
        self.slack_s = slack_s
        self.margin_s = 0.02  # where a relocated echo is put in the filter
        self._aec = KalmanEchoCanceller(block, tail_ms=tail_ms)
        self._share_frames_with_noise()
        self._tail_s = self._aec.partitions * block / SAMPLE_RATE
        self._gate = HalfDuplexGate(block)
        self._delay = DelayEstimator(max_tap_s=self._tail_s + 0.15)
        self._blocks = 0
        self._mic_e = 0.0  # energy of the microphone and of the linear filter's error while the far end
        self._err_e = 0.0  # plays, since the last delay estimate
        self._candidate: float | None = None
        self._agree = 0
        self._ref_pos: float | None = None  # timeline position of the next reference sample
        self._drift = DriftTracker(block)
        self._reader = DriftReader(block)
        self._generation = -1
        self._gaps_seen = 0
        self.relocations = 0  # moves after the delay estimator
        self.clamps = 0  # moves to keep the reference causal
        self.mode: EchoMode = mode

    def set_mode(self, mode: EchoMode) -> None:
        if mode not in ECHO_MODES:
            raise ValueError(f"echo mode must be one of {ECHO_MODES}")
        if mode != self.mode:
            self.restart()
        self.mode = mode

    def set_noise_suppression(self, on: bool) -> None:
        """Steady noise taken out of the microphone after echo control (audio/noise.py), in every mode."""
        if on != (self.noise is not None):
            self.noise = NoiseSuppressor(self.block) if on else None
            self._share_frames_with_noise()

    def _share_frames_with_noise(self) -> None:
        """With ``aec``, noise suppression runs on the echo suppressor's frames: no second transform, no delay."""
        self._aec.post_filter = self.noise.shape if self.noise is not None else None

    def restart(self) -> None:
        """Forget the echo path and the alignment (new mode, the microphone restarted)."""
        self._aec.reset()
        self._gate.reset()
        self._ref_pos = None

    def _move(self, pos: int) -> None:
        self._ref_pos = float(pos)
        self._drift.forget_response()
        self._aec.reset()
        self._delay.restart()
        self._candidate = None
        self._agree = 0

    def _reference(self, t_adc: float) -> Float32:
        tl = self.timeline
        n = self.block
        latest = tl.end - n - int(self.slack_s * SAMPLE_RATE)  # the newest start that is surely played
        if tl.generation != self._generation or self._ref_pos is None:
            guess = tl.index_of(t_adc + self.lead_s)
            if guess is None or not tl.live:
                return np.zeros(n, dtype=np.float32)
            self._generation = tl.generation
            self._move(min(guess, latest))
        elif self._ref_pos + n * (1.0 + self._drift.drift) + self._reader.reach > tl.end:
            self.clamps += 1
            self._move(latest)
        elif tl.gaps != self._gaps_seen:
            self._aec.shake()  # the echo moved by about the gap: re-learn it, suppress meanwhile
            self._drift.forget_response()
        self._gaps_seen = tl.gaps
        assert self._ref_pos is not None
        step = 1.0 + self._drift.drift
        out = self._reader.read(tl, self._ref_pos, step)
        self._ref_pos += n * step
        return out

    @property
    def drift(self) -> float:
        """The clock drift applied to the reference (see DriftTracker)."""
        return self._drift.drift

    @property
    def path_changes(self) -> int:
        """Echo-path changes the canceller detected and re-learned (a moved laptop)."""
        return self._aec.path_changes

    @property
    def muted(self) -> bool:
        return self.mode == "half-duplex" and self._gate.muted

    def _track_delay(self, mic: Float32, far_active: bool) -> None:
        if self._ref_pos is None:
            return
        self._drift.update(self._aec, far_active)
        self._delay.add(mic)
        if far_active:
            self._mic_e += self._aec.mic_energy
            self._err_e += self._aec.error_energy
        self._blocks += 1
        if self._blocks % 25:
            return  # twice a second at 20 ms blocks
        mic_e, err_e = self._mic_e, self._err_e
        self._mic_e = self._err_e = 0.0
        # A filter that cancels the echo has found it, whatever a correlation says: periodic voices
        # give correlations several peaks. Only a filter that fails (< 6 dB) may be moved, so only
        # then is the (costly) correlation worth computing.
        if mic_e == 0.0 or err_e * 4.0 < mic_e:
            self._candidate = None
            self._agree = 0
            return
        found = self._delay.estimate(self.timeline, round(self._ref_pos))
        if found is None or found[1] < 8.0:
            return
        tap = found[0]
        if 0.004 <= tap <= self._tail_s - 0.06:
            self._candidate = None
            self._agree = 0
            return
        if self._candidate is not None and abs(self._candidate - tap) < 0.002:
            self._agree += 1
        else:
            self._candidate, self._agree = tap, 0
        if self._agree >= 2:  # the same place three times in a row (1.5 s)
            latest = self.timeline.end - int(self.slack_s * SAMPLE_RATE)
            self.relocations += 1
            paired = round(self._ref_pos)
            self._move(min(paired + round((self.margin_s - tap) * SAMPLE_RATE), latest))

    def process(self, block: npt.NDArray[np.int16], t_adc: float) -> npt.NDArray[np.int16]:
        if self.mode == "off" and self.noise is None:
            return block
        mic = block.astype(np.float32) * (1.0 / 32768.0)
        if self.mode == "off":
            out = mic
        elif self.mode == "half-duplex":
            # What is audible at the microphone now, with 50 ms to spare so the gate closes early.
            out = self._gate.process(mic, self.timeline.reference(t_adc, block.size + SAMPLE_RATE // 20))
        else:
            ref = self._reference(t_adc)
            out = self._aec.process(mic, ref)
            self._track_delay(mic, float(np.dot(ref, ref)) > 1e-6 * ref.size)
        if self.noise is not None and self.mode != "aec":
            out = self.noise.process(out)
        out = out * 32768.0
        np.rint(out, out=out)
        np.clip(out, -32768.0, 32767.0, out=out)
        return out.astype(np.int16)
