"""The live level view: the microphone and the assistant's voice as two scrolling traces.

Cheap by construction (the way friture draws): one PlotDataItem per trace created once, fixed axis
ranges, no antialiasing, no mouse interaction, no filled areas (filling the curves' area tripled the
paint cost), an opaque background, ``setData`` with preallocated numpy views on a ~30 fps QTimer, no
redraw at all while everything in view is silence, and the level bookkeeping in plain numpy
(``LevelHistory``). The microphone trace rises above the axis, the assistant's falls below it, so the
two voices read like a conversation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from voicedesk.audio.base import Levels
from voicedesk.ui import theme
from voicedesk.ui.level_history import FloatArray, LevelHistory

LevelsProvider = Callable[[], tuple[Levels, Levels]]
FPS = 30


class WaveformView(QWidget):
    def __init__(self, provider: LevelsProvider | None = None, seconds: float = 10.0, parent: QWidget | None = None):
        super().__init__(parent)
        self._provider = provider
        self.history = LevelHistory(int(seconds * FPS))
        self._negated = np.zeros(self.history.size, dtype=np.float64)
        pg.setConfigOptions(antialias=False)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("waveform")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setXRange(0, self.history.size - 1, padding=0)
        self.plot.setYRange(-1.05, 1.05, padding=0)
        for axis in ("left", "bottom"):
            self.plot.hideAxis(axis)
        self.plot.setMinimumHeight(60)
        self.setFixedHeight(110)
        item = self.plot.getPlotItem()
        item.vb.disableAutoRange()
        self.mic_curve = pg.PlotDataItem(antialias=False, skipFiniteCheck=True)
        self.out_curve = pg.PlotDataItem(antialias=False, skipFiniteCheck=True)
        self.plot.addItem(self.mic_curve)
        self.plot.addItem(self.out_curve)
        # The legend sits beside the plot, not in its scene: nothing static is repainted every frame.
        self.mic_legend = QLabel("▲ you")
        self.out_legend = QLabel("▼ assistant")
        legend = QVBoxLayout()
        legend.setContentsMargins(0, 4, 0, 4)
        legend.addWidget(self.mic_legend)
        legend.addStretch(1)
        legend.addWidget(self.out_legend)
        self.apply_theme()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(legend)
        layout.addWidget(self.plot, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(1000 // FPS)
        self.timer.timeout.connect(self.refresh)
        self.frames = 0

    # The same small interface as every other view: clear(), refresh(), apply_theme().

    def set_provider(self, provider: LevelsProvider | None) -> None:
        self._provider = provider

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def clear(self) -> None:
        self.history.clear()
        self._draw()

    def apply_theme(self) -> None:
        c = theme.colors()
        self.plot.setBackground(self.palette().color(QPalette.ColorRole.Base))
        self.mic_curve.setPen(pg.mkPen(c["user"], width=1))
        self.out_curve.setPen(pg.mkPen(c["assistant"], width=1))
        self.mic_legend.setStyleSheet(f"color: {c['user']}")
        self.out_legend.setStyleSheet(f"color: {c['assistant']}")

    def refresh(self) -> None:
        """One frame: take a level snapshot and redraw both traces."""
        if self._provider is not None:
            try:
                mic, out = self._provider()
            except Exception:  # a device going away must not stop the view
                mic, out = Levels(), Levels()
            self.history.push(mic.peak, out.peak)
        if not self.history.flat:
            self._draw()

    def _draw(self) -> None:
        mic, out = self.history.traces()
        np.negative(out, out=self._negated)
        x: FloatArray = self.history.x
        self.mic_curve.setData(x, mic, skipFiniteCheck=True)
        self.out_curve.setData(x, self._negated, skipFiniteCheck=True)
        self.frames += 1
