"""The training view: live loss curves from metrics.jsonl and the latest sample grid, for one run folder.

It polls the folder (a QTimer, once a second): `MetricsLog.poll()` reads only new lines, and samples.png is
reloaded when its modification time moves, so it follows a run while it trains and shows a finished one as is.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from genstudio.gui.metrics_log import MetricsLog
from genstudio.gui.qimages import load_pixmap

PALETTE = ["#3d8bfd", "#e8590c", "#2e9e5b", "#ae3ec9", "#d6336c", "#0ca678", "#f59f00", "#868e96"]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


class LossChart(QWidget):
    """Curves of (step, value) series with axes, ticks and a legend, drawn with QPainter."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.setMinimumSize(360, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_series(self, series: dict[str, list[tuple[float, float]]]) -> None:
        self.series = {name: points for name, points in series.items() if points}
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(28, 30, 34))
        text_color = QColor(190, 194, 200)
        painter.setFont(QFont(self.font().family(), 8))
        if not self.series:
            painter.setPen(text_color)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No metrics yet: curves appear after the "
                             "first logged step.")
            return
        points = [p for series in self.series.values() for p in series]
        x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
        y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
        if x_high == x_low:
            x_high = x_low + 1
        pad = (y_high - y_low) * 0.05 or 0.5
        y_low, y_high = y_low - pad, y_high + pad
        plot = QRectF(56, 14, self.width() - 56 - 16, self.height() - 14 - 40)

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + (x - x_low) / (x_high - x_low) * plot.width(),
                           plot.bottom() - (y - y_low) / (y_high - y_low) * plot.height())

        grid_pen = QPen(QColor(60, 64, 70), 1)
        for y in _nice_ticks(y_low, y_high):
            point = to_screen(x_low, y)
            painter.setPen(grid_pen)
            painter.drawLine(QPointF(plot.left(), point.y()), QPointF(plot.right(), point.y()))
            painter.setPen(text_color)
            painter.drawText(QRectF(0, point.y() - 8, plot.left() - 6, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{y:.3g}")
        for x in _nice_ticks(x_low, x_high):
            point = to_screen(x, y_low)
            painter.setPen(grid_pen)
            painter.drawLine(QPointF(point.x(), plot.top()), QPointF(point.x(), plot.bottom()))
            painter.setPen(text_color)
            painter.drawText(QRectF(point.x() - 30, plot.bottom() + 4, 60, 14), Qt.AlignmentFlag.AlignHCenter,
                             f"{x:g}")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 18, plot.width(), 14), Qt.AlignmentFlag.AlignHCenter,
                         "step")
        painter.setPen(QPen(QColor(110, 114, 120), 1))
        painter.drawRect(plot)
        legend_x = plot.left() + 10
        for number, (name, series) in enumerate(self.series.items()):
            color = QColor(PALETTE[number % len(PALETTE)])
            path = QPainterPath(to_screen(*series[0]))
            for point in series[1:]:
                path.lineTo(to_screen(*point))
            painter.setPen(QPen(color, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.fillRect(QRectF(legend_x, plot.top() + 8, 14, 3), color)
            painter.setPen(text_color)
            label = f"{name} {series[-1][1]:.3g}"
            painter.drawText(QPointF(legend_x + 18, plot.top() + 13), label)
            legend_x += 26 + painter.fontMetrics().horizontalAdvance(label)


class ScaledImage(QLabel):
    """Shows a pixmap as large as fits, keeping its aspect; pixel-sharp when enlarged."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.source = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the pixmap follows the label

    def set_source(self, pixmap) -> None:
        self.source = pixmap
        self._rescale()

    def _rescale(self) -> None:
        if self.source is None or self.source.isNull():
            return
        enlarge = self.width() >= self.source.width() and self.height() >= self.source.height()
        self.setPixmap(self.source.scaled(self.width(), self.height(), Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation if enlarge
                                          else Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()


class TrainingView(QWidget):
    """One run folder: title, numbers, loss curves and the latest samples.png; follows it while it grows."""

    def __init__(self, folder: str | Path, title: str = "", parent=None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.log = MetricsLog(self.folder / "metrics.jsonl")
        self._samples_mtime: float | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel(title or f"Training run {self.folder.name}")
        self.title.setStyleSheet("font-weight: 600; font-size: 14px;")
        layout.addWidget(self.title)
        self.state = QLabel()  # how the run's job stands: queued, failed (with its error), stopped, finished
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state.hide()
        layout.addWidget(self.state)
        self.job_status = ""
        self.stats = QLabel("Waiting for the first logged step…")
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.stats)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.chart = LossChart()
        splitter.addWidget(self.chart)
        samples_box = QWidget()
        samples_layout = QVBoxLayout(samples_box)
        samples_layout.setContentsMargins(0, 0, 0, 0)
        self.samples_caption = QLabel("Latest samples")
        samples_layout.addWidget(self.samples_caption)
        self.samples = ScaledImage("No samples yet.")
        self.samples.setMinimumSize(240, 240)
        self.samples.setStyleSheet("background: #1c1e22; color: #aab0b8;")
        samples_layout.addWidget(self.samples, 1)
        splitter.addWidget(samples_box)
        splitter.setSizes([560, 440])
        layout.addWidget(splitter, 1)
        footer = QHBoxLayout()
        self.folder_label = QLabel(str(self.folder))
        self.folder_label.setStyleSheet("color: palette(mid);")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        footer.addWidget(self.folder_label)
        layout.addLayout(footer)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> bool:
        """Re-read what changed; True when anything did."""
        changed = False
        if self.log.poll():
            changed = True
            self.chart.set_series({key: self.log.series(key) for key in self.log.loss_keys()})
            latest = self.log.latest()
            parts = []
            for key, value in latest.items():
                if isinstance(value, float):
                    parts.append(f"{key} {value:.4g}")
                elif isinstance(value, int) and not isinstance(value, bool):
                    parts.append(f"{key} {value}")
            self.stats.setText(" · ".join(parts))
        samples = self.folder / "samples.png"
        try:
            mtime = samples.stat().st_mtime
        except OSError:
            mtime = None
        if mtime is not None and mtime != self._samples_mtime:
            pixmap = load_pixmap(samples)
            if not pixmap.isNull():
                self._samples_mtime = mtime
                self.samples.set_source(pixmap)
                step = self.log.latest().get("step")
                self.samples_caption.setText("Latest samples" + (f" (around step {step})" if step else ""))
                changed = True
        return changed

    def set_job(self, job) -> None:
        """Show how the run's train job stands (a genstudio.jobs.Job): a failed run says failed and why, instead
        of waiting for a step that will never come."""
        self.job_status = job.status
        texts = {"queued": ("Queued: waiting for the jobs before it.", "#8a8f98"),
                 "paused": ("Held in the queue (Release it in the queue to run).", "#c9a227"),
                 "running": ("", ""),
                 "done": ("Finished.", "#2e9e5b"),
                 "failed": (f"Failed: {job.error or 'see the job log in the queue'}", "#ff6b6b"),
                 "cancelled": ("Stopped: Retry / resume in the queue continues from the last checkpoint.",
                               "#e08a1e"),
                 "interrupted": ("Interrupted: Retry / resume in the queue continues from the last checkpoint.",
                                 "#e08a1e")}
        text, color = texts.get(job.status, (job.status, "#8a8f98"))
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {color}; font-weight: 600;")
        self.state.setVisible(bool(text))
        if job.status in ("failed", "cancelled", "interrupted") and not self.log.latest():
            self.stats.setText("No step was logged." if job.status == "failed" else "")
            if self.samples.source is None:
                self.samples.setText("No samples: the run " + ("failed." if job.status == "failed" else "stopped."))

    def stop(self) -> None:
        self.timer.stop()
