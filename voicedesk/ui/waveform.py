"""The live level view: the microphone and the assistant's voice as two scrolling traces.

Cheap by construction (the way friture draws): a pyqtgraph plot with fixed axis ranges, no antialiasing
and no mouse interaction, an opaque background, the legend outside the scene, and each trace a minimal
graphics item that draws one polyline straight from a preallocated QPolygonF whose points numpy writes in
place (no path building, no bounds computed per frame: the item's bounds are the fixed view). The window's
display clock calls ``refresh``: it takes one level snapshot and redraws, except while everything in view
is silence or the view is hidden. The microphone trace rises above the axis, the assistant's falls below
it, so the two voices read like a conversation. pyqtgraph is imported only when the plot is built, after
the window's first paint, so the first frame does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsObject,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from voicedesk.audio.base import Levels
from voicedesk.ui import theme
from voicedesk.ui.display_clock import FPS, DisplayClock
from voicedesk.ui.level_history import FloatArray, LevelHistory

if TYPE_CHECKING:
    import pyqtgraph as pg

LevelsProvider = Callable[[], tuple[Levels, Levels]]
Y_RANGE = 1.05
MIN_PLOT_HEIGHT = 48
PREFERRED_HEIGHT = 110


class Trace(QGraphicsObject):
    """One polyline over ``size`` evenly spaced samples; ``values`` is a numpy view of its points' y."""

    def __init__(self, size: int) -> None:
        super().__init__()
        import pyqtgraph.functions as fn

        self._polygon: QPolygonF = fn.create_qpolygonf(size)
        points: FloatArray = fn.ndarray_from_qpolygonf(self._polygon)
        points[:, 0] = np.arange(size, dtype=np.float64)
        points[:, 1] = 0.0
        self._points = points
        self.values: FloatArray = points[:, 1]  # the y of each point
        self._bounds = QRectF(0.0, -Y_RANGE, float(size - 1), 2 * Y_RANGE)
        self._pen = QPen()

    def setPen(self, pen: QPen) -> None:
        self._pen = pen
        self.update()

    def getData(self) -> tuple[FloatArray, FloatArray]:
        """(x, y) as drawn (views; for tests and exports)."""
        return self._points[:, 0], self.values

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(self._pen)
        painter.drawPolyline(self._polygon)


class _Plot(NamedTuple):
    widget: pg.PlotWidget
    mic: Trace  # rises above the axis
    out: Trace  # the assistant's voice, below it


class WaveformView(QWidget):
    def __init__(
        self,
        provider: LevelsProvider | None = None,
        seconds: float = 10.0,
        parent: QWidget | None = None,
        *,
        clock: DisplayClock | None = None,
    ) -> None:
        super().__init__(parent)
        self._provider = provider
        self.history = LevelHistory(int(seconds * FPS))
        self._clock = clock
        self._unsubscribe: Callable[[], None] | None = None
        # Built after the first paint, or at the first sound if sooner: importing pyqtgraph takes ~0.25 s.
        self._plot: _Plot | None = None
        self._build_scheduled = False
        # Until the plot exists, an empty area of the plot's colour holds its place.
        self._placeholder = QWidget()
        self._placeholder.setAutoFillBackground(True)
        self._placeholder.setBackgroundRole(QPalette.ColorRole.Base)
        self._placeholder.setMinimumHeight(MIN_PLOT_HEIGHT)
        self._background: str | None = None  # None: the palette's Base colour
        # No fixed height: whoever places the view (the voice visual) decides how tall it grows.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(MIN_PLOT_HEIGHT)
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
        self.frames = 0  # frames drawn

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), PREFERRED_HEIGHT)

    # The same small interface as every other view: clear(), refresh(), apply_theme().

    def set_provider(self, provider: LevelsProvider | None) -> None:
        self._provider = provider

    def start(self) -> None:
        """Sample and draw on every tick of the display clock (a clock of its own when none was given)."""
        if self._unsubscribe is not None:
            return
        if self._clock is None:
            self._clock = DisplayClock(self)
        self._unsubscribe = self._clock.every(0, self.refresh)
        if not self._clock.running:
            self._clock.start()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @property
    def running(self) -> bool:
        return self._unsubscribe is not None

    @property
    def clock(self) -> DisplayClock | None:
        """The display clock that drives ``refresh`` (None until ``start`` when none was given)."""
        return self._clock

    def set_background(self, color: str | None) -> None:
        """The plot's background (``#rrggbb``), e.g. a tint for the session's state; None: the palette's."""
        self._background = color
        self._apply_background()

    def clear(self) -> None:
        self.history.clear()
        if self._plot is not None:
            self._draw()

    def apply_theme(self) -> None:
        c = theme.colors()
        self.mic_legend.setStyleSheet(f"color: {c['user']}")
        self.out_legend.setStyleSheet(f"color: {c['assistant']}")
        self._apply_background()
        if self._plot is not None:
            import pyqtgraph as pg

            self._plot.mic.setPen(pg.mkPen(c["user"], width=1))
            self._plot.out.setPen(pg.mkPen(c["assistant"], width=1))

    def _apply_background(self) -> None:
        base = self.palette().color(QPalette.ColorRole.Base)
        color = QColor(self._background) if self._background is not None else base
        if self._plot is not None:
            self._plot.widget.setBackground(color)
        else:
            palette = self._placeholder.palette()
            palette.setColor(QPalette.ColorRole.Base, color)
            self._placeholder.setPalette(palette)

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
    def mic_curve(self) -> Trace:
        return self._ensure_plot().mic

    @property
    def out_curve(self) -> Trace:
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
        widget.setMinimumHeight(MIN_PLOT_HEIGHT)
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture, nothing to operate: Tab passes it by
        widget.getPlotItem().vb.disableAutoRange()
        plot = _Plot(widget, Trace(self.history.size), Trace(self.history.size))
        widget.addItem(plot.mic)
        widget.addItem(plot.out)
        return plot

    def _draw(self) -> None:
        plot = self._ensure_plot()
        mic, out = self.history.traces()
        np.copyto(plot.mic.values, mic)
        np.negative(out, out=plot.out.values)
        plot.mic.update()
        plot.out.update()
        self.frames += 1
