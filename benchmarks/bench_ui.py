"""Desktop window figures (printed, not asserted).

Run: .venv/bin/python benchmarks/bench_ui.py [startup|stream|memory|all] [--before DIR] [--rounds N]

``--before DIR`` runs the stream figures on another checkout too (e.g. a ``git worktree`` of the previous
commit, with its own ``.venv`` link), alternating before/after for ``--rounds`` rounds (3 by default) on
the same machine in the same run, and prints the medians side by side. The child process always runs
this file; only the ``voicedesk`` package it imports (and the local server it starts) come from DIR.

* startup: process start -> first paint of the main window (median of several fresh processes);
  also in-process: QApplication created -> first paint.
* stream: while a 30-second answer streams (server VAD listening, mic blocks sent, waveform at 30 fps,
  conversation, event inspector and status updating), asyncio event-loop lag p50/p99 and the
  window process's CPU. The local server runs in a separate process, as a real service would
  (targets: lag p99 <= 10 ms, CPU <= 15% of one core).
* memory: 60 simulated minutes of conversation (150 turns of push-to-talk speech, tool calls and
  ~25-second answers, unpaced) through the real window; RSS growth after warm-up (target <= 30 MB).

Each figure runs in a fresh child process. Under Xvfb (DISPLAY set, or xvfb-run available) the xcb
platform is used, so painting is real; otherwise offscreen.

Environment knobs for finding where the time goes (stream figures; they apply to --before runs too):
``VOICEDESK_BENCH_OFF=waveform,inspector,conversation,window`` switches parts off (``window``: the window
hidden and the waveform stopped, i.e. what the session alone costs); ``VOICEDESK_BENCH_PAINTS=1`` adds
paint events per second by widget to the child's JSON (its Python event filter costs CPU itself);
``VOICEDESK_BENCH_PROFILE=FILE`` writes a cProfile of the child. Startup: ``VOICEDESK_BENCH_HISTORY=off`` starts
without the history, ``=shown`` with the History sidebar open (``VOICEDESK_HISTORY=FILE`` picks the file).
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T_PROCESS = time.time()  # as early as possible: startup is measured from here
HERE = Path(__file__).resolve().parent
# The checkout whose voicedesk is measured: this one, or the one named by --before (via the environment).
ROOT = Path(os.environ.get("VOICEDESK_BENCH_ROOT") or HERE.parent).resolve()
sys.path.insert(0, str(ROOT))


# The app layer arrived with the window's view model: the --before checkout may predate it.
HAS_APP_LAYER = (ROOT / "voicedesk" / "app").is_dir()
SERVER_MODULE = "voicedesk.app.serve" if HAS_APP_LAYER else "voicedesk.local.server"


def _runtime(settings: Any, source: Any, sink: Any) -> Any:
    """The window's runtime over the given source and sink, in whichever checkout is measured."""
    if HAS_APP_LAYER:
        from voicedesk.app import AppRuntime, AudioBackend, RuntimeOptions

        return AppRuntime(settings, RuntimeOptions(audio_factory=lambda _s, _p: AudioBackend(source, sink)))
    import importlib

    old = importlib.import_module("voicedesk.ui.runtime")
    return old.SessionRuntime(settings, audio_factory=lambda _s, _p: old.AudioBackend(source, sink, None, None))


def _event_records(runtime: Any) -> list[dict[str, Any]]:
    return list(runtime.event_log if HAS_APP_LAYER else runtime.recent_events)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _isolate() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="voicedesk-bench-"))
    os.environ["VOICEDESK_CONFIG_DIR"], os.environ["VOICEDESK_DATA_DIR"] = str(tmp / "c"), str(tmp / "d")
    os.environ["VOICEDESK_NO_KEYRING"] = "1"
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
        os.environ.pop(name, None)


# ---------------------------------------------------------------------- children


