"""The gallery: a thin view of `genstudio.history.History` (every result the app made, kept across restarts).

`HistoryListModel` is the item model (newest first, filtered by model and operation, thumbnails loaded lazily);
`GalleryPanel` shows it as a grid of thumbnails with the actions on a chosen set: show on the canvas, reuse
settings / reuse seed, save selection / save all, contact sheet, animated GIF or WebP, forget. `ProvenanceTable`
shows how an image was made as a table of fields. The window connects the panel's signals (see main_window).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.gui.content import CanvasImage, provenance_rows
from genstudio.history import THUMB_SIDE, Entry, History, model_title

ROLE_ENTRY = Qt.ItemDataRole.UserRole + 1
FOLDER_KEY = "gallery.last_folder"  # settings key: where the last save / export went
ANIMATION_FPS = 4.0  # frames per second of an exported animation; the last frame is held a second longer


# ---------------------------------------------------------------------------------------------------------------
# Where saves go


def last_folder() -> Path:
    """The folder the last save went to; else the output folder from Settings; else the pictures folder."""
    import platformdirs

    from genstudio.settings import Settings

    try:
        settings = Settings.load()
    except UserError:
        settings = None
    for key in (FOLDER_KEY, "gui.output_folder"):  # the second: Settings… → output folder
        value = settings.get(key) if settings is not None else None
        if isinstance(value, str) and value and Path(value).is_dir():
            return Path(value)
    pictures = Path(platformdirs.user_pictures_dir())
    return pictures if pictures.is_dir() else Path.cwd()


def remember_folder(path: str | Path) -> None:
    """Remember the folder of `path` (a file or a folder) for the next save dialog."""
    from genstudio.settings import Settings

    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    with contextlib.suppress(UserError, OSError):  # an unreadable settings file is reported in Settings…
        Settings.load().set(FOLDER_KEY, str(folder))


def copy_entries(entries: list[Entry], folder: str | Path) -> list[Path]:
    """Copy the entries' files (with a JPEG/WebP's provenance sidecar) into `folder`, never over a file."""
    from genstudio.batch.writer import sidecar
    from genstudio.fileio import atomic_write_bytes, real_folder
    from genstudio.history import unique_target

    target_folder = real_folder(folder)
    written = []
    for entry in entries:
        if entry.missing:
            continue
        target = unique_target(target_folder, entry.path.name)
        atomic_write_bytes(target, entry.path.read_bytes())
        side = sidecar(entry.path)
        if side.is_file():
            atomic_write_bytes(sidecar(target), side.read_bytes())
        written.append(target)
    return written


# ---------------------------------------------------------------------------------------------------------------
# The item model


class HistoryListModel(QAbstractListModel):
    """The history's entries, newest first, under a model / operation filter."""

    def __init__(self, history: History, parent=None):
        super().__init__(parent)
        self.history = history
        self.model_filter: str | None = None
        self.operation_filter: str | None = None
        self.entries: list[Entry] = []
        self._icons: dict[str, QIcon] = {}
        history.subscribe(self._history_event)
        self.refresh()

    def _history_event(self, event: str) -> None:
        """New results are inserted at the top (the selection and scroll position stay); anything else resets."""
        entries = list(reversed(self.history.filter(self.model_filter, self.operation_filter)))
        added = len(entries) - len(self.entries)
        if event == "added" and added > 0 and [entry.id for entry in entries[added:]] == [
                entry.id for entry in self.entries]:
            self.beginInsertRows(QModelIndex(), 0, added - 1)
            self.entries = entries
            self.endInsertRows()
        elif event == "added" and added == 0:
            return  # none of them passes the filter
        else:
            self.refresh()

    def set_filter(self, model: str | None, operation: str | None) -> None:
        self.model_filter, self.operation_filter = model, operation
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self.entries = list(reversed(self.history.filter(self.model_filter, self.operation_filter)))
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:  # the title, and what made it
            title = entry.title if len(entry.title) <= 22 else entry.title[:21] + "…"
            made = f"{entry.operation} · {entry.model_name}" if entry.model_name else entry.operation
            return f"{title}\n{made if len(made) <= 22 else made[:21] + '…'}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [entry.title, f"{entry.operation} · {entry.model_name or 'no model'}", entry.time.replace("T", " "),
                     str(entry.path)]
            if entry.job is not None:
                lines.append(f"from queued job {entry.job}")
            if entry.missing:
                lines.append("The file is missing (moved or deleted).")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and entry.missing:
            return QColor(150, 90, 90)
        if role == ROLE_ENTRY:
            return entry
        return None

    def _icon(self, entry: Entry) -> QIcon:
        icon = self._icons.get(entry.id)
        if icon is None:
            thumb = self.history.thumbnail(entry)
            pixmap = QPixmap(str(thumb)) if thumb is not None else QPixmap()
            if pixmap.isNull():
                pixmap = QPixmap(THUMB_SIDE, THUMB_SIDE)
                pixmap.fill(QColor(60, 40, 40))
            elif max(pixmap.width(), pixmap.height()) < THUMB_SIDE:  # tiny images: pixel-sharp, not blurred
                pixmap = pixmap.scaled(THUMB_SIDE, THUMB_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.FastTransformation)
            icon = self._icons[entry.id] = QIcon(pixmap)
        return icon

    def index_of(self, entry_id: str) -> QModelIndex:
        row = next((row for row, entry in enumerate(self.entries) if entry.id == entry_id), None)
        return self.index(row, 0) if row is not None else QModelIndex()


