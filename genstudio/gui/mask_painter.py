"""Restore one image in the app (Tools › Restore…, Ctrl+R, the canvas's context menu): paint a mask on it (brush
size, eraser, undo, clear), then inpaint, denoise or upscale it with a restorer and compare before and after.

`MaskCanvas` is the painting widget: the image with the mask drawn over it in translucent red; left drag paints
(or erases, with the eraser on), each stroke is one undo step. `MaskPainter` is the dialog around it: it runs
`genstudio.batch.restore.restore_image` (the pipeline of `genstudio restore` on the one file, the painted mask kept
in the app's data folder so the result's provenance names it and `genstudio reproduce` remakes it) on a
thread-pool task, so the window stays live, and emits `restored` with the result. `open_restore` opens it for the
window's selected image (the canvas's, or the gallery's when the Gallery tab is shown); the result goes into the
history and opens beside the original in the canvas's before/after split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.gui.qimages import to_qimage
from genstudio.gui.sampling import Generated, Source
from genstudio.gui.workers import Task

UNDO_LIMIT = 50
PREVIEW_HEIGHT = 140
INPAINT = "inpaint"


class MaskCanvas(QWidget):
    """The image with a paintable mask (white = fill) at the image's own size; drawn scaled and centred."""

    changed = Signal()

    def __init__(self, pixels: np.ndarray, parent: QWidget | None = None):
        super().__init__(parent)
        self.image = to_qimage(pixels).convertToFormat(QImage.Format.Format_RGB888)
        self.mask = QImage(self.image.size(), QImage.Format.Format_Grayscale8)
        self.mask.fill(0)
        self.brush = max(2, min(self.image.width(), self.image.height()) // 12)  # pixels of the image
        self.erasing = False
        self.painting = True  # False while the task takes no mask: the canvas only shows the image
        self.undo_stack: list[QImage] = []
        self._last: QPoint | None = None
        self.setMinimumSize(320, 320)
        self.setCursor(Qt.CursorShape.CrossCursor)

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

    def _origin(self) -> QPointF:
        """Where the image's top-left corner is drawn (the image is centred in the widget)."""
        scale = self._scale()
        return QPointF((self.width() - self.image.width() * scale) / 2,
                       (self.height() - self.image.height() * scale) / 2)

    def to_image(self, point) -> QPoint:
        scale, origin = self._scale(), self._origin()
        return QPoint(int((point.x() - origin.x()) / scale), int((point.y() - origin.y()) / scale))

    def to_widget(self, x: float, y: float) -> QPoint:
        """The widget point at the centre of image pixel (x, y)."""
        scale, origin = self._scale(), self._origin()
        return QPoint(int(origin.x() + (x + 0.5) * scale), int(origin.y() + (y + 0.5) * scale))

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
        if event.button() == Qt.MouseButton.LeftButton and self.painting:
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
        scale, origin = self._scale(), self._origin()
        target = QRectF(origin.x(), origin.y(), self.image.width() * scale, self.image.height() * scale)
        painter.drawImage(target, self.image)
        if self.painting:
            painter.drawImage(target, self._overlay())
        painter.end()

    def _overlay(self) -> QImage:
        """The mask as half-transparent red where painted, clear elsewhere (a greyscale image converts to an
        opaque alpha channel, so the overlay is built from the mask's values)."""
        mask = self.mask_array()
        overlay = np.zeros((*mask.shape, 4), np.uint8)
        overlay[..., 0] = 255
        overlay[..., 3] = mask // 2
        return to_qimage(overlay)


def _preview(pixmap: QPixmap) -> QPixmap:
    return pixmap.scaledToHeight(PREVIEW_HEIGHT, Qt.TransformationMode.SmoothTransformation)


class MaskPainter(QDialog):
    """Pick a restorer and a task, paint a mask (inpaint), run on a worker thread, compare before / after."""

    restored = Signal(object)  # genstudio.gui.sampling.Generated: the result's pixels, title and provenance

    def __init__(self, image_path: str | Path, sources: list[Source], parent: QWidget | None = None, *,
                 title: str = ""):
        from genstudio.data import open_image

        super().__init__(parent)
        self.image_path = Path(image_path)
        self.title = title or self.image_path.name
        self.setWindowTitle(f"Restore {self.title}")
        self.sources = list(sources)
        self.task: Task | None = None
        self.result: Generated | None = None
        self.error = ""
        pixels = np.asarray(open_image(self.image_path, "RGB"))  # through the format allowlist
        self.canvas = MaskCanvas(pixels)
        self.model = QComboBox()
        self.model.setMinimumContentsLength(18)
        self.model.setToolTip("The restorer: a trained restore model, or a restorer backend picked in the library")
        self.browse_button = QPushButton("Other model…")
        self.browse_button.setToolTip("Pick a trained restorer's model folder")
        self.browse_button.clicked.connect(self.browse)
        self.task_box = QComboBox()
        self.task_box.setToolTip("inpaint fills what you paint; denoise and upscale take the whole image")
        self.brush = QSpinBox()
        self.brush.setRange(1, 512)
        self.brush.setSuffix(" px")
        self.brush.setValue(self.canvas.brush)
        self.brush.setToolTip("Brush size, in the image's pixels")
        self.brush.valueChanged.connect(lambda value: setattr(self.canvas, "brush", value))
        self.eraser = QCheckBox("Eraser")
        self.eraser.toggled.connect(lambda on: setattr(self.canvas, "erasing", on))
        self.undo_button = QPushButton("Undo")
        self.undo_button.setShortcut("Ctrl+Z")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.before = QLabel()
        self.before.setPixmap(_preview(QPixmap.fromImage(self.canvas.image)))
        self.after = QLabel("The result appears here, and beside the original on the canvas.")
        self.after.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._build_layout()
        for source in self.sources:
            self._add_source(source)
        self.model.currentIndexChanged.connect(self._source_changed)
        self.task_box.currentTextChanged.connect(self._task_changed)
        self._source_changed()

    def _build_layout(self) -> None:
        first = QHBoxLayout()
        for widget in (QLabel("Restorer"), self.model, self.browse_button, QLabel("Task"), self.task_box):
            first.addWidget(widget)
        first.addStretch(1)
        first.addWidget(self.run_button)
        second = QHBoxLayout()
        for widget in (QLabel("Brush"), self.brush, self.eraser, self.undo_button, self.clear_button):
            second.addWidget(widget)
        second.addStretch(1)
        compare = QHBoxLayout()
        for text, label in (("Before", self.before), ("After", self.after)):
            column = QVBoxLayout()
            column.addWidget(QLabel(text))
            column.addWidget(label, 1)
            compare.addLayout(column)
        compare.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(compare)
        layout.addWidget(self.status)
        self.resize(760, 760)

    # -- the restorer and the task ------------------------------------------------------------------------------

    def _add_source(self, source: Source) -> None:
        self.model.addItem(source.title, source)
        self.model.setItemData(self.model.count() - 1, source.target, Qt.ItemDataRole.ToolTipRole)

    def current_source(self) -> Source | None:
        return self.model.currentData()

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Restorer model folder")
        if folder:
            self.add_model_folder(folder)

    def add_model_folder(self, folder: str | Path) -> bool:
        """Add a trained restorer's folder to the list and pick it; False (the reason in the status) otherwise."""
        from genstudio.backends import BackendKind
        from genstudio.gui.settings_dialog import app_device
        from genstudio.models import resolve_target

        try:
            target = resolve_target(str(folder), (BackendKind.RESTORER,), "a restorer")
        except UserError as exc:
            self._show_error(str(exc))
            return False
        self._add_source(Source(target.spec.id, Path(folder).resolve(), device=app_device()))
        self.model.setCurrentIndex(self.model.count() - 1)
        return True

    def _source_changed(self, *_args) -> None:
        """The task list follows the restorer: the tasks it can be asked for (what a model learnt)."""
        from genstudio.backends import BackendKind
        from genstudio.batch.restore import usable_tasks
        from genstudio.models import resolve_target

        source = self.current_source()
        previous = self.task_box.currentText()
        self.task_box.blockSignals(True)
        self.task_box.clear()
        self.status.clear()
        if source is None:
            self._show_error("No restorer yet: train one (Train… with the restore backend), pick one with "
                             "Other model…, or select latent-inpaint in the library.")
        else:
            try:
                target = resolve_target(source.target, (BackendKind.RESTORER,), "a restorer",
                                        config=dict(source.config) if source.folder is None else None)
                self.task_box.addItems(list(usable_tasks(target.spec, target.settings)))
            except UserError as exc:
                self._show_error(str(exc))
        if previous and self.task_box.findText(previous) >= 0:
            self.task_box.setCurrentText(previous)
        self.task_box.blockSignals(False)
        self._task_changed(self.task_box.currentText())

    def _task_changed(self, task: str) -> None:
        painting = task == INPAINT
        self.canvas.painting = painting
        self.canvas.update()
        for widget in (self.brush, self.eraser, self.undo_button, self.clear_button):
            widget.setEnabled(painting)
        self.run_button.setEnabled(bool(task) or self.running)
        if painting:
            self.status.setText("Paint over what is to be filled, then Run.")
        elif task:
            self.status.setText(f"{task.capitalize()} takes the whole image: Run.")

    # -- running ------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done.is_set()

    def run(self) -> Task | None:
        """Restore the image on a worker thread (a second press stops it); `restored` carries the result."""
        from genstudio.batch.restore import restore_image

        if self.running:
            self.task.abort()
            return None
        source, task_name = self.current_source(), self.task_box.currentText()
        if source is None or not task_name:
            return None
        mask = self.canvas.mask_array() if task_name == INPAINT else None
        if mask is not None and not mask.any():
            self._show_error("Paint over what is to be filled first (the mask is empty).")
            return None
        image, config = self.image_path, dict(source.config) if source.folder is None else None

        def work(emit, abort):
            pixels, record = restore_image(source.target, image, task=task_name, mask=mask, config=config,
                                           device=source.device, progress=emit, abort=abort)
            return Generated(pixels, f"{self.title} · {task_name}", record)

        self.error = ""
        self.task = Task(work)
        self.task.signals.item.connect(self._progress)
        self.task.signals.finished.connect(self._finished)
        self.task.signals.failed.connect(lambda text: (self._show_error(text), self._ended()))
        self.task.signals.cancelled.connect(lambda: (self.status.setText("stopped"), self._ended()))
        self.task.start()
        self.run_button.setText("Stop")
        self.status.setText(f"{task_name} with {source.title}…")
        return self.task

    def _progress(self, event: Any) -> None:
        if getattr(event, "kind", "") == "progress" and event.total:
            self.status.setText(f"{event.task}: {event.done:.0f} / {event.total:.0f}")

    def _finished(self, result: Generated) -> None:
        self.result = result
        self.after.setPixmap(_preview(QPixmap.fromImage(to_qimage(result.pixels))))
        height, width = result.pixels.shape[:2]
        self.status.setText(f"{result.title}: {width} x {height}, kept in the gallery")
        self._ended()
        self.restored.emit(result)

    def _ended(self) -> None:
        self.run_button.setText("Run")
        self.run_button.setEnabled(bool(self.task_box.currentText()))

    def _show_error(self, text: str) -> None:
        from genstudio.wording import for_app

        self.error = for_app(text, None)
        self.status.setText(f"⚠ {self.error}")

    def closeEvent(self, event) -> None:
        if self.running:
            self.task.abort()
        super().closeEvent(event)


# -- the main window's action --------------------------------------------------------------------------------------


def restorer_sources(window: Any) -> list[Source]:
    """The restorers to offer: the library's selection when it is one (a backend with its parameters form's
    settings, or a model), then every trained restorer model the library lists."""
    from genstudio.backends import BackendKind
    from genstudio.gui.library import ROLE_KIND, ROLE_PAYLOAD
    from genstudio.gui.settings_dialog import app_device

    sources: list[Source] = []
    selection = window.selection
    current = window.current_source()
    if current is not None and selection[1].kind == BackendKind.RESTORER and \
            not (selection[1].capabilities.trainable and current.folder is None):
        sources.append(current)
    stack = [window.library_model.invisibleRootItem()]
    while stack:
        parent = stack.pop(0)
        for row in range(parent.rowCount()):
            child = parent.child(row)
            stack.append(child)
            entry = child.data(ROLE_PAYLOAD)
            if child.data(ROLE_KIND) != "model" or entry.error or entry.training:
                continue
            spec = window.registry.backends.get(entry.backend)
            if spec is not None and spec.kind == BackendKind.RESTORER and \
                    all(source.folder != entry.folder for source in sources):
                sources.append(Source(spec.id, entry.folder, device=app_device()))
    return sources


def selected_image(window: Any) -> Any:
    """The image the action works on: the gallery's one selected entry while the Gallery tab is shown, else the
    canvas's selected image; None when there is none."""
    from genstudio.gui.content import CanvasImage

    if window.tabs.currentWidget() is window.gallery:
        entries = window.gallery.selected()
        if len(entries) == 1 and not entries[0].missing:
            image = CanvasImage.from_file(entries[0].path)
            image.title = entries[0].title or image.title
            return image
        return None
    return window.content.current


def open_restore(window: Any) -> MaskPainter | None:
    """Tools › Restore…: the dialog for the selected image; its result goes into the history and opens beside the
    original in the canvas's before/after split (undoable)."""
    from genstudio.gui.sampling import save_content

    before = selected_image(window)
    if before is None:
        window.show_message("Select an image first: on the canvas (File › Open images…), or one in the gallery.")
        return None
    try:
        path = before.path if before.path is not None else save_content(before.pixels, before.record)
        dialog = MaskPainter(path, restorer_sources(window), parent=window, title=before.title)
    except (UserError, OSError) as exc:
        window.show_error(str(exc))
        return None
    dialog.restored.connect(lambda made: _restored(window, before, made))
    dialog.show()
    window.explorers.append(dialog)  # closed with the window
    return dialog


def _restored(window: Any, before: Any, made: Generated) -> None:
    from genstudio.gui.content import CanvasImage

    after = CanvasImage(made.title, made.pixels, None, made.record)
    window.record_images([after])
    window.edits.compare([before, after], 0, 1, f"Restore {before.title}")
    window.tabs.setCurrentWidget(window.canvas)
    window.show_message(f"restored {before.title}: drag on the image to move the before/after divider")