def child_startup() -> None:
    _isolate()
    t_import = time.perf_counter()
    from PySide6.QtCore import QEvent, QObject, QTimer

    from voicedesk.app import AppRuntime, RuntimeOptions
    from voicedesk.config import AppSettings
    from voicedesk.ui.app import make_application
    from voicedesk.ui.main_window import MainWindow

    app = make_application()
    t_app = time.perf_counter()
    history = os.environ.get("VOICEDESK_BENCH_HISTORY", "")
    runtime = AppRuntime(AppSettings(), RuntimeOptions(history=None if history == "off" else "window"))
    window = MainWindow(runtime, persist=False)
    if history == "shown" and window.history_dock is not None:
        window.history_dock.show()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "painted" not in result:
                result["painted"] = time.time()
                result["from_app_ms"] = (time.perf_counter() - t_app) * 1000
                result["imports_ms"] = (t_app - t_import) * 1000
                QTimer.singleShot(0, lambda: app.exit(0))  # quit() would ask the window to close
            return False

    result: dict[str, Any] = {}
    painter = FirstPaint()
    window.installEventFilter(painter)
    window.conversation.browser.viewport().installEventFilter(painter)
    window.show()
    app.exec()
    result["from_process_ms"] = (result["painted"] - T_PROCESS) * 1000
    print(json.dumps(result))