# ---------------------------------------------------------------------------------------------------------------
# The panel


class GalleryPanel(QWidget):
    """Thumbnails of every result, a filter and the actions on the selected set."""

    show_requested = Signal(list)  # [Entry]: show these on the canvas
    reuse_requested = Signal(object, bool)  # Entry, seed only
    entry_selected = Signal(object)  # the one selected Entry (its provenance is shown), or None
    message = Signal(str)
    error = Signal(str)

    def __init__(self, history: History, parent=None):
        super().__init__(parent)
        self.history = history
        self.model = HistoryListModel(history, self)
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.model_box = QComboBox()
        self.model_box.setToolTip("Show the results of one model (or backend) only.")
        self.operation_box = QComboBox()
        self.operation_box.setToolTip("Show the results of one operation only (generate, stylize, translate…).")
        for title, box in (("Model", self.model_box), ("Made by", self.operation_box)):
            filters.addWidget(QLabel(title))
            filters.addWidget(box, 1)
            box.currentIndexChanged.connect(self._filter_changed)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(mid);")
        filters.addWidget(self.count_label)
        layout.addLayout(filters)

        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.view.setGridSize(QSize(THUMB_SIDE + 32, THUMB_SIDE + 44))
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setWordWrap(True)
        self.view.doubleClicked.connect(lambda _index: self.show_selected())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        layout.addWidget(self.view, 1)

        buttons = QHBoxLayout()
        self.show_button = self._button("Show on canvas", self.show_selected,
                                        "Show the selected images on the canvas (Ctrl+Z brings back what it showed).")
        self.reuse_button = self._button("Reuse settings", lambda: self._reuse(False),
                                         "Select the model that made this image and fill the parameters with its "
                                         "settings, seed included.")
        self.seed_button = self._button("Reuse seed", lambda: self._reuse(True),
                                        "Put this image's seed in the seed box (locked) for the next Generate.")
        self.export_button = QToolButton()
        self.export_button.setText("Save / export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.save_selection_action = menu.addAction("Save selection…", self.save_selection)
        self.save_all_action = menu.addAction("Save all shown…", self.save_all)
        menu.addSeparator()
        self.sheet_action = menu.addAction("Contact sheet (PNG grid)…", self.export_contact_sheet)
        self.animation_action = menu.addAction("Animation (GIF or WebP)…", self.export_animation)
        self.export_button.setMenu(menu)
        self.forget_button = self._button("Forget", self.forget_selected,
                                          "Take the selected images out of the history; the copies the app kept are "
                                          "deleted, images in your own folders stay.")
        for widget in (self.show_button, self.reuse_button, self.seed_button, self.export_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.forget_button)
        layout.addLayout(buttons)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        history.subscribe(lambda _event: self._refill_filters())
        self._refill_filters()

    def _button(self, text: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        for button in (self.show_button, self.reuse_button, self.seed_button):
            menu.addAction(button.text(), button.click).setEnabled(button.isEnabled())
        menu.addSeparator()
        menu.addActions([self.save_selection_action, self.sheet_action, self.animation_action])
        menu.addSeparator()
        menu.addAction(self.forget_button.text(), self.forget_button.click).setEnabled(self.forget_button.isEnabled())
        menu.exec(self.view.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ filters and selection

    def _refill_filters(self) -> None:
        for box, values, everything, title in (
                (self.model_box, self.history.models(), "all models", model_title),
                (self.operation_box, self.history.operations(), "all operations", str)):
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(everything, None)
            for value in values:
                box.addItem(title(value), value)
                box.setItemData(box.count() - 1, value, Qt.ItemDataRole.ToolTipRole)
            box.setCurrentIndex(max(0, box.findData(current)) if current is not None else 0)
            box.blockSignals(False)
        self._filter_changed()

    def _filter_changed(self) -> None:
        model, operation = self.model_box.currentData(), self.operation_box.currentData()
        if (model, operation) != (self.model.model_filter, self.model.operation_filter):
            self.model.set_filter(model, operation)
        total = len(self.history.entries)
        shown = len(self.model.entries)
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} image(s)")
        self._update_buttons()

    def set_filter(self, model: str | None = None, operation: str | None = None) -> None:
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(model)) if model else 0)
        self.operation_box.setCurrentIndex(max(0, self.operation_box.findData(operation)) if operation else 0)

    def selected(self) -> list[Entry]:
        """The selected entries, oldest first (the order they were made in: an animation's frame order)."""
        rows = sorted((index.row() for index in self.view.selectionModel().selectedIndexes()), reverse=True)
        return [self.model.entries[row] for row in rows]

    def select(self, entries: list[Entry]) -> None:
        from PySide6.QtCore import QItemSelectionModel

        selection = self.view.selectionModel()
        selection.clearSelection()
        for entry in entries:
            index = self.model.index_of(entry.id)
            if index.isValid():
                selection.select(index, QItemSelectionModel.SelectionFlag.Select)
        if entries:
            self.view.scrollTo(self.model.index_of(entries[-1].id))
        self._update_buttons()

    def _selection_changed(self) -> None:
        self._update_buttons()
        chosen = self.selected()
        self.entry_selected.emit(chosen[0] if len(chosen) == 1 else None)

    def _update_buttons(self) -> None:
        chosen = self.selected()
        one = len(chosen) == 1
        seeded = one and isinstance((chosen[0].record or {}).get("parameters"), dict) and \
            "seed" in chosen[0].record["parameters"]
        self.show_button.setEnabled(bool(chosen))
        self.reuse_button.setEnabled(one and chosen[0].record is not None)
        self.seed_button.setEnabled(bool(seeded))
        for action in (self.save_selection_action, self.sheet_action):
            action.setEnabled(bool(chosen))
        self.animation_action.setEnabled(len(chosen) >= 2)
        self.save_all_action.setEnabled(bool(self.model.entries))
        self.forget_button.setEnabled(bool(chosen))

    # ------------------------------------------------------------------ actions

    def show_selected(self) -> None:
        chosen = [entry for entry in self.selected() if not entry.missing]
        if chosen:
            self.show_requested.emit(chosen)
        elif self.selected():
            self.error.emit("the selected images' files are missing (moved or deleted)")

    def _reuse(self, seed_only: bool) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self.reuse_requested.emit(chosen[0], seed_only)

    def forget_selected(self) -> int:
        count = self.history.remove(entry.id for entry in self.selected())
        if count:
            self.message.emit(f"{count} image(s) forgotten (images in your own folders stay where they are)")
        return count

    def save_selection(self, folder: str | None = None) -> list[Path]:
        return self._save(self.selected(), folder)

    def save_all(self, folder: str | None = None) -> list[Path]:
        return self._save(list(reversed(self.model.entries)), folder)

    def _save(self, entries: list[Entry], folder: str | None) -> list[Path]:
        if not entries:
            return []
        folder = folder or QFileDialog.getExistingDirectory(self, f"Save {len(entries)} image(s) into",
                                                            str(last_folder()))
        if not folder:
            return []
        try:
            written = copy_entries(entries, folder)
        except (UserError, OSError) as exc:
            self.error.emit(str(exc))
            return []
        remember_folder(folder)
        skipped = len(entries) - len(written)
        self.message.emit(f"saved {len(written)} image(s) into {folder}"
                          + (f"; {skipped} missing file(s) passed over" if skipped else ""))
        return written

    def export_contact_sheet(self, path: str | None = None) -> Path | None:
        from genstudio.fileio import atomic_write_bytes, real_folder
        from genstudio.history import contact_sheet
        from genstudio.provenance import png_bytes

        entries = [entry for entry in self.selected() if not entry.missing]
        if not entries:
            return None
        path = path or QFileDialog.getSaveFileName(self, "Contact sheet", str(last_folder() / "contact-sheet.png"),
                                                   "PNG image (*.png)")[0]
        if not path:
            return None
        target = Path(path).with_suffix(".png")
        try:
            pixels = contact_sheet([entry.path for entry in entries], captions=[entry.title for entry in entries])
            record = {"operation": "contact-sheet", "sources": [str(entry.path) for entry in entries]}
            atomic_write_bytes(real_folder(target.parent) / target.name, png_bytes(pixels, record))
        except (UserError, OSError) as exc:
            self.error.emit(str(exc))
            return None
        remember_folder(target)
        self.message.emit(f"saved a contact sheet of {len(entries)} image(s): {target}")
        return target

    def export_animation(self, path: str | None = None) -> Path | None:
        from genstudio.animation import save_animation
        from genstudio.history import animation_frames

        entries = [entry for entry in self.selected() if not entry.missing]
        if len(entries) < 2:
            self.error.emit("select at least two images (of one size) for an animation")
            return None
        path = path or QFileDialog.getSaveFileName(self, "Animation", str(last_folder() / "animation.gif"),
                                                   "Animated GIF (*.gif);;Animated WebP (*.webp)")[0]
        if not path:
            return None
        target = Path(path) if Path(path).suffix.lower() in (".gif", ".webp") else Path(path).with_suffix(".gif")
        try:
            frames = animation_frames([entry.path for entry in entries])
            save_animation(frames, target, fps=ANIMATION_FPS, hold_last=1.0,
                           record={"operation": "animation", "frames": [str(entry.path) for entry in entries]})
        except (UserError, OSError) as exc:
            self.error.emit(str(exc))
            return None
        remember_folder(target)
        self.message.emit(f"saved a {len(entries)}-frame animation: {target}")
        return target


