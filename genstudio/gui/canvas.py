"""The canvas: a QGraphicsView over `CanvasContent` (grid, single image or before/after split).

Wheel zooms (under the cursor), dragging pans, a click selects an image, a double click toggles grid/single.
Images and folders dropped onto it are added. The view holds no state of its own beyond pixmaps and zoom.
`CanvasEdits` is the undo stack of what the canvas shows (show a new set, remove, clear).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPixmap, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from genstudio.gui.content import CanvasContent, CanvasImage, CanvasState, images_in
from genstudio.gui.qimages import load_pixmap, to_qimage

CELL = 160  # grid cell side in scene units: small images are scaled up to it (pixel-sharp), large ones down
GAP = 12
CAPTION = 18
IMAGE_MIME = "application/x-genstudio-image"  # JSON: the dragged image's provenance parameters and title
EMPTY_TEXT = ("Nothing on the canvas yet.\n\n"
              "Press Try it to generate images right away, pick a backend or a trained model\n"
              "in the library and press Generate, or drop images or folders here.")


class ContentEdit(QUndoCommand):
    """One change of what the canvas shows. Undo puts back the snapshot taken before; redo puts back the one
    taken at undo time (so images that streamed in after the change, a Generate's, come back too)."""

    def __init__(self, content: CanvasContent, text: str, change: Callable[[CanvasContent], None]):
        super().__init__(text)
        self.content, self.change = content, change
        self.before = content.state()
        self.after: CanvasState | None = None

    def redo(self) -> None:
        if self.after is None:
            self.change(self.content)
        else:
            self.content.restore(self.after)

    def undo(self) -> None:
        self.after = self.content.state()
        self.content.restore(self.before)


class CanvasEdits(QUndoStack):
    """Undo/redo for the canvas: every change of the shown set goes through here."""

    def __init__(self, content: CanvasContent, parent=None):
        super().__init__(parent)
        self.content = content
        self.setUndoLimit(100)

    def edit(self, text: str, change: Callable[[CanvasContent], None]) -> None:
        self.push(ContentEdit(self.content, text, change))

    def show(self, images: Iterable[CanvasImage], text: str = "Show images") -> list[CanvasImage]:
        """Replace the shown set (undoable); returns the list the canvas now holds, which later `content.add`
        calls extend while nothing else has replaced it."""
        images = list(images)
        self.edit(text, lambda content: content.set_images(images))
        return self.content.images

    def compare(self, images: list[CanvasImage], before: int, after: int, text: str = "Compare") -> None:
        def change(content: CanvasContent) -> None:
            content.set_images(images)
            content.select(after)
            content.compare(before, after)

        self.edit(text, change)

    def remove_selected(self) -> bool:
        index = self.content.selected
        if index is None:
            return False
        self.edit(f"Remove {self.content.images[index].title or 'image'}", lambda content: content.remove([index]))
        return True

    def clear(self) -> bool:
        if not self.content.images:
            return False
        self.edit("Clear canvas", lambda content: content.clear())
        return True


def pixmap_of(image: CanvasImage) -> QPixmap:
    if image.pixels is not None:
        return QPixmap.fromImage(to_qimage(image.pixels))
    if image.path is not None:
        return load_pixmap(image.path)
    return QPixmap()


class SplitItem(QGraphicsItem):
    """Before (left of the divider) and after (right of it); drag anywhere on it to move the divider."""

    def __init__(self, before: QPixmap, after: QPixmap):
        super().__init__()
        self.before, self.after = before, after
        if after.size() != before.size() and not after.isNull():
            self.after = after.scaled(before.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
        self.fraction = 0.5
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.SplitHCursor)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.before.width(), self.before.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = self.boundingRect()
        x = rect.width() * self.fraction
        zoom = max(1e-3, painter.worldTransform().m11())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 4)  # photos smooth, pixels sharp
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawPixmap(QPointF(0, 0), self.before)
        painter.save()
        painter.setClipRect(QRectF(x, 0, rect.width() - x, rect.height()))
        painter.drawPixmap(QPointF(0, 0), self.after)
        painter.restore()
        unit = 1 / zoom  # one screen pixel: the divider looks the same at any zoom
        painter.setPen(QPen(QColor("white"), 2 * unit))
        painter.drawLine(QPointF(x, 0), QPointF(x, rect.height()))
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.setPen(QPen(QColor(40, 40, 40, 160), unit))
        painter.drawEllipse(QPointF(x, rect.height() / 2), 9 * unit, 9 * unit)
        painter.setPen(QPen(QColor(60, 60, 60), 1.5 * unit))
        for sign in (-1, 1):  # a small double arrow on the handle
            tip = QPointF(x + sign * 6 * unit, rect.height() / 2)
            painter.drawLine(tip, QPointF(x + sign * 2.5 * unit, rect.height() / 2 - 3.5 * unit))
            painter.drawLine(tip, QPointF(x + sign * 2.5 * unit, rect.height() / 2 + 3.5 * unit))
        painter.setPen(QColor(255, 255, 255))
        font = painter.font()
        font.setPointSizeF(9 * unit)
        painter.setFont(font)
        painter.drawText(QPointF(6 * unit, 14 * unit), "before")
        painter.drawText(QPointF(rect.width() - 40 * unit, 14 * unit), "after")

    def set_fraction(self, fraction: float) -> None:
        self.fraction = min(1.0, max(0.0, fraction))
        self.update()

    def mousePressEvent(self, event) -> None:
        self.set_fraction(event.pos().x() / max(1, self.before.width()))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        self.set_fraction(event.pos().x() / max(1, self.before.width()))