class _PaintCounter:
    """Paint events per widget (class and object name) while it lives: which views redraw how often."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QApplication

        counts: dict[str, int] = {}
        self.counts = counts

        class Filter(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint:
                    parent = watched.parent()
                    outer = f"{type(parent).__name__}:{parent.objectName()}/" if parent is not None else ""
                    name = f"{outer}{type(watched).__name__}:{watched.objectName()}"
                    counts[name] = counts.get(name, 0) + 1
                return False

        self._filter = Filter()
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self._filter)

    def per_second(self, seconds: float) -> dict[str, float]:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        assert app is not None
        app.removeEventFilter(self._filter)
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {name: round(n / seconds, 1) for name, n in ranked[:15]}


async def _stream(seconds: float, tab: int) -> dict[str, Any]:
    from voicedesk.audio.filesource import FileSource
    from voicedesk.audio.null import NullSink
    from voicedesk.config import AppSettings
    from voicedesk.realtime.session_config import SessionSettings, TurnDetection
    from voicedesk.session import events as se
    from voicedesk.ui.main_window import MainWindow

    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-m", SERVER_MODULE, "--port", "0", "--pace", "1.0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("ws://"), "the local server did not start"
        settings = AppSettings(endpoint="custom", custom_url=url,
                               session=SessionSettings(turn_detection=TurnDetection(type="server_vad")))  # fmt: skip
        source, sink = FileSource(speed=1.0), NullSink(speed=1.0)
        runtime = _runtime(settings, source, sink)
        window = MainWindow(runtime, persist=False)
        window.resize(1180, 800)
        window.show()
        await window.start(connect=True)
        controller = runtime.controller
        assert controller is not None
        drawer = getattr(window, "drawer", None)  # the developer drawer, hidden by default since the redesign
        if drawer is not None and tab:
            drawer.show()
        window.side_tabs.setCurrentIndex(tab)  # 0: tool calls (the default), 1: the busier event inspector
        signals = getattr(window, "view_model", None) or getattr(window, "bridge")  # noqa: B009 - older code: a bridge
        for knob in os.environ.get("VOICEDESK_BENCH_OFF", "").split(","):
            if knob == "waveform":
                window.waveform.stop()
            elif knob == "inspector":
                signals.raw_event_received.disconnect()
            elif knob == "conversation":
                signals.transcript_updated.disconnect()
            elif knob == "window":  # the session alone: what the core and the test audio cost
                window.waveform.stop()
                window.hide()
        await asyncio.sleep(1.0)
        controller.send_text(f"talk for {seconds + 8:g} seconds")
        loop = asyncio.get_running_loop()
        while controller.activity != "speaking":  # noqa: ASYNC110 - polling what the window shows
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # into the answer
        paints = _PaintCounter() if os.environ.get("VOICEDESK_BENCH_PAINTS") else None
        # CPU first, undisturbed; then the lag probe (its own wake-ups would cost CPU).
        frames0 = window.waveform.frames
        cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        await asyncio.sleep(seconds / 2)
        cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        painted = paints.per_second(wall1 - wall0) if paints is not None else {}
        lags: list[float] = []
        end = wall1 + seconds / 2
        while time.monotonic() < end:
            t = loop.time()
            await asyncio.sleep(0.005)
            lags.append(max(0.0, loop.time() - t - 0.005))
        speaking = controller.activity == "speaking"
        frames = window.waveform.frames - frames0
        deltas = sum(1 for e in _event_records(runtime) if e["event"].get("type", "").endswith("delta"))
        await window.shutdown()
        cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (wall1 - wall0)
        lags.sort()
        del se
        return {
            "lag_p50_ms": lags[len(lags) // 2] * 1000,
            "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
            "lag_max_ms": lags[-1] * 1000,
            "cpu_percent": cpu * 100,
            "fps": frames / (time.monotonic() - wall0),
            "still_speaking": speaking,
            "samples": len(lags),
            "delta_events_kept": deltas,
            "paints_per_s": painted,
        }
    finally:
        server.terminate()
        server.wait(5)


async def _memory(turns: int) -> dict[str, Any]:
    import numpy as np

    from voicedesk.audio.base import SAMPLE_RATE
    from voicedesk.audio.filesource import FileSource
    from voicedesk.audio.null import NullSink
    from voicedesk.config import AppSettings
    from voicedesk.realtime.session_config import SessionSettings, TurnDetection
    from voicedesk.session import events as se
    from voicedesk.ui.main_window import MainWindow

    speech = (np.sin(np.arange(3 * SAMPLE_RATE) * 2 * np.pi * 180 / SAMPLE_RATE) * 8000).astype(np.int16)
    spoken = [f"please talk for {25 if n % 3 else 20} seconds about topic {n}" for n in range(turns)]
    # The local server in its own process, as a real service: only the window's memory is measured.
    command = [sys.executable, "-m", SERVER_MODULE, "--port", "0", "--pace", "inf"]
    for text in spoken:
        command += ["--transcript", text]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)  # noqa: ASYNC220
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    assert url.startswith("ws://"), "the local server did not start"
    settings = AppSettings(endpoint="custom", custom_url=url,
                           session=SessionSettings(turn_detection=TurnDetection(type="none")))  # fmt: skip
    source, sink = FileSource(speed=math.inf), NullSink(speed=math.inf)
    runtime = _runtime(settings, source, sink)
    window = MainWindow(runtime, persist=False)
    window.show()
    await window.start(connect=True)
    controller = runtime.controller
    assert controller is not None
    ends: list[se.AgentEnd] = []
    runtime.subscribe(lambda e: ends.append(e) if isinstance(e, se.AgentEnd) else None)
    audio_ms = 0
    baseline = 0.0
    checkpoints: list[float] = []
    started = time.monotonic()
    for n in range(turns):
        if n % 10 == 9:
            controller.send_text(f"what is {n} times 7")  # a tool call, then its spoken result
            want = len(ends) + 2
        else:
            controller.start_push_to_talk()
            await source.play(speech)
            controller.stop_push_to_talk()
            audio_ms += 3000
            want = len(ends) + 1
        while len(ends) < want or controller.activity != "idle":  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if n == 9:
            await asyncio.sleep(0.3)
            gc.collect()
            baseline = _rss_mb()
        if n % 25 == 24:
            checkpoints.append(round(_rss_mb(), 1))
        ends.clear()
    await asyncio.sleep(0.5)
    gc.collect()
    final = _rss_mb()
    items = len(controller.history())
    assistant_ms = sum(i.audio_ms for i in controller.history() if i.role == "assistant")
    shown = len(window.conversation.shown_ids())
    await window.shutdown()
    server.terminate()
    server.wait(5)
    return {
        "turns": turns,
        "simulated_minutes": (audio_ms + assistant_ms) / 60000,
        "rss_after_warmup_mb": baseline,
        "rss_final_mb": final,
        "growth_mb": final - baseline,
        "checkpoints_mb": checkpoints,
        "items": items,
        "turns_shown": shown,
        "events_kept": len(_event_records(runtime)),
        "wall_s": time.monotonic() - started,
    }


def child_async(kind: str, arg: float, tab: int = 1) -> None:
    _isolate()
    import qasync

    from voicedesk.ui.app import make_application

    app = make_application()
    job = _stream(arg, tab) if kind == "stream" else _memory(int(arg))
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        if os.environ.get("VOICEDESK_BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(runner.run, job)
            profiler.dump_stats(os.environ["VOICEDESK_BENCH_PROFILE"])
        else:
            result = runner.run(job)
        print(json.dumps(result))


# ---------------------------------------------------------------------- parent


def _run_child(args: list[str], xvfb: bool, root: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    python = sys.executable
    if root is not None:
        env["VOICEDESK_BENCH_ROOT"] = str(root)
        if (root / ".venv" / "bin" / "python").exists():
            python = str(root / ".venv" / "bin" / "python")
    command = [python, str(Path(__file__).resolve()), "--child", *args]
    if xvfb:
        env["QT_QPA_PLATFORM"] = "xcb"
        if not env.get("DISPLAY"):
            command = ["xvfb-run", "--auto-servernum", "--server-args=-screen 0 1280x900x24", *command]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=root or ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {args} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _compare_stream(before: Path, rounds: int, xvfb: bool) -> None:
    """The stream figures for ``before`` and this checkout, alternating, ``rounds`` times; medians."""
    for tab, name in ((1, "Events tab shown (busiest)"), (0, "Tool calls tab shown (default)")):
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(rounds):
            runs["before"].append(_run_child(["stream", "15", str(tab)], xvfb, before))
            runs["after"].append(_run_child(["stream", "15", str(tab)], xvfb))
        print(f"streaming answer, {name}: 15 s, server VAD mic streaming; median of {rounds} alternating runs")
        for label, results in runs.items():
            cpu = statistics.median(r["cpu_percent"] for r in results)
            p99 = statistics.median(r["lag_p99_ms"] for r in results)
            p50 = statistics.median(r["lag_p50_ms"] for r in results)
            fps = statistics.median(r["fps"] for r in results)
            each = ", ".join(f"{r['cpu_percent']:.1f}" for r in results)
            print(f"  {label:6s} CPU {cpu:5.1f}% of one core ({each})  lag p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
                  f"waveform {fps:.0f} fps")  # fmt: skip


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind = sys.argv[2]
        if kind == "startup":
            child_startup()
        else:
            child_async(kind, float(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
        return 0
    args = sys.argv[1:]
    before: Path | None = None
    rounds = 3
    if "--before" in args:
        at = args.index("--before")
        before = Path(args[at + 1]).resolve()
        del args[at : at + 2]
    if "--rounds" in args:
        at = args.index("--rounds")
        rounds = int(args[at + 1])
        del args[at : at + 2]
    which = args[0] if args else "all"
    xvfb = bool(os.environ.get("DISPLAY")) or shutil.which("xvfb-run") is not None
    platform = "xcb (Xvfb)" if xvfb else "offscreen"
    print(f"voicedesk window benchmarks on {platform}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if before is not None:
        _compare_stream(before, rounds, xvfb)
        return 0
    if which in ("startup", "all"):
        runs = [_run_child(["startup"], xvfb) for _ in range(5)]
        proc = statistics.median(r["from_process_ms"] for r in runs)
        app = statistics.median(r["from_app_ms"] for r in runs)
        imports = statistics.median(r["imports_ms"] for r in runs)
        print(f"startup: process start -> first painted window  median {proc:.0f} ms  (5 runs; "
              f"Qt+voicedesk imports {imports:.0f} ms, QApplication -> first paint {app:.0f} ms)")  # fmt: skip
    if which in ("stream", "all"):
        for tab, name in ((1, "Events tab shown (busiest)"), (0, "Tool calls tab shown (default)")):
            r = _run_child(["stream", "15", str(tab)], xvfb)
            print(f"streaming answer, {name}: 15 s window, waveform {r['fps']:.0f} fps, server VAD mic streaming")
            lag = f"p50 {r['lag_p50_ms']:.2f} ms  p99 {r['lag_p99_ms']:.2f} ms  max {r['lag_max_ms']:.1f} ms"
            print(f"  event-loop lag  {lag}  (target p99 <= 10 ms)")
            print(f"  window process CPU {r['cpu_percent']:.1f}% of one core  (target <= 15%; server elsewhere)")
            if not r["still_speaking"]:
                print("  warning: the answer ended before the window closed")
    if which in ("memory", "all"):
        r = _run_child(["memory", "150"], xvfb)
        print(f"memory: {r['simulated_minutes']:.0f} simulated minutes ({r['turns']} turns, {r['items']} items, "
              f"{r['wall_s']:.0f} s wall): RSS {r['rss_after_warmup_mb']:.1f} -> {r['rss_final_mb']:.1f} MB, "
              f"growth {r['growth_mb']:+.1f} MB (target <= 30 MB); view shows last {r['turns_shown']} turns, "
              f"inspector/bundle keep {r['events_kept']} events")  # fmt: skip
        print(f"  RSS every 25 turns: {', '.join(f'{v:.0f}' for v in r['checkpoints_mb'])} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
