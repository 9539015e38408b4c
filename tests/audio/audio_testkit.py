"""Test kit for the audio engine: a private PulseAudio daemon with virtual devices, signals, measures.

PortAudio streams run on real (virtual) devices.

Layout (all null devices, nothing reaches hardware):

- sink ``spk`` is the speaker: what the engine plays can be recorded from ``spk.monitor``;
- sink ``micsrc`` is where the tests play "the person talking"; its monitor is remapped into the
  source ``mic``, the default source, so the engine records it;
- ``vd_spk`` / ``vd_mic`` are ALSA PCMs (type pulse) naming those devices, so PortAudio lists
  them by name and a test can unplug one with ``pactl unload-module``.

Null sinks sleep in 2 s blocks when nobody listens at low latency, which stalls every new stream
for up to 2.5 s; a low-latency ``pacat`` kept attached to each monitor keeps them awake.

The daemon runs as a child process with HOME and XDG_RUNTIME_DIR in a temporary directory, is
stopped by PID, and tests needing it skip with the reason when it cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

ASOUNDRC = """\
pcm.vd_spk { type pulse; device "spk" }
ctl.vd_spk { type pulse; device "spk" }
pcm.vd_mic { type pulse; device "mic" }
ctl.vd_mic { type pulse; device "mic" }
pcm.vd_spk2 { type pulse; device "spk2" }
ctl.vd_spk2 { type pulse; device "spk2" }
pcm.vd_mic2 { type pulse; device "mic2" }
ctl.vd_mic2 { type pulse; device "mic2" }
"""


class PulseUnavailable(RuntimeError):
    pass


@dataclass
class VirtualPulse:
    """Owns one PulseAudio daemon and its helper processes; every process is ended by its PID."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    daemon: subprocess.Popen[bytes] | None = None
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    modules: dict[str, int] = field(default_factory=dict)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def start(self) -> None:
        for tool in ("pulseaudio", "pactl", "pacat"):
            if shutil.which(tool) is None:
                raise PulseUnavailable(f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)")
        home = self.root / "home"
        runtime = self.root / "run"
        home.mkdir(parents=True, exist_ok=True)
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        (home / ".asoundrc").write_text(ASOUNDRC)
        self.env = dict(os.environ)
        self.env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(runtime),
            PULSE_SERVER=f"unix:{runtime}/pulse/native",
        )
        for var in ("PULSE_SINK", "PULSE_SOURCE"):
            self.env.pop(var, None)
        self.daemon = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--system=false",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-n",
                "--load=module-native-protocol-unix",
                "--log-target=stderr",
                "--log-level=error",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                err = self.daemon.stderr.read().decode(errors="replace") if self.daemon.stderr else ""
                self.stop()
                raise PulseUnavailable(f"pulseaudio did not start: {err.strip()[:300]}")
            time.sleep(0.05)
        self.add_sink("spk")
        self.add_sink("micsrc")
        self.add_remap_source("mic", "micsrc.monitor")
        self.pactl("set-default-sink", "spk")
        self.pactl("set-default-source", "mic")
        self.keep_awake("spk.monitor")
        self.keep_awake("micsrc.monitor")
        self.keep_awake("mic")
        self.wait_for_clients(3)
        self._export_env()

    def _export_env(self) -> None:
        # PortAudio's ALSA pulse plugin reads these in this process.
        for var in ("HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE"):
            self._saved_env[var] = os.environ.get(var)
            if var in self.env:
                os.environ[var] = self.env[var]
            else:
                os.environ.pop(var, None)

    def _restore_env(self) -> None:
        for var, value in self._saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        self._saved_env.clear()

    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def load_module(self, key: str, *args: str) -> int:
        index = int(self.pactl("load-module", *args))
        self.modules[key] = index
        return index

    def unload(self, key: str) -> None:
        index = self.modules.pop(key)
        self.pactl("unload-module", str(index))

    def add_sink(self, name: str, rate: int = 48000, channels: int = 2) -> None:
        self.load_module(
            name,
            "module-null-sink",
            f"sink_name={name}",
            f"rate={rate}",
            f"channels={channels}",
            f"sink_properties=device.description={name}",
        )

    def add_remap_source(self, name: str, master: str) -> None:
        self.load_module(
            name,
            "module-remap-source",
            f"source_name={name}",
            f"master={master}",
            f"source_properties=device.description={name}",
        )

    def keep_awake(self, source: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["pacat", "--record", "-d", source, "--raw", "--latency-msec=10", "--rate=8000", "--channels=1"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.helpers.append(proc)
        return proc

    def wait_for_clients(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` recording clients are attached (they keep the null sinks awake)."""
        deadline = time.monotonic() + timeout
        while len(self.pactl("list", "short", "source-outputs").splitlines()) < count:
            if time.monotonic() > deadline:
                raise PulseUnavailable("pacat helpers did not attach")
            time.sleep(0.02)
        time.sleep(0.2)

    def loopback(
        self, key: str, source: str, sink: str, latency_ms: int, volume_pct: int, *, adaptive: bool = False
    ) -> None:
        """Route ``source`` into ``sink`` (the speaker heard by the microphone), attenuated.

        By default at a fixed rate (``adjust_time=0``): module-loopback otherwise keeps steering its
        resampler towards the target latency, which makes the echo's delay drift by ~2 samples a
        second (~90 ppm, measured by windowed cross-correlation of spk.monitor against
        micsrc.monitor). A loudspeaker and a microphone on one sound card share a clock and do not
        do that; both null sinks here run on the same clock too, so nothing needs adapting.
        """
        args = [f"source={source}", f"sink={sink}", f"latency_msec={latency_ms}"]
        if not adaptive:
            args.append("adjust_time=0")
        index = self.load_module(key, "module-loopback", *args)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            owner = None
            for line in self.pactl("list", "sink-inputs").splitlines():
                line = line.strip()
                if line.startswith("Sink Input #"):
                    owner = line.removeprefix("Sink Input #")
                elif line == f"Owner Module: {index}" and owner is not None:
                    self.pactl("set-sink-input-volume", owner, f"{volume_pct}%")
                    return
            time.sleep(0.02)
        raise RuntimeError("loopback sink input did not appear")

    def record(self, source: str, rate: int = 48000) -> Recorder:
        return Recorder(self, source, rate)

    def play_file(self, sink: str, path: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["pacat", "--playback", "-d", sink, "--file-format=wav", "--latency-msec=60", str(path)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.helpers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.helpers:
            _end(proc)
        self.helpers.clear()
        if self.daemon is not None:
            _end(self.daemon)
            self.daemon = None
        self._restore_env()


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


class Recorder:
    """Records a PulseAudio source (e.g. ``spk.monitor``) as mono float32 through pacat, with timestamps."""

    def __init__(self, pulse: VirtualPulse, source: str, rate: int) -> None:
        self.rate = rate
        self._path = pulse.root / f"rec-{source}-{time.monotonic_ns()}.raw"
        self._file = self._path.open("wb")
        self.started_at = time.monotonic()
        self._proc = subprocess.Popen(
            [
                "pacat",
                "--record",
                "-d",
                source,
                "--raw",
                "--format=float32le",
                f"--rate={rate}",
                "--channels=1",
                "--latency-msec=5",
            ],
            env=pulse.env,
            stdout=self._file,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        pulse.helpers.append(self._proc)

    def wait_started(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self._path.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.005)

    def frames_so_far(self) -> int:
        """Frames recorded up to now (pacat writes as it receives, every ~5 ms)."""
        return self._path.stat().st_size // 4

    def stop(self) -> npt.NDArray[np.float32]:
        _end(self._proc)
        self._file.close()
        return np.fromfile(self._path, dtype="<f4").astype(np.float32)


def write_wav(path: Path, pcm: npt.NDArray[np.int16], rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def read_wav(path: Path) -> tuple[npt.NDArray[np.int16], int]:
    with wave.open(str(path), "rb") as src:
        data = np.frombuffer(src.readframes(src.getnframes()), dtype=np.int16)
        if src.getnchannels() > 1:
            data = data.reshape(-1, src.getnchannels())[:, 0].copy()
        return data, src.getframerate()


def reinit_portaudio() -> None:
    """PortAudio enumerates devices once; re-enumerate after the daemon's devices changed."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def warm_up(timeout: float = 5.0) -> None:
    """Open the default devices once and wait for callbacks: the very first stream stalls ~2 s."""
    import threading

    import sounddevice as sd

    got_in = threading.Event()
    got_out = threading.Event()

    def on_in(indata: object, frames: int, when: object, status: object) -> None:
        got_in.set()

    def on_out(outdata: npt.NDArray[np.float32], frames: int, when: object, status: object) -> None:
        outdata.fill(0)
        got_out.set()

    with (
        sd.InputStream(channels=1, samplerate=48000, callback=on_in, latency="low"),
        sd.OutputStream(channels=1, samplerate=48000, callback=on_out, latency="low"),
    ):
        if not (got_in.wait(timeout) and got_out.wait(timeout)):
            raise PulseUnavailable("no PortAudio callbacks from the virtual devices")


# --- signals and measurements ------------------------------------------------------------------


def tone(freq: float, seconds: float, rate: int = 24000, amplitude: float = 0.5) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def to_pcm16(x: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def speechlike(seconds: float, rate: int = 24000, seed: int = 0) -> npt.NDArray[np.float32]:
    """Voiced 'syllables' (gliding pitch, harmonics, formant-ish tilt) with pauses: speech statistics
    without needing a TTS engine."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float64)
    i = 0
    while i < n:
        length = int(rng.uniform(0.08, 0.3) * rate)
        gap = int(rng.uniform(0.02, 0.25) * rate)
        seg = min(length, n - i)
        t = np.arange(seg) / rate
        f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voiced = sum(np.sin(k * phase) / k ** rng.uniform(0.8, 1.4) for k in range(1, 30) if k * f0.max() < rate / 2)
        noise = rng.standard_normal(seg) * 0.05
        env = np.sin(np.pi * np.arange(seg) / max(seg, 1)) ** 0.5
        out[i : i + seg] = (np.asarray(voiced) + noise) * env * rng.uniform(0.3, 1.0)
        i += seg + gap
    out /= np.max(np.abs(out)) + 1e-12
    return (0.5 * out).astype(np.float32)


def espeak(text: str, path: Path, voice: str = "en") -> Path | None:
    if shutil.which("espeak-ng") is None:
        return None
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return path


def dominant_frequency(x: npt.NDArray[np.float32], rate: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    k = int(np.argmax(spec[1:])) + 1
    # parabolic interpolation around the peak
    a, b, c = spec[k - 1], spec[k], spec[k + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float((k + shift) * rate / x.size)


def db(x: npt.NDArray[np.float32] | npt.NDArray[np.float64] | npt.NDArray[np.int16]) -> float:
    v = np.asarray(x, dtype=np.float64)
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        v = v / 32768.0
    return float(10 * np.log10(np.mean(v * v) + 1e-20))


def xcorr_peak(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> tuple[int, float]:
    """Lag of ``b`` inside ``a`` (a[lag:] ~ b) and the normalised correlation there."""
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    c = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    lag = int(np.argmax(np.abs(c[: a.size])))
    seg = a[lag : lag + b.size]
    m = min(seg.size, b.size)
    num = float(np.dot(seg[:m], b[:m]))
    den = float(np.sqrt(np.dot(seg[:m], seg[:m]) * np.dot(b[:m], b[:m]))) + 1e-20
    return lag, num / den


def _normalised_peak(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> tuple[int, float]:
    """Lag of ``b`` fully inside ``a`` where the normalised correlation is highest, and that correlation."""
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    c = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)[: a.size - b.size + 1]
    sq = np.concatenate(([0.0], np.cumsum(a.astype(np.float64) ** 2)))
    energy = sq[b.size :] - sq[: a.size - b.size + 1]
    b_energy = float(np.dot(b, b))
    norm = np.where(energy > 1e-3 * b_energy, c / np.sqrt(np.maximum(energy, 1e-20) * b_energy), 0.0)
    lag = int(np.argmax(norm))
    return lag, float(norm[lag])


def match_in_order(
    recording: npt.NDArray[np.float32],
    reference: npt.NDArray[np.float32],
    rate: int,
    start: int,
    segment_s: float = 0.1,
) -> tuple[list[float], int]:
    """How well each sounding ``segment_s`` piece of ``reference`` matches the recording, found in order.

    On a loaded machine the device chain can underrun and insert silence between pieces, which a
    single whole-signal correlation would count as damage; each piece is looked for from where the
    previous one ended, at most a second later. Returns the correlations and the gaps found (samples).
    """
    seg = int(rate * segment_s)
    cursor = start
    gaps = 0
    correlations: list[float] = []
    for i in range(0, reference.size - seg + 1, seg):
        piece = reference[i : i + seg]
        if float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))) < 0.003:
            cursor += seg
            continue
        window = recording[cursor : cursor + seg + rate]
        if window.size < seg:
            correlations.append(0.0)
            break
        offset, corr = _normalised_peak(window, piece)
        gaps += offset
        correlations.append(corr)
        cursor += offset + seg
    return correlations, gaps


def envelope(x: npt.NDArray[np.float32], rate: int, window_s: float = 0.005) -> npt.NDArray[np.float64]:
    """RMS per window (no overlap)."""
    w = max(1, int(rate * window_s))
    n = x.size // w
    seg = x[: n * w].astype(np.float64).reshape(n, w)
    return np.asarray(np.sqrt(np.mean(seg * seg, axis=1)))


def active_span(x: npt.NDArray[np.float32], rate: int, threshold: float = 0.01) -> tuple[int, int]:
    """First and last sample index of the part of ``x`` above ``threshold`` (5 ms windows)."""
    env = envelope(x, rate)
    on = np.flatnonzero(env > threshold)
    if on.size == 0:
        return 0, 0
    w = int(rate * 0.005)
    return int(on[0] * w), int((on[-1] + 1) * w)


async def wait_until(cond: Callable[[], bool], limit_s: float, poll_s: float = 0.05) -> bool:
    """Poll ``cond`` on the running loop until it holds (True) or ``limit_s`` has passed (False)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            return False
        await asyncio.sleep(poll_s)
    return True
