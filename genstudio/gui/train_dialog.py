"""Train…: pick a backend and a dataset folder (image count, classes, bad files and a preview strip are shown as
soon as the folder is chosen), resolution, steps and where the model goes. Accepting queues a train job."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.gui.library_data import models_folder
from genstudio.gui.qimages import load_pixmap

PREVIEW_COUNT = 10
PREVIEW_SIDE = 56


def describe_folder(folder: str | Path) -> tuple[str, list[Path], int]:
    """(a one-paragraph summary, files to preview, image count) of a dataset folder; UserError if unusable."""
    from genstudio.data import scan_folder

    scan = scan_folder(folder)
    lines = [f"{len(scan.files)} images"]
    if scan.classes:
        shown = ", ".join(scan.classes[:12]) + (" …" if len(scan.classes) > 12 else "")
        lines[0] += f" in {len(scan.classes)} classes: {shown}"
    else:
        lines[0] += " (no class folders: unconditional)"
    if scan.skipped:
        names = "; ".join(f"{Path(bad.path).name}: {bad.reason}" for bad in scan.skipped[:4])
        more = f" and {len(scan.skipped) - 4} more" if len(scan.skipped) > 4 else ""
        lines.append(f"{len(scan.skipped)} file(s) will be skipped: {names}{more}")
    if not scan.files:
        lines.append("No images found: pick a folder of images, or of class folders of images.")
    step = max(1, len(scan.files) // PREVIEW_COUNT)  # spread across classes rather than the first few
    return "\n".join(lines), scan.files[::step][:PREVIEW_COUNT], len(scan.files)


class TrainDialog(QDialog):
    def __init__(self, registry: Any, backend: str | None = None, config: dict[str, Any] | None = None,
                 data: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.resize(640, 480)
        self.registry = registry
        self.config = dict(config or {})  # settings from the parameters form, for `backend`
        self.config_backend = backend
        self.image_count = 0
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.backend = QComboBox()
        for spec in sorted(registry.backends.values(), key=lambda s: (s.kind.value, s.id)):
            if spec.capabilities.trainable:
                self.backend.addItem(f"{spec.name} ({spec.id}, {spec.kind.value})", spec.id)
        if backend is not None and self.backend.findData(backend) >= 0:
            self.backend.setCurrentIndex(self.backend.findData(backend))
        self.backend.currentIndexChanged.connect(self._backend_changed)
        form.addRow("Backend", self.backend)
        data_row = QHBoxLayout()
        self.data = QLineEdit(data)
        self.data.setPlaceholderText("a folder of images, or of class folders of images")
        self.data.editingFinished.connect(self.scan)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_data)
        data_row.addWidget(self.data, 1)
        data_row.addWidget(browse)
        form.addRow("Dataset", data_row)
        self.data_info = QLabel("Pick a dataset folder.")
        self.data_info.setWordWrap(True)
        form.addRow("", self.data_info)
        self.preview = QWidget()
        self.preview_layout = QHBoxLayout(self.preview)
        self.preview_layout.setContentsMargins(0, 0, 0, 0)
        self.preview_layout.setAlignment(Qt.AlignmentFlag.AlignLeft)
        form.addRow("", self.preview)
        self.resolution = QComboBox()
        form.addRow("Resolution", self.resolution)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(500)
        self.steps.setToolTip("Optimisation steps (batches). A tiny model on CPU learns shapes in a few hundred.")
        form.addRow("Steps", self.steps)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(64)
        form.addRow("Batch size", self.batch)
        self.device = QComboBox()
        from genstudio.devices import DEVICE_CHOICES
        from genstudio.gui.settings_dialog import app_device

        self.device.addItems(list(DEVICE_CHOICES))
        self.device.setCurrentText(app_device())
        form.addRow("Device", self.device)
        out_row = QHBoxLayout()
        self.out = QLineEdit()
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        out_row.addWidget(self.out, 1)
        out_row.addWidget(out_browse)
        form.addRow("Save model to", out_row)
        layout.addLayout(form)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Queue training")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d9534f;")
        layout.addWidget(self.error)
        self._backend_changed()
        if data:
            self.scan()

    # ------------------------------------------------------------------ reacting to choices

    def backend_id(self) -> str | None:
        return self.backend.currentData()

    def _backend_changed(self) -> None:
        backend = self.backend_id()
        self.resolution.clear()
        if backend is None:
            self.note.setText("No trainable backend is installed.")
            return
        spec = self.registry.backend(backend)
        if "resolution" in spec.schema:
            item = spec.schema.field("resolution")
            low, high = int(item.min or 16), int(item.max or 512)
            sizes = [size for size in (16, 28, 32, 48, 64, 96, 128, 256, 512) if low <= size <= high]
            for size in sizes:
                self.resolution.addItem(f"{size} × {size}", size)
            default = self.config.get("resolution", item.default) if backend == self.config_backend else item.default
            if self.resolution.findData(default) >= 0:
                self.resolution.setCurrentIndex(self.resolution.findData(default))
            self.resolution.setEnabled(True)
        else:
            self.resolution.addItem("set by the backend", None)
            self.resolution.setEnabled(False)
        uses_form = backend == self.config_backend and self.config
        self.note.setText(f"{spec.description}\n" + ("Other settings come from the parameters panel."
                                                     if uses_form else "Other settings: the backend's defaults."))
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M")
        self.out.setText(str(models_folder() / f"{backend}-{stamp}"))

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data.text())
        if folder:
            self.data.setText(folder)
            self.scan()

    def _browse_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model in", str(models_folder()))
        if folder:
            self.out.setText(folder)

    def scan(self) -> bool:
        """Show what the dataset folder holds (cheap: no decoding except the few preview thumbnails)."""
        while self.preview_layout.count():
            widget = self.preview_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        text = self.data.text().strip()
        if not text:
            self.data_info.setText("Pick a dataset folder.")
            self.image_count = 0
            return False
        try:
            summary, files, self.image_count = describe_folder(text)
        except UserError as exc:
            self.data_info.setText(str(exc))
            self.image_count = 0
            return False
        self.data_info.setText(summary)
        for path in files:
            thumb = QLabel()
            thumb.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setStyleSheet("background: #1c1e22;")
            pixmap = load_pixmap(path)
            if not pixmap.isNull():
                thumb.setPixmap(pixmap.scaled(PREVIEW_SIDE, PREVIEW_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
            thumb.setToolTip(str(path))
            self.preview_layout.addWidget(thumb)
        return self.image_count > 0

    # ------------------------------------------------------------------ the job

    def job_params(self) -> dict[str, Any]:
        """The train job's parameters; UserError when something is missing."""
        backend = self.backend_id()
        if backend is None:
            raise UserError("no trainable backend is installed")
        data = self.data.text().strip()
        if not data:
            raise UserError("pick a dataset folder")
        if not self.scan():
            raise UserError(f"no images to train on in {data}")
        out = self.out.text().strip()
        if not out:
            raise UserError("choose where to save the model")
        if Path(out).is_dir() and any(Path(out).iterdir()):
            raise UserError(f"{out} is not empty (it may hold another training run); choose another folder")
        params: dict[str, Any] = {"backend": backend, "data": data, "out": out, "steps": self.steps.value(),
                                  "batch_size": self.batch.value(), "device": self.device.currentText()}
        if self.resolution.currentData() is not None:
            params["resolution"] = int(self.resolution.currentData())
        if backend == self.config_backend and self.config:
            spec = self.registry.backend(backend)
            config = {key: value for key, value in self.config.items()
                      if key != "resolution" and value != spec.schema.field(key).default}
            spec.schema.resolve(config)  # a bad value is a one-line error here, not a failed job later
            if config:
                params["config"] = config
        return params

    def _accept(self) -> None:
        try:
            self.params = self.job_params()
        except UserError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
