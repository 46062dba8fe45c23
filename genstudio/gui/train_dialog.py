"""Train…: one non-modal form for a training run. The backend, the dataset (image count, classes, bad files and a
preview strip as soon as the folder is chosen), the run's length and device, and the backend's whole settings
schema (labels, help, choices; the values the backend declares it accepts, e.g. dcgan's resolutions; the settings
the dataset decides are shown as such). The last values per backend are kept in the app settings; every run gets
its own output folder; "Queue training" runs the same checks as `genstudio train`
(`genstudio.operations.train.check_training`) before a job is added, so a bad request is one line at once, and
the form keeps its values for the next run."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.gui.library_data import models_folder
from genstudio.gui.params import SchemaForm
from genstudio.gui.qimages import load_pixmap
from genstudio.wording import form_label

PREVIEW_COUNT = 10
PREVIEW_SIDE = 56
FORM_KEY = "gui.train_form"  # settings: {"last": backend id, "backends": {id: {values of the form}}}
COMMON_SIDES = (16, 28, 32, 48, 64, 96, 128, 256, 512)  # offered for a resolution with a range but no allowed list
PREVIEW_CHOICES = (("auto (first within a minute)", "auto"), ("every 30 s", "30s"), ("every 2 min", "2m"),
                   ("every 100 steps", 100), ("every 500 steps", 500))
FORM_OWNED = ("resolution",)  # schema fields with their own row above the settings


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


def resolution_choices(item: Any) -> list[int]:
    """The sides a resolution field accepts: its declared `allowed` values, else the common sizes in its range."""
    if item.allowed:
        return sorted(item.allowed)
    low, high = item.min if item.min is not None else 8, item.max if item.max is not None else 512
    sizes = [size for size in COMMON_SIDES if low <= size <= high]
    return sizes or [int(item.default)]


def unique_run_folder(root: Path, backend: str, taken: set[Path] = frozenset(), now: _dt.datetime | None = None
                      ) -> Path:
    """ROOT/BACKEND-YYYYmmdd-HHMMSS, with -2, -3 ... when that folder exists or is `taken` (a queued run's)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    taken = {Path(path).resolve() for path in taken}
    base = Path(root) / f"{backend}-{stamp}"
    candidate, number = base, 1
    while candidate.exists() or candidate.resolve() in taken:
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def _remembered() -> dict[str, Any]:
    from genstudio.settings import Settings

    value = Settings.load().get(FORM_KEY)
    return value if isinstance(value, dict) else {}


class TrainDialog(QDialog):
    """Non-modal: `queued` carries each accepted request's job parameters (the main window adds the job)."""

    queued = Signal(dict)

    def __init__(self, registry: Any, backend: str | None = None, config: dict[str, Any] | None = None,
                 data: str = "", parent=None, taken: Any = None):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setModal(False)
        self.resize(720, 760)
        self.registry = registry
        self.given_config = dict(config or {})  # values to start from for `backend` (over the remembered ones)
        self.given_backend = backend
        self.taken = taken or (lambda: set())  # output folders of queued runs, so a new run never reuses one
        self.image_count = 0
        self.scan_result: Any = None
        self.derived: dict[str, Any] = {}
        self.form: SchemaForm | None = None
        self.params: dict[str, Any] = {}
        memory = _remembered()
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.backend = QComboBox()
        for spec in sorted(registry.backends.values(), key=lambda s: (s.kind.value, s.id)):
            if spec.capabilities.trainable:
                self.backend.addItem(f"{spec.name} ({spec.id}, {spec.kind.value})", spec.id)
        start = backend or memory.get("last")
        if start is not None and self.backend.findData(start) >= 0:
            self.backend.setCurrentIndex(self.backend.findData(start))
        form.addRow("Backend", self.backend)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: palette(mid);")
        form.addRow("", self.description)
        data_row = QHBoxLayout()
        self.data = QLineEdit()
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
        self.resolution.setToolTip("Width and height the images are trained at (the backend's accepted sizes).")
        form.addRow("Resolution", self.resolution)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(500)
        self.steps.setToolTip("Optimisation steps (batches). A tiny model on CPU learns shapes in a few hundred.")
        form.addRow("Steps", self.steps)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(64)
        self.batch.setToolTip("Images per step.")
        form.addRow("Batch size", self.batch)
        self.device = QComboBox()
        from genstudio.devices import available_devices
        from genstudio.gui.settings_dialog import app_device

        self.device.addItems(available_devices())
        self.device.setCurrentText(app_device())
        self.device.setToolTip("Where the run computes: the devices this computer has (auto picks a GPU if any).")
        form.addRow("Device", self.device)
        self.sample_every = QComboBox()
        for text, value in PREVIEW_CHOICES:
            self.sample_every.addItem(text, value)
        self.sample_every.setToolTip("How often the training view's sample grid is redrawn.")
        form.addRow("Preview every", self.sample_every)
        out_row = QHBoxLayout()
        self.out = QLineEdit()
        self.out.setToolTip("A new folder for this run (each run gets its own).")
        out_browse = QPushButton("Browse…")
        out_browse.clicked.connect(self._browse_out)
        out_row.addWidget(self.out, 1)
        out_row.addWidget(out_browse)
        form.addRow("Save model to", out_row)
        layout.addLayout(form)
        self.settings_box = QGroupBox("Backend settings")
        box_layout = QVBoxLayout(self.settings_box)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        box_layout.addWidget(self.scroll)
        layout.addWidget(self.settings_box, 1)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #ff6b6b; font-weight: 600;")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close)
        self.queue_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.queue_button.setText("Queue training")
        self.queue_button.setToolTip("Check everything and add the run to the queue; the form keeps its values.")
        self.buttons.accepted.connect(self.queue_run)
        self.buttons.rejected.connect(self.close)
        layout.addWidget(self.buttons)
        self.backend.currentIndexChanged.connect(self._backend_changed)
        self._backend_changed()
        if data:
            self.data.setText(data)
            self.scan()

    # ------------------------------------------------------------------ values: shown, remembered, restored

    def backend_id(self) -> str | None:
        return self.backend.currentData()

    def spec(self) -> Any:
        backend = self.backend_id()
        return self.registry.backend(backend) if backend is not None else None

    def form_values(self) -> dict[str, Any]:
        """What the form shows now, as remembered per backend (JSON-safe)."""
        return {"data": self.data.text().strip(), "steps": self.steps.value(), "batch_size": self.batch.value(),
                "device": self.device.currentText(), "sample_every": self.sample_every.currentData(),
                "resolution": self.resolution.currentData(),
                "config": self._changed_config(include_derived=True)}

    def remember(self) -> None:
        """Keep the form's values for this backend in the app settings (read back the next time)."""
        from genstudio.settings import Settings

        backend = self.backend_id()
        if backend is None:
            return
        settings = Settings.load()
        memory = settings.get(FORM_KEY)
        memory = dict(memory) if isinstance(memory, dict) else {}
        per_backend = dict(memory.get("backends") or {})
        per_backend[backend] = self.form_values()
        settings.set(FORM_KEY, {"last": backend, "backends": per_backend})

    def _restore(self, values: dict[str, Any]) -> None:
        if values.get("data"):
            self.data.setText(str(values["data"]))
        for box, key in ((self.steps, "steps"), (self.batch, "batch_size")):
            if isinstance(values.get(key), int):
                box.setValue(values[key])
        if self.device.findText(str(values.get("device"))) >= 0:
            self.device.setCurrentText(str(values["device"]))
        index = self.sample_every.findData(values.get("sample_every"))
        if index >= 0:
            self.sample_every.setCurrentIndex(index)
        if self.resolution.findData(values.get("resolution")) >= 0:
            self.resolution.setCurrentIndex(self.resolution.findData(values["resolution"]))

    def _backend_changed(self) -> None:
        spec = self.spec()
        self.resolution.clear()
        self.error.clear()
        if spec is None:
            self.description.setText("No trainable backend is installed.")
            self.scroll.setWidget(QLabel("  No settings to show."))
            self.form = None
            return
        self.description.setText(spec.description)
        remembered = (_remembered().get("backends") or {}).get(spec.id) or {}
        config = dict(remembered.get("config") or {})
        if spec.id == self.given_backend:
            config.update(self.given_config)
        if "resolution" in spec.schema:
            item = spec.schema.field("resolution")
            for size in resolution_choices(item):
                self.resolution.addItem(f"{size} × {size}", size)
            wanted = config.get("resolution", remembered.get("resolution", item.default))
            index = self.resolution.findData(wanted)
            self.resolution.setCurrentIndex(index if index >= 0 else max(0, self.resolution.findData(item.default)))
            self.resolution.setEnabled(True)
        else:
            self.resolution.addItem("set by the backend", None)
            self.resolution.setEnabled(False)
        self.form = SchemaForm(spec.schema, hidden=FORM_OWNED)
        self.form.set_values({key: value for key, value in config.items()
                              if key in spec.schema and not self._invalid(spec, key, value)})
        self.scroll.setWidget(self.form)
        self._restore(remembered)
        self.new_out_folder()
        if self.data.text().strip():
            self.scan()

    @staticmethod
    def _invalid(spec: Any, key: str, value: Any) -> bool:
        try:
            spec.schema.field(key).validate(value)
        except UserError:
            return True
        return False

    def new_out_folder(self) -> None:
        backend = self.backend_id() or "run"
        self.out.setText(str(unique_run_folder(models_folder(), backend, set(self.taken()))))

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data.text())
        if folder:
            self.data.setText(folder)
            self.scan()

    def _browse_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model in", str(models_folder()))
        if folder:
            self.out.setText(folder)

    # ------------------------------------------------------------------ the dataset

    def scan(self) -> bool:
        """Show what the dataset folder holds (cheap: no decoding except the few preview thumbnails) and the
        settings it decides (channels, classes)."""
        while self.preview_layout.count():
            widget = self.preview_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self._show_derived({})
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
            pixmap = load_pixmap(path, max_side=PREVIEW_SIDE * 2)
            if not pixmap.isNull():
                thumb.setPixmap(pixmap.scaled(PREVIEW_SIDE, PREVIEW_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
            thumb.setToolTip(str(path))
            self.preview_layout.addWidget(thumb)
        if self.image_count:
            self._derive(text)
        return self.image_count > 0

    def _derive(self, data: str) -> None:
        """Show the settings the dataset decides (as `genstudio train` derives them) in the form, locked."""
        from genstudio.data import scan_folder
        from genstudio.operations.train import derive_config

        spec = self.spec()
        if spec is None or self.form is None:
            return
        try:
            _, derived = derive_config(spec, {}, set(), scan_folder(data))
        except UserError:
            return
        self._show_derived(derived)

    def _show_derived(self, derived: dict[str, Any]) -> None:
        if self.form is None:
            self.derived = {}
            return
        for name in self.derived:  # unlock what the previous folder decided
            if name in self.form.editors:
                self.form.editors[name].setEnabled(True)
                self.form.labels[name].setText(form_label(self.form.schema.field(name)))
        self.derived = dict(derived)
        self.form.set_values(self.derived)
        for name in self.derived:
            if name in self.form.editors:
                self.form.editors[name].setEnabled(False)
                self.form.labels[name].setText(form_label(self.form.schema.field(name)) + " (from dataset)")

    # ------------------------------------------------------------------ the job

    def _changed_config(self, include_derived: bool = False) -> dict[str, Any]:
        """The form's settings that differ from the backend's defaults (derived ones only if asked)."""
        spec = self.spec()
        if spec is None or self.form is None:
            return {}
        defaults = spec.schema.defaults()
        return {key: value for key, value in self.form.values().items()
                if key not in FORM_OWNED and value != defaults[key] and (include_derived or key not in self.derived)}

    def job_params(self) -> dict[str, Any]:
        """The train job's parameters after the operation's own checks; UserError (one line) when something is
        wrong, worded for this form."""
        from genstudio.wording import for_app

        spec = self.spec()
        try:
            return self._job_params(spec)
        except UserError as exc:
            raise UserError(for_app(str(exc), spec.schema if spec is not None else None)) from None

    def _job_params(self, spec: Any) -> dict[str, Any]:
        from genstudio.operations.train import check_training

        if spec is None:
            raise UserError("no trainable backend is installed")
        data = self.data.text().strip()
        if not data:
            raise UserError("pick a dataset folder")
        if not self.scan():
            raise UserError(f"no images to train on in {data}")
        out = self.out.text().strip()
        if not out:
            raise UserError("choose where to save the model")
        out_path = Path(out).expanduser()
        if out_path.is_dir() and any(out_path.iterdir()):
            raise UserError(f"{out} is not empty (it may hold another training run); choose another folder")
        if out_path.resolve() in {Path(path).resolve() for path in self.taken()}:
            raise UserError(f"a queued run already saves to {out}; choose another folder")
        params: dict[str, Any] = {"backend": spec.id, "data": data, "out": str(out_path),
                                  "steps": self.steps.value(), "batch_size": self.batch.value(),
                                  "device": self.device.currentText(), "sample_every": self.sample_every.currentData()}
        if self.resolution.currentData() is not None:
            params["resolution"] = int(self.resolution.currentData())
        config = self._changed_config()
        check_training(backend=spec.id, data=data, config=config, resolution=params.get("resolution"))
        if config:
            params["config"] = config
        return params

    def queue_run(self) -> dict[str, Any] | None:
        """Check, then hand the parameters to whoever queues them (`queued`); the form keeps its values and
        proposes a new output folder for the next run."""
        try:
            self.params = self.job_params()
        except UserError as exc:
            self.error.setText(str(exc))
            return None
        self.error.clear()
        self.remember()
        self.queued.emit(dict(self.params))
        self.new_out_folder()
        return self.params

    def closeEvent(self, event) -> None:
        self.remember()  # closing (or Close) keeps what was typed for next time
        super().closeEvent(event)