# ---------------------------------------------------------------------------------------------------------------
# Provenance as a table


class ProvenanceTable(QTableWidget):
    """How the selected image was made: one row per field (plain text; the record is untrusted)."""

    PLACEHOLDER = "Select one image, on the canvas or in the gallery, to see how it was made."

    def __init__(self, parent=None):
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Field", "Value"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().hide()  # field | value needs no header; rows stay compact so more of them show
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.image: CanvasImage | None = None
        self.set_image(None)

    def set_image(self, image: CanvasImage | None) -> None:
        self.image = image
        rows: list[tuple[str, str]] = []
        if image is None:
            rows = [(self.PLACEHOLDER, "")]
        else:
            rows.append(("Title", image.title))
            rows += provenance_rows(image.record) or [("", "No genstudio provenance in this image.")]
            if image.path is not None:
                rows.append(("File", str(image.path)))
            elif isinstance(image.meta.get("history_file"), str):
                rows.append(("Kept as", image.meta["history_file"]))
        self.clearSpans()
        self.setRowCount(len(rows))
        if image is None:
            self.setSpan(0, 0, 1, 2)  # the placeholder across the table
        for row, (name, value) in enumerate(rows):
            for column, text in enumerate((name, value)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.setItem(row, column, item)

    def toPlainText(self) -> str:
        """The image's provenance as text (the JSON record): what "Copy" puts on the clipboard."""
        return self.image.describe() if self.image is not None else ""

    def rows(self) -> list[tuple[str, str]]:
        return [(self.item(row, 0).text(), self.item(row, 1).text()) for row in range(self.rowCount())]
