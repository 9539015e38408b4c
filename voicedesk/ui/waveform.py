"""The live level view: the microphone and the assistant's voice as two scrolling traces.

Cheap by construction (the way friture draws): one PlotDataItem per trace created once, fixed axis
ranges, no antialiasing, no mouse interaction, no filled areas (filling the curves' area tripled the
paint cost), an opaque background, ``setData`` with preallocated numpy views on a ~30 fps QTimer, no
redraw at all while everything in view is silence, and the level bookkeeping in plain numpy
(``LevelHistory``). The microphone trace rises above the axis, the assistant's falls below it, so the
two voices read like a conversation. pyqtgraph is imported only when the plot is built, after the
window's first paint, so the first frame does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPaintEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from voicedesk.audio.base import Levels
from voicedesk.ui import theme
from voicedesk.ui.level_history import FloatArray, LevelHistory

if TYPE_CHECKING:
    import pyqtgraph as pg

LevelsProvider = Callable[[], tuple[Levels, Levels]]
FPS = 30


class _Plot(NamedTuple):
    widget: pg.PlotWidget
    mic: pg.PlotDataItem  # rises above the axis
    out: pg.PlotDataItem  # the assistant's voice, below it


class WaveformView(QWidget):
    def __init__(self, provider: LevelsProvider | None = None, seconds: float = 10.0, parent: QWidget | None = None):
        super().__init__(parent)
        self._provider = provider
        self.history = LevelHistory(int(seconds * FPS))
        self._negated = np.zeros(self.history.size, dtype=np.float64)
        # Built after the first paint, or at the first sound if sooner: importing pyqtgraph takes ~0.25 s.
        self._plot: _Plot | None = None
        self._build_scheduled = False
        # Until the plot exists, an empty area of the plot's colour holds its place.
        self._placeholder = QWidget()
        self._placeholder.setAutoFillBackground(True)
        self._placeholder.setBackgroundRole(QPalette.ColorRole.Base)
        self._placeholder.setMinimumHeight(60)
        self.setFixedHeight(110)
        # The legend sits beside the plot, not in its scene: nothing static is repainted every frame.
        self.mic_legend = QLabel("▲ you")
        self.out_legend = QLabel("▼ assistant")
        legend = QVBoxLayout()
        legend.setContentsMargins(0, 4, 0, 4)
        legend.addWidget(self.mic_legend)
        legend.addStretch(1)
        legend.addWidget(self.out_legend)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(legend)
        self._layout.addWidget(self._placeholder, 1)
        self.apply_theme()
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
        if self._plot is not None:
            self._draw()

    def apply_theme(self) -> None:
        c = theme.colors()
        self.mic_legend.setStyleSheet(f"color: {c['user']}")
        self.out_legend.setStyleSheet(f"color: {c['assistant']}")
        if self._plot is not None:
            import pyqtgraph as pg

            self._plot.widget.setBackground(self.palette().color(QPalette.ColorRole.Base))
            self._plot.mic.setPen(pg.mkPen(c["user"], width=1))
            self._plot.out.setPen(pg.mkPen(c["assistant"], width=1))

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

    # The plot, built on first use.

    @property
    def plot_built(self) -> bool:
        return self._plot is not None

    @property
    def plot(self) -> pg.PlotWidget:
        return self._ensure_plot().widget

    @property
    def mic_curve(self) -> pg.PlotDataItem:
        return self._ensure_plot().mic

    @property
    def out_curve(self) -> pg.PlotDataItem:
        return self._ensure_plot().out

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._plot is None and not self._build_scheduled:
            self._build_scheduled = True
            QTimer.singleShot(0, self._ensure_plot)  # runs once this frame is on screen

    def _ensure_plot(self) -> _Plot:
        if self._plot is None:
            self._plot = self._build_plot()
            self._layout.replaceWidget(self._placeholder, self._plot.widget)
            self._plot.widget.show()  # the layout would show it only on the next turn of the event loop
            self._placeholder.deleteLater()
            self.apply_theme()
            self._draw()
        return self._plot

    def _build_plot(self) -> _Plot:
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=False)
        widget = pg.PlotWidget()
        widget.setObjectName("waveform")
        widget.setMenuEnabled(False)
        widget.setMouseEnabled(x=False, y=False)
        widget.hideButtons()
        widget.setXRange(0, self.history.size - 1, padding=0)
        widget.setYRange(-1.05, 1.05, padding=0)
        for axis in ("left", "bottom"):
            widget.hideAxis(axis)
        widget.setMinimumHeight(60)
        widget.getPlotItem().vb.disableAutoRange()
        plot = _Plot(
            widget,
            pg.PlotDataItem(antialias=False, skipFiniteCheck=True),
            pg.PlotDataItem(antialias=False, skipFiniteCheck=True),
        )
        widget.addItem(plot.mic)
        widget.addItem(plot.out)
        return plot

    def _draw(self) -> None:
        plot = self._ensure_plot()
        mic, out = self.history.traces()
        np.negative(out, out=self._negated)
        x: FloatArray = self.history.x
        plot.mic.setData(x, mic, skipFiniteCheck=True)
        plot.out.setData(x, self._negated, skipFiniteCheck=True)
        self.frames += 1
