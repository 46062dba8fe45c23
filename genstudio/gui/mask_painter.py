"""Restore one image in the app: paint a mask on it (brush size, eraser, undo), then inpaint, denoise or upscale it
with a restorer and compare before and after.

`MaskCanvas` is the painting widget: the image with the mask drawn over it in translucent red; left drag paints
(or erases, with the eraser on), each stroke is one undo step. `MaskPainter` is the dialog around it. Running
goes through `genstudio.batch.restore.restore_folder` on the one file, with the painted mask saved as a PNG in the
output folder's `masks/` (so the result carries provenance naming it, and `genstudio reproduce` remakes it): the
app gives the command line's pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

UNDO_LIMIT = 50
TASKS = ("inpaint", "denoise", "upscale")


class MaskCanvas(QWidget):
    """The image with a paintable mask (white = fill) at the image's own size; drawn scaled to the widget."""

    changed = Signal()

    def __init__(self, image: QImage, parent: QWidget | None = None):
        super().__init__(parent)
        self.image = image.convertToFormat(QImage.Format.Format_RGB888)
        self.mask = QImage(self.image.size(), QImage.Format.Format_Grayscale8)
        self.mask.fill(0)
        self.brush = 12  # pixels of the image
        self.erasing = False
        self.undo_stack: list[QImage] = []
        self._last: QPoint | None = None
        self.setMinimumSize(256, 256)

    # -- state --------------------------------------------------------------------------------------------------

    def mask_array(self) -> np.ndarray:
        """H x W uint8, 255 where the picture is to be filled."""
        width, height = self.mask.width(), self.mask.height()
        bits = np.frombuffer(self.mask.constBits(), np.uint8).reshape(height, self.mask.bytesPerLine())
        return bits[:, :width].copy()

    def undo(self) -> None:
        if self.undo_stack:
            self.mask = self.undo_stack.pop()
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        self._remember()
        self.mask.fill(0)
        self.update()
        self.changed.emit()

    def _remember(self) -> None:
        self.undo_stack.append(self.mask.copy())
        del self.undo_stack[:-UNDO_LIMIT]

    # -- painting -----------------------------------------------------------------------------------------------

    def _scale(self) -> float:
        return min(self.width() / max(1, self.image.width()), self.height() / max(1, self.image.height()))

    def to_image(self, point) -> QPoint:
        scale = self._scale()
        return QPoint(int(point.x() / scale), int(point.y() / scale))

    def stroke(self, start: QPoint, end: QPoint) -> None:
        """Paint (or erase) a line of the brush's width between two image points."""
        painter = QPainter(self.mask)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        colour = QColor(0, 0, 0) if self.erasing else QColor(255, 255, 255)
        painter.setPen(QPen(colour, self.brush, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        if start == end:  # a click: a round dab (a zero-length line draws nothing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(start) + QPointF(0.5, 0.5), self.brush / 2, self.brush / 2)
        else:
            painter.drawLine(start, end)
        painter.end()
        self.update()
        self.changed.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._remember()
            self._last = self.to_image(event.position())
            self.stroke(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            point = self.to_image(event.position())
            self.stroke(self._last, point)
            self._last = point

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._last = None

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        scale = self._scale()
        painter.scale(scale, scale)
        painter.drawImage(0, 0, self.image)
        overlay = QImage(self.mask.size(), QImage.Format.Format_ARGB32)
        overlay.fill(QColor(255, 0, 0))
        overlay.setAlphaChannel(self.mask.convertToFormat(QImage.Format.Format_Alpha8))
        painter.setOpacity(0.5)
        painter.drawImage(0, 0, overlay)
        painter.end()


class MaskPainter(QDialog):
    """Paint a mask, pick a restorer and a task, run, compare before / after."""

    def __init__(self, image_path: str | Path, out_dir: str | Path, model: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Restore image")
        self.image_path = Path(image_path)
        self.out_dir = Path(out_dir)
        self.result_path: Path | None = None
        self.error: str = ""
        self.canvas = MaskCanvas(QImage(str(self.image_path)))
        self.model = QLineEdit(model)
        self.model.setPlaceholderText("restorer model folder")
        self.task = QComboBox()
        self.task.addItems(TASKS)
        self.brush = QSpinBox()
        self.brush.setRange(1, 256)
        self.brush.setValue(self.canvas.brush)
        self.brush.valueChanged.connect(lambda value: setattr(self.canvas, "brush", value))
        self.eraser = QCheckBox("Eraser")
        self.eraser.toggled.connect(lambda on: setattr(self.canvas, "erasing", on))
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.before = QLabel()
        self.after = QLabel()
        self.status = QLabel()
        tools = QHBoxLayout()
        for widget in (QLabel("Model"), self.model, QLabel("Task"), self.task, QLabel("Brush"), self.brush,
                       self.eraser, self.undo_button, self.run_button):
            tools.addWidget(widget)
        compare = QHBoxLayout()
        compare.addWidget(self.before)
        compare.addWidget(self.after)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(compare)
        layout.addWidget(self.status)

    def run(self) -> Path | None:
        """Restore the image with the painted mask (inpaint) into the output folder; shows before / after. Returns
        the result's path, or None with the one-line reason in the status line."""
        from PIL import Image

        from genstudio.batch.restore import restore_folder
        from genstudio.errors import UserError
        from genstudio.fileio import atomic_write_bytes, real_folder

        task = self.task.currentText()
        self.error = ""
        try:
            mask_path = None
            if task == "inpaint":
                import io

                masks = real_folder(self.out_dir / "masks")
                mask_path = masks / f"{self.image_path.stem}.png"
                buffer = io.BytesIO()
                Image.fromarray(self.canvas.mask_array()).save(buffer, "PNG")
                atomic_write_bytes(mask_path, buffer.getvalue())
            summary = restore_folder(self.model.text().strip(), [self.image_path], self.out_dir, task=task,
                                     mask=mask_path, workers=1, overwrite=True)
            if summary.failed:
                raise UserError(summary.failed[0]["reason"])
        except UserError as exc:
            self.error = str(exc)
            self.status.setText(f"error: {exc}")
            return None
        self.result_path = self.out_dir / f"{self.image_path.stem}.png"
        self.before.setPixmap(QPixmap(str(self.image_path)).scaledToHeight(160))
        self.after.setPixmap(QPixmap(str(self.result_path)).scaledToHeight(160))
        self.status.setText(f"{task}: {self.result_path}")
        return self.result_path
