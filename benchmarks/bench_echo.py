"""Echo canceller figures on synthetic conditions: voicedesk's EchoControl and WebRTC AEC3 in the same run.

Run: .venv/bin/python benchmarks/bench_echo.py [--seeds 3] [--only drift] [--cpu]
AEC3 comes from the ``livekit`` package (``pip install livekit``); without it only voicedesk is measured.
Reproducible from the seeds: the signals are tests/audio/echo_sim.py's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests" / "audio")]

import echo_sim as sim  # noqa: E402

from voicedesk.audio.echo import EchoControl  # noqa: E402

CONDITIONS = [
    sim.Condition("fixed RT60 0.25", rt60=0.25),
    sim.Condition("fixed RT60 0.5", rt60=0.5),
    sim.Condition("clipping", rt60=0.25, clipping=True),
    sim.Condition("drift +100 RT60 0.25", rt60=0.25, ppm=100),
    sim.Condition("drift +100 RT60 0.5", rt60=0.5, ppm=100),
    sim.Condition("drift -100 RT60 0.5", rt60=0.5, ppm=-100),
    sim.Condition("drift +200 RT60 0.5", rt60=0.5, ppm=200),
    sim.Condition("drift -200 RT60 0.5", rt60=0.5, ppm=-200),
    sim.Condition("path change", rt60=0.25, change_at=10.0),
    sim.Condition("path change RT60 0.5", rt60=0.5, change_at=10.0),
    sim.Condition("double talk", rt60=0.25, talk=(14.0, 17.0)),
    # Noise suppression (Settings: "Noise suppression"): the person talks in a noisy room.
    sim.Condition("noise: fan -40, talk", far=False, fan=True, noise_dbfs=-40.0, talk=(3.0, 18.0), suppress_noise=True),
    sim.Condition("noise: white -45, talk", far=False, noise_dbfs=-45.0, talk=(3.0, 18.0), suppress_noise=True),
    sim.Condition("noise: fan -40, echo, talk", fan=True, noise_dbfs=-40.0, talk=(14.0, 17.0), suppress_noise=True),
]

Engine = Callable[[sim.Scene], tuple[np.ndarray, float]]


def run_voicedesk(sc: sim.Scene) -> tuple[np.ndarray, float]:
    """The whole echo path as the engine runs it: timeline, alignment, drift, canceller, suppressor."""
    block, rate = 480, sim.RATE
    ctl = EchoControl("aec", noise_suppression=sc.condition.suppress_noise)
    ctl.timeline.live = True
    mic16 = np.clip(np.round(sc.mic * 32768.0), -32768, 32767).astype(np.int16)
    out = []
    t0 = time.process_time()
    ahead = 2  # the output is handed to the device 40 ms before it is heard
    for j in range(ahead):
        ctl.timeline.append(sc.far[j * block : (j + 1) * block], j * block / rate)
    for k in range(sc.far.size // block):
        j = k + ahead
        ctl.timeline.append(sc.far[j * block : (j + 1) * block], j * block / rate)
        out.append(ctl.process(mic16[k * block : (k + 1) * block], k * block / rate))
    cpu = time.process_time() - t0
    return np.concatenate(out).astype(np.float32) / 32768.0, cpu


def run_aec3(sc: sim.Scene) -> tuple[np.ndarray, float]:
    from livekit import rtc

    apm = rtc.AudioProcessingModule(
        echo_cancellation=True, high_pass_filter=True, noise_suppression=sc.condition.suppress_noise
    )
    n, rate = 240, sim.RATE
    far16 = np.clip(np.round(sc.far * 32768.0), -32768, 32767).astype(np.int16)
    mic16 = np.clip(np.round(sc.mic * 32768.0), -32768, 32767).astype(np.int16)
    out = np.zeros(sc.far.size // n * n, dtype=np.int16)
    t0 = time.process_time()
    for k in range(sc.far.size // n):
        s = slice(k * n, (k + 1) * n)
        ref = rtc.AudioFrame(far16[s].tobytes(), rate, 1, n)
        apm.process_reverse_stream(ref)
        frame = rtc.AudioFrame(mic16[s].tobytes(), rate, 1, n)
        apm.process_stream(frame)
        out[s] = np.frombuffer(bytes(frame.data), dtype=np.int16)
    cpu = time.process_time() - t0
    return out.astype(np.float32) / 32768.0, cpu


def measure(cond: sim.Condition, seed: int, engine: Engine) -> dict[str, float]:
    sc = sim.scene(cond, seed)
    out, cpu = engine(sc)
    row: dict[str, float] = {"cpu ms/s": 1000 * cpu / cond.seconds}
    end = cond.seconds - 0.5
    if cond.far:
        row["converge s"] = sim.settle_time(out, 0.0, 5.0)
    if cond.change_at is not None:
        c = cond.change_at
        row["ERLE dB"] = sim.erle(sc, out, 5.0, c)
        row["reconverge s"] = sim.settle_time(out, c, min(end, c + 5.0))
        row["frames>-40"] = len(sim.loud_frames(out, c, min(end, c + 5.0)))
        row["ERLE after dB"] = sim.erle(sc, out, c + 3.0, end)
    elif cond.talk is not None:
        latency = sim.best_latency(sc, out)
        if cond.far:
            row["ERLE dB"] = sim.erle(sc, out, 5.0, cond.talk[0])
        if cond.suppress_noise:
            row["noise down dB"] = sim.noise_reduction(sc, out, latency)
            row["segSNR in dB"] = sim.near_end_quality(sc, sc.mic, 0)[0]
        snr, att = sim.near_end_quality(sc, out, latency)
        row["segSNR dB"], row["atten dB"] = snr, att
        if cond.far:
            row["frames>-40 after"] = len(sim.loud_frames(out, cond.talk[1] + 0.3, end))
    else:
        row["ERLE dB"] = sim.erle(sc, out, 8.0, end)
        row["frames>-40"] = len(sim.loud_frames(out, 8.0, end))
    return row


def cpu_figures(engines: dict[str, Engine], seeds: range) -> None:
    """CPU per audio-second while the assistant speaks throughout, with and without noise suppression:
    the best of three runs of each seed, as a shared machine only ever adds time."""
    for suppress in (False, True):
        cond = sim.Condition("cpu", rt60=0.5, ppm=100, suppress_noise=suppress)
        for name, engine in engines.items():
            figures = []
            for seed in seeds:
                sc = sim.scene(cond, seed)
                figures.append(min(engine(sc)[1] for _ in range(3)) * 1000 / cond.seconds)
            label = "speaking, noise suppression" if suppress else "speaking"
            print(f"cpu ms/s {label:28s} {name:9s} " + "/".join(f"{v:.1f}" for v in figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--only", default="", help="conditions whose name contains this")
    parser.add_argument("--engine", choices=["both", "voicedesk", "aec3"], default="both")
    parser.add_argument("--cpu", action="store_true", help="only the CPU figures, best of three runs")
    args = parser.parse_args()
    engines: dict[str, Engine] = {}
    if args.engine in ("both", "voicedesk"):
        engines["voicedesk"] = run_voicedesk
    if args.engine in ("both", "aec3"):
        try:
            import livekit.rtc  # noqa: F401

            engines["aec3"] = run_aec3
        except ImportError:
            print("livekit not installed: AEC3 not measured")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.cpu:
        cpu_figures(engines, seeds)
        return
    for cond in CONDITIONS:
        if args.only not in cond.name:
            continue
        for name, engine in engines.items():
            rows = [measure(cond, seed, engine) for seed in seeds]
            keys = rows[0].keys()
            cells = []
            for key in keys:
                values = [r[key] for r in rows]
                cells.append(f"{key} " + "/".join(f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}" for v in values))
            print(f"{cond.name:22s} {name:9s} " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
