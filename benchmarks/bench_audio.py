"""Audio engine figures on the virtual PulseAudio devices (printed, not asserted).

Run: .venv/bin/python benchmarks/bench_audio.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests" / "audio")]

import audio_testkit as kit  # noqa: E402

from voicedesk.audio.echo_canceller import KalmanEchoCanceller  # noqa: E402
from voicedesk.audio.engine import AudioEngine  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000


async def capture_latency(seconds: float = 5.0) -> None:
    engine = AudioEngine(echo="off")
    engine.source.keep_latencies = True
    await engine.start(lambda block: None)
    await asyncio.sleep(seconds)
    lat = engine.source.latencies[10:]
    own = engine.source.callback_latencies[10:]
    buffer_ms = engine.source.device_latency_s * 1000
    print(
        f"capture: last sample of a block captured (ADC time) -> on_block  p50 {pct(lat, 50):.1f} ms"
        f"  p95 {pct(lat, 95):.1f} ms  ({len(lat)} blocks, device buffer {buffer_ms:.0f} ms)"
    )
    print(
        f"capture: the callback bringing a block's last sample -> on_block  p50 {pct(own, 50):.1f} ms"
        f"  p95 {pct(own, 95):.1f} ms"
    )
    await engine.stop()


async def playback_start_and_flush(rounds: int = 30) -> None:
    engine = AudioEngine(echo="off")
    await engine.sink.start()
    sink = engine.sink
    starts, flushes = [], []
    pcm = kit.to_pcm16(kit.tone(440.0, 1.0))
    rng = np.random.default_rng(7)
    for _ in range(rounds):
        await asyncio.sleep(0.2 + rng.uniform(0, 0.02))  # not phase-locked to the 20 ms callbacks
        t0 = time.monotonic()
        sink.write(pcm[:4800])
        while sink.started_at < t0:  # noqa: ASYNC110 - polling the callback's stamp
            await asyncio.sleep(0.001)
        starts.append(sink.started_at - t0)
        sink.write(pcm[4800:])
        await asyncio.sleep(0.3 + rng.uniform(0, 0.02))
        t1 = time.monotonic()
        sink.flush()
        while sink.flushed_at < t1:  # noqa: ASYNC110 - polling the callback's stamp
            await asyncio.sleep(0.001)
        # silent once the callback applied the flush and the fade has been output
        flushes.append(sink.flushed_at - t1 + sink.fade_s)
    latency = sink.output_latency_s
    await sink.stop()
    print(
        f"playback: first sample written -> in the output callback  p50 {pct(starts, 50):.1f} ms"
        f"  max {max(starts) * 1000:.1f} ms"
    )
    print(
        f"flush: call -> output silent (next callback + {sink.fade_s * 1000:.0f} ms fade)"
        f"  p50 {pct(flushes, 50):.1f} ms"
        f"  max {max(flushes) * 1000:.1f} ms  (+ device buffer {latency * 1000:.0f} ms until the speaker)"
    )


async def duplex_cpu(mode: str, seconds: float = 10.0) -> None:
    engine = AudioEngine(echo=mode)  # type: ignore[arg-type]
    await engine.start(lambda block: None)
    engine.sink.write(kit.to_pcm16(kit.speechlike(seconds, seed=4)))
    c0, w0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    c1, w1 = time.process_time(), time.monotonic()
    await engine.stop()
    print(f"full duplex, echo={mode}: CPU {100 * (c1 - c0) / (w1 - w0):.1f} % of one core")


def simulated_erle() -> None:
    rate, block = 24000, 480
    far = kit.speechlike(20.0, seed=1)
    rng = np.random.default_rng(3)
    n = int(0.2 * rate)
    h = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / rate / 0.3) * 0.2
    h[: int(0.05 * rate)] = 0
    h[int(0.05 * rate)] = 1.0
    echo = np.convolve(far, h / np.sqrt(np.sum(h**2)))[: far.size].astype(np.float32) * 0.3
    aec = KalmanEchoCanceller(block)
    t0 = time.process_time()
    out = np.concatenate([aec.process(echo[i : i + block], far[i : i + block]) for i in range(0, far.size, block)])
    cpu = time.process_time() - t0
    for a, b in ((0, 2), (2, 5), (5, 20)):
        sl = slice(a * rate, b * rate)
        print(f"echo reduction (simulated room, 50 ms): {a}-{b} s  {kit.db(echo[sl]) - kit.db(out[sl]):.1f} dB")
    print(f"AEC CPU: {1000 * cpu / 20:.1f} ms per second of audio")


async def main(pulse: kit.VirtualPulse) -> None:
    await capture_latency()
    await playback_start_and_flush()
    for mode in ("off", "aec"):
        await duplex_cpu(mode)
    simulated_erle()
    for adaptive in (False, True):
        await loopback_erle(pulse, adaptive)


async def loopback_erle(pulse: kit.VirtualPulse, adaptive: bool, seconds: float = 20.0) -> None:
    pulse.loopback("echo", "spk.monitor", "micsrc", 40, 60, adaptive=adaptive)
    engine = AudioEngine(echo="aec")
    raw: list[np.ndarray] = []
    out: list[np.ndarray] = []
    engine.source.raw_tap = raw.append
    await engine.start(out.append)
    await asyncio.sleep(0.3)
    engine.sink.write(kit.to_pcm16(kit.speechlike(seconds, seed=2) * 0.9))
    await asyncio.sleep(seconds + 0.5)
    await engine.stop()
    pulse.unload("echo")
    r, o = np.concatenate(raw), np.concatenate(out)
    print(f"  (drift found: {engine.echo.drift * 1e6:.0f} ppm, relocations {engine.echo.relocations})")
    how = "adaptive-rate (drifting ~90 ppm)" if adaptive else "fixed-rate"
    for a, b in ((0.5, 2), (2, 5), (5, seconds)):
        sl = slice(int(a * 24000), int(b * 24000))
        print(f"echo reduction, PulseAudio {how} loopback, aec: {a:g}-{b:g} s  {kit.db(r[sl]) - kit.db(o[sl]):.1f} dB")


if __name__ == "__main__":
    vp = kit.VirtualPulse(Path(tempfile.mkdtemp(prefix="vd-bench-")))
    vp.start()
    try:
        kit.reinit_portaudio()
        kit.warm_up()
        asyncio.run(main(vp))
    finally:
        vp.stop()