class Canvas(QGraphicsView):
    """A thin view of a `CanvasContent`."""

    zoom_changed = Signal(float)

    def __init__(self, content: CanvasContent, parent=None):
        super().__init__(parent)
        self.content = content
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # pixel-sharp when zoomed in
        self.setBackgroundBrush(QBrush(QColor(38, 40, 44)))
        self.setAcceptDrops(True)
        self.setMinimumSize(320, 240)
        self._pixmaps: dict[int, QPixmap] = {}  # id(CanvasImage) -> pixmap
        self._items: list[QGraphicsPixmapItem] = []
        self.split_item: SplitItem | None = None
        self._highlight: QGraphicsRectItem | None = None
        self._auto_fit = True
        self._press = None
        self._drag_from = None
        self.columns: int | None = None  # fixed grid columns (the latent strip: one row); None: about square
        self.edits: CanvasEdits | None = None  # the undo stack drops and opened files go through, when set
        from PySide6.QtCore import QTimer

        self._pending = QTimer(self)  # images arriving one by one are laid out together, a few times a second
        self._pending.setSingleShot(True)
        self._pending.setInterval(40)
        self._pending.timeout.connect(self._rebuild)
        content.subscribe(self._on_content)
        self._rebuild()

    # ------------------------------------------------------------------ model events

    def _on_content(self, event: str) -> None:
        if event in ("reset", "mode"):
            self._auto_fit = True
            if event == "reset":
                self._pixmaps.clear()
        if event == "selection":
            if self.content.mode == "single":
                self._rebuild()
            else:
                self._place_highlight()
            return
        if event == "added":
            if not self._pending.isActive():
                self._pending.start()
            return
        self._rebuild()

    def flush(self) -> None:
        """Lay out images added since the last layout now (tests; before reading the scene)."""
        if self._pending.isActive():
            self._pending.stop()
            self._rebuild()

    def _pixmap(self, image: CanvasImage) -> QPixmap:
        key = id(image)
        if key not in self._pixmaps:
            self._pixmaps[key] = pixmap_of(image)
        return self._pixmaps[key]

    def _rebuild(self) -> None:
        self._pending.stop()
        scene = self.scene()
        scene.clear()
        self._items, self.split_item, self._highlight = [], None, None
        content = self.content
        if not content.images:
            text = scene.addText(EMPTY_TEXT, QFont(self.font().family(), 12))
            text.setDefaultTextColor(QColor(170, 174, 182))
            scene.setSceneRect(text.boundingRect().adjusted(-40, -40, 40, 40))
            self.resetTransform()
            return
        if content.mode == "split" and content.split_pair:
            before, after = (content.images[i] for i in content.split_pair)
            self.split_item = SplitItem(self._pixmap(before), self._pixmap(after))
            scene.addItem(self.split_item)
        elif content.mode == "single":
            index = content.selected or 0
            item = scene.addPixmap(self._pixmap(content.images[index]))
            item.setData(0, index)
            self._items.append(item)
        else:
            self._layout_grid()
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-GAP, -GAP, GAP, GAP))
        self._place_highlight()
        if self._auto_fit:
            self.fit(auto=True)

    def _layout_grid(self) -> None:
        images = self.content.images
        columns = self.columns or max(1, math.ceil(math.sqrt(len(images) * 1.4)))  # a little wider than tall
        captions = any(image.title for image in images)
        for index, image in enumerate(images):
            pixmap = self._pixmap(image)
            item = QGraphicsPixmapItem(pixmap)
            side = max(1, pixmap.width(), pixmap.height())
            scale = CELL / side
            item.setScale(scale)
            item.setTransformationMode(Qt.TransformationMode.FastTransformation if scale >= 1
                                       else Qt.TransformationMode.SmoothTransformation)
            row, col = divmod(index, columns)
            x = col * (CELL + GAP) + (CELL - pixmap.width() * scale) / 2
            y = row * (CELL + GAP + (CAPTION if captions else 0)) + (CELL - pixmap.height() * scale) / 2
            item.setPos(x, y)
            item.setData(0, index)
            item.setToolTip(image.title)
            self.scene().addItem(item)
            self._items.append(item)
            if captions and image.title:
                caption = QGraphicsSimpleTextItem(self._elide(image.title))
                caption.setBrush(QColor(200, 204, 210))
                caption.setFont(QFont(self.font().family(), 8))
                width = caption.boundingRect().width()
                caption.setPos(col * (CELL + GAP) + (CELL - width) / 2, row * (CELL + GAP + CAPTION) + CELL + 2)
                caption.setData(0, index)
                self.scene().addItem(caption)

    def _elide(self, text: str) -> str:
        return text if len(text) <= 28 else text[:27] + "…"

    def _place_highlight(self) -> None:
        if self._pending.isActive():
            return  # the layout to come places it
        if self._highlight is not None:
            self.scene().removeItem(self._highlight)
            self._highlight = None
        index = self.content.selected
        if index is None or self.content.mode != "grid":
            return
        item = next((it for it in self._items if it.data(0) == index), None)
        if item is None:
            return
        self._highlight = self.scene().addRect(item.sceneBoundingRect().adjusted(-3, -3, 3, 3),
                                               QPen(QColor(80, 160, 255), 3))

    # ------------------------------------------------------------------ zoom and pan

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self, auto: bool = False) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.content.mode != "grid" and self.zoom > 8:  # a tiny single image: do not blow it up endlessly
            self.resetTransform()
            self.scale(8, 8)
        self._auto_fit = auto or self._auto_fit
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        """100%: one image pixel per screen pixel (in single and split modes; grid cells at their cell size)."""
        self.resetTransform()
        self._auto_fit = False
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        if 0.02 < self.zoom * factor < 64:
            self.scale(factor, factor)
            self._auto_fit = False
            self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.2 ** steps)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._auto_fit and self.content.images:
            self.fit(auto=True)

    # ------------------------------------------------------------------ selection

    def index_at(self, view_pos) -> int | None:
        for item in self.items(view_pos):
            index = item.data(0)
            if isinstance(index, int):
                return index
        return None

    def mousePressEvent(self, event) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.RightButton:  # the context menu acts on the image under the cursor
            index = self.index_at(pos)
            if index is not None:
                self.content.select(index)
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.index_at(pos) is not None:
            self._drag_from = pos  # Ctrl+drag takes the image out (to the latent explorer, other apps)
            return
        self._drag_from = None
        self._press = pos
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        start = self._drag_from
        if start is not None:
            if (event.position().toPoint() - start).manhattanLength() >= QApplication.startDragDistance():
                self._drag_from = None
                self.start_drag(self.index_at(start))
            return
        super().mouseMoveEvent(event)

    def drag_mime(self, index: int):
        """What dragging image `index` carries: its parameters (JSON), the file when there is one, the pixels."""
        import json

        from PySide6.QtCore import QMimeData, QUrl

        image = self.content.images[index]
        mime = QMimeData()
        parameters = (image.record or {}).get("parameters", {})
        mime.setData(IMAGE_MIME, json.dumps({"title": image.title, "parameters": parameters}).encode())
        if image.path is not None:
            mime.setUrls([QUrl.fromLocalFile(str(image.path))])
        mime.setImageData(self._pixmap(image).toImage())
        return mime

    def start_drag(self, index: int | None) -> None:
        from PySide6.QtGui import QDrag

        if index is None:
            return
        drag = QDrag(self)
        drag.setMimeData(self.drag_mime(index))
        pixmap = self._pixmap(self.content.images[index])
        drag.setPixmap(pixmap.scaled(64, 64, Qt.AspectRatioMode.KeepAspectRatio))
        drag.exec(Qt.DropAction.CopyAction)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        if self._press is not None and (pos - self._press).manhattanLength() < 4 and self.content.mode != "split":
            self.content.select(self.index_at(pos))
        self._press = None

    def mouseDoubleClickEvent(self, event) -> None:
        index = self.index_at(event.position().toPoint())
        if self.content.mode == "grid" and index is not None:
            self.content.select(index)
            self.content.set_mode("single")
        elif self.content.mode != "grid":
            self.content.set_mode("grid")

    def keyPressEvent(self, event) -> None:
        """Arrows move the selection, Enter shows it alone, Escape goes back to the grid, +/- zoom."""
        content, key = self.content, event.key()
        if not content.images:
            return super().keyPressEvent(event)
        count, current = len(content.images), content.selected
        columns = 1 if content.mode == "single" else (self.columns or max(1, math.ceil(math.sqrt(count * 1.4))))
        steps = {Qt.Key.Key_Right: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: columns, Qt.Key.Key_Up: -columns}
        if key in steps and content.mode != "split":
            content.select(0 if current is None else min(count - 1, max(0, current + steps[key])))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and current is not None:
            content.set_mode("single")
        elif key == Qt.Key.Key_Escape and content.mode != "grid":
            content.set_mode("grid")
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        else:
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ drag and drop, clipboard

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and event.source() is not self:
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls() and event.source() is not self:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        added = self.add_paths(paths)
        if added:
            event.acceptProposedAction()

    def add_paths(self, paths, edits: CanvasEdits | None = None) -> int:
        """Add the images among `paths` (files or folders), undoably with `edits` (or the view's `edits`);
        returns how many."""
        files = images_in(paths)
        images = [CanvasImage.from_file(path) for path in files]
        edits = edits or self.edits
        if images and edits is not None:
            edits.edit(f"Add {len(images)} image(s)", lambda content: content.add(images))
        else:
            self.content.add(images)
        return len(files)

    def copy_selected(self) -> bool:
        image = self.content.current
        if image is None:
            return False
        QApplication.clipboard().setPixmap(self._pixmap(image))
        return True
