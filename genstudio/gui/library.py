"""The library dock: plugins -> backends -> trained models, as a tree model over the plugin registry and the
model folders found on disk (`library_data`). Selecting a row tells the main window what is selected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeView, QVBoxLayout, QWidget

from genstudio.gui.library_data import ModelEntry, RunState, entry_label
from genstudio.gui.qimages import load_pixmap

ROLE_KIND = Qt.ItemDataRole.UserRole + 1  # "plugin" | "backend" | "model" | "folder"
ROLE_PAYLOAD = Qt.ItemDataRole.UserRole + 2  # plugin name | backend id | ModelEntry
OTHER_FOLDERS = "Other model folders"
THUMB = 40


def _item(text: str, kind: str, payload: Any, tooltip: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(kind, ROLE_KIND)
    item.setData(payload, ROLE_PAYLOAD)
    if tooltip:
        item.setToolTip(tooltip)
    return item


class LibraryModel(QStandardItemModel):
    """Rebuilt by `populate`; rows keep (kind, payload) in ROLE_KIND / ROLE_PAYLOAD."""

    populated = Signal()

    def populate(self, registry: Any, entries: list[ModelEntry], runs: dict[Path, str | RunState] | None = None
                 ) -> None:
        """`runs`: folder -> the backend (or the RunState, `library_data.queued_runs`) of training runs from the
        queue, so a run is listed under its backend before its model.json exists, and a failed one says so."""
        self.clear()
        self.setHorizontalHeaderLabels(["Library"])
        by_backend: dict[str, list[ModelEntry]] = {}
        self.runs = {folder: state if isinstance(state, RunState) else RunState(str(state), "")
                     for folder, state in (runs or {}).items()}
        for entry in entries:
            state = self.runs.get(entry.folder.resolve())
            backend = entry.backend or (state.backend if state else "")
            key = backend if backend in registry.backends else ""
            by_backend.setdefault(key, []).append(entry)
        root = self.invisibleRootItem()
        for name, record in sorted(registry.plugins.items(), key=lambda kv: (kv[1].source != "builtin", kv[0])):
            text = f"{name} {record.version}" + ("" if record.status == "loaded" else f" ({record.status})")
            plugin_item = _item(text, "plugin", name, f"{record.source}: {record.location}\n{record.error}".strip())
            if record.status == "failed":
                plugin_item.setForeground(QColor("#d9534f"))
            elif record.status == "disabled":
                plugin_item.setForeground(QColor("#8a8f98"))
            root.appendRow(plugin_item)
            for backend_id in record.backends:
                spec = registry.backends[backend_id]
                tip = f"{spec.description}\nkind: {spec.kind.value}"
                backend_item = _item(f"{spec.name}  [{spec.kind.value}]", "backend", backend_id, tip)
                plugin_item.appendRow(backend_item)
                for entry in by_backend.get(backend_id, []):
                    backend_item.appendRow(self._model_item(entry, self.runs.get(entry.folder.resolve())))
        others = by_backend.get("", [])
        if others:
            folder_item = _item(OTHER_FOLDERS, "folder", None, "Training runs still in progress, and model folders "
                                "whose backend is not installed.")
            root.appendRow(folder_item)
            for entry in others:
                folder_item.appendRow(self._model_item(entry, self.runs.get(entry.folder.resolve())))
        self.populated.emit()

    @staticmethod
    def _model_item(entry: ModelEntry, state: RunState | None = None) -> QStandardItem:
        failed = entry.training and state is not None and state.status == "failed"
        tip = f"{entry.folder}\n{entry.summary()}" + (f"\nfailed: {state.error}" if failed and state.error else "")
        item = _item(entry_label(entry, state), "model", entry, tip)
        if failed or entry.error:
            item.setForeground(QColor("#d9534f"))
        if entry.samples is not None:
            pixmap = load_pixmap(entry.samples, max_side=96)
            if not pixmap.isNull():
                item.setIcon(QIcon(pixmap))
        return item

    def find(self, kind: str, match) -> Any:
        """The index of the first row of `kind` whose payload satisfies `match`, or None."""
        stack = [self.invisibleRootItem()]
        while stack:
            parent = stack.pop()
            for row in range(parent.rowCount()):
                child = parent.child(row)
                if child.data(ROLE_KIND) == kind and match(child.data(ROLE_PAYLOAD)):
                    return child.index()
                stack.append(child)
        return None

    def count(self, kind: str) -> int:
        total, stack = 0, [self.invisibleRootItem()]
        while stack:
            parent = stack.pop()
            for row in range(parent.rowCount()):
                child = parent.child(row)
                total += child.data(ROLE_KIND) == kind
                stack.append(child)
        return total


class LibraryPanel(QWidget):
    """The tree, its empty state and the buttons to open a model folder and re-scan."""

    selected = Signal(str, object)  # (kind, payload)
    open_folder_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, model: LibraryModel, parent=None):
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.tree = QTreeView()
        self.tree.setModel(model)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(THUMB, THUMB))
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        model.populated.connect(self._after_reset)
        layout.addWidget(self.tree, 1)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid); padding: 4px;")
        layout.addWidget(self.hint)
        buttons = QHBoxLayout()
        open_button = QPushButton("Open model…")
        open_button.setToolTip("Add a trained model folder (one holding model.json) to the library.")
        open_button.clicked.connect(self.open_folder_requested)
        refresh = QPushButton("Rescan")
        refresh.setToolTip("Look for new plugins and model folders again.")
        refresh.clicked.connect(self.refresh_requested)
        buttons.addWidget(open_button)
        buttons.addWidget(refresh)
        layout.addLayout(buttons)

    def _after_reset(self) -> None:
        self.tree.expandToDepth(1)
        models = self.model.count("model")
        self.hint.setText("" if models else "No trained models yet. Press Try it to generate with a backend that "
                          "needs no training, select a trainable backend and use Train…, or open a model folder.")
        self.hint.setVisible(not models)

    def _current_changed(self, current, previous) -> None:
        if current.isValid():
            self.selected.emit(current.data(ROLE_KIND), current.data(ROLE_PAYLOAD))

    def select(self, kind: str, match) -> bool:
        index = self.model.find(kind, match)
        if index is None:
            return False
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)
        return True

    def select_model(self, folder: str | Path) -> bool:
        folder = Path(folder).resolve()
        return self.select("model", lambda entry: entry.folder.resolve() == folder)
