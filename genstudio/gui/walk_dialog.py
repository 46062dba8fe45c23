"""The Latent walk dialog: a smooth walk through a few seeds of the selected generator, previewed as it plays and
exported as an animated GIF/WebP or a folder of PNG frames.

A thin view: the frames come from `genstudio.gui.sampling.latent_walk` (the Sampler and functions `genstudio walk`
uses) on a worker thread, and Export writes them with `genstudio.walk.save_walk`, so the file is byte for byte the
one `genstudio walk MODEL --seeds ... --out FILE` writes with the same settings. The truncation, its cutoff and the
class come from the Generate panel; style mixing (fixed fine styles) is chosen here for style-based generators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from genstudio.errors import UserError
from genstudio.gui.params import MAX_SEED, parse_seeds
from genstudio.gui.qimages import to_qimage
from genstudio.gui.sampling import Source, Walk, latent_walk
from genstudio.gui.workers import Task

PREVIEW_SIDE = 256  # pixels: small generator outputs are scaled up (nearest) to at least this
EXPORT_FILTERS = "Animated GIF (*.gif);;Animated WebP (*.webp);;Folder of PNG frames (*)"


class LatentWalkDialog(QDialog):
    message = Signal(str)

    def __init__(self, source: Source, *, truncation: float = 1.0, truncation_cutoff: int | None = None,
                 label: int | None = None, style_layers: int = 0, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Latent walk · {source.title}")
        self.source, self.label, self.style_layers = source, label, style_layers
        self.truncation, self.truncation_cutoff = truncation, truncation_cutoff
        self.task: Task | None = None
        self.walk: Walk | None = None
        self.walk_request: Any = None
        self._pixmaps: list[QPixmap] = []
        self._shown = 0
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.seeds = QLineEdit("1, 7, 3")
        self.seeds.setToolTip("The seeds to visit in order (image 'index' of each), e.g. 1, 7, 3 or 4-8.")
        form.addRow("Seeds", self.seeds)
        self.frames = QSpinBox()
        self.frames.setRange(2, 2000)
        self.frames.setValue(24)
        self.frames.setToolTip("Frames in the whole animation.")
        form.addRow("Frames", self.frames)
        self.loop = QCheckBox("walk back to the first seed and loop")
        form.addRow("Loop", self.loop)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0.5, 100.0)
        self.fps.setValue(12.0)
        self.fps.setToolTip("Frames per second of the preview and the exported animation.")
        self.fps.valueChanged.connect(self._restart_timer)
        form.addRow("Frames per second", self.fps)
        self.index = QSpinBox()
        self.index.setRange(0, 1_000_000)
        self.index.setToolTip("Which image of each seed (image i of a seed).")
        form.addRow("Image index", self.index)
        self.mix = QCheckBox("keep the fine styles of seed")
        self.mix.setToolTip("Style mixing: every frame takes its styles from the crossover layer on from one seed, "
                            "so only the coarse features walk.")
        self.mix_seed = QSpinBox()
        self.mix_seed.setRange(0, MAX_SEED)
        self.mix_layer = QSpinBox()
        self.mix_layer.setRange(1, max(1, style_layers - 1))
        self.mix_layer.setValue(max(1, style_layers // 2))
        self.mix_layer.setPrefix("from layer ")
        mix_row = QHBoxLayout()
        for widget in (self.mix, self.mix_seed, self.mix_layer):
            mix_row.addWidget(widget)
            widget.setVisible(style_layers > 0)
        if style_layers > 0:
            form.addRow("Mixing", mix_row)
        layout.addLayout(form)
        settings = f"truncation {truncation:g}" + (f" below layer {truncation_cutoff}" if truncation_cutoff else "")
        layout.addWidget(QLabel(f"From the Generate panel: {settings}" + ("" if label is None else
                                                                           f", class {label}")))
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIDE, PREVIEW_SIDE)
        layout.addWidget(self.preview, 1)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Preview")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_export)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel("A smooth path (slerp) through the latents of the seeds.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.next_frame)

    # -- the request and the work --------------------------------------------------------------------------------

    def request(self) -> Any:
        """The WalkRequest the controls describe; UserError (one line) for bad seeds."""
        from genstudio.walk import WalkRequest

        seeds = tuple(parse_seeds(self.seeds.text()))
        mixing = self.style_layers > 0 and self.mix.isChecked()
        request = WalkRequest(seeds, self.frames.value(), self.loop.isChecked(), round(self.fps.value(), 3),
                              self.index.value(), self.label, self.truncation, self.truncation_cutoff,
                              self.mix_seed.value() if mixing else None, self.mix_layer.value() if mixing else None)
        request.check()
        return request

    def run(self) -> Task | None:
        if self.task is not None and not self.task.done.is_set():
            self.task.abort()
        try:
            request = self.request()
        except UserError as exc:
            self.status.setText(str(exc))
            return None
        self.timer.stop()
        self.walk = None
        self.export_button.setEnabled(False)
        source = self.source

        def work(emit, abort):
            return latent_walk(source, request, abort=abort)

        task = Task(work)
        task.signals.finished.connect(lambda walk: self.show_walk(walk, request))
        task.signals.failed.connect(self.status.setText)
        self.status.setText(f"Walking through seeds {', '.join(map(str, request.seeds))}…")
        self.task = task.start()
        return task

    def show_walk(self, walk: Walk, request: Any) -> None:
        self.walk, self.walk_request = walk, request
        self._pixmaps = []
        for pixels in walk.pixels:
            pixmap = QPixmap.fromImage(to_qimage(pixels))
            scale = max(1, PREVIEW_SIDE // max(pixmap.width(), pixmap.height()))
            self._pixmaps.append(pixmap.scaled(pixmap.width() * scale, pixmap.height() * scale,
                                               Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.FastTransformation))
        self._shown = 0
        self.next_frame()
        self._restart_timer()
        self.export_button.setEnabled(True)
        self.status.setText(f"{len(walk.frames)} frames through seeds {', '.join(map(str, request.seeds))}.")

    def next_frame(self) -> None:
        if not self._pixmaps:
            return
        self.preview.setPixmap(self._pixmaps[self._shown % len(self._pixmaps)])
        self._shown += 1

    def _restart_timer(self) -> None:
        if self._pixmaps:
            self.timer.start(max(10, round(1000 / self.fps.value())))

    # -- export ----------------------------------------------------------------------------------------------------

    def export(self, path: str | Path, format: str | None = None) -> list[Path]:
        """Write the previewed walk (a .gif, a .webp or a frame folder); the files written. The fps chosen since
        the preview applies (it changes no frame)."""
        from dataclasses import replace

        from genstudio.walk import save_walk

        if self.walk is None:
            raise UserError("preview the walk first")
        record = dict(self.walk.record)
        fps = round(self.fps.value(), 3)
        if fps != self.walk_request.fps:
            self.walk_request = replace(self.walk_request, fps=fps)
            record["parameters"] = {**record["parameters"], "fps": fps}
        files, _ = save_walk(self.walk.frames, record, path, format=format, overwrite=True)
        return files

    def choose_export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export the walk", "walk.gif", EXPORT_FILTERS)
        if not path:
            return
        format = "frames" if chosen.startswith("Folder") else None
        try:
            files = self.export(path, format)
        except UserError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(f"Exported {len(files)} file(s) to {files[0].parent if format else files[0]}.")

    def closeEvent(self, event) -> None:
        self.timer.stop()
        if self.task is not None:
            self.task.abort()
        super().closeEvent(event)


def open_latent_walk(window: Any) -> LatentWalkDialog | None:
    """Open the dialog for the main window's selected generator, with its Generate panel's truncation, cutoff and
    class (the main window's "Latent walk…" action)."""
    source = window.current_source()
    blocker = window._generate_blocker() if source is not None else "Pick a generator first."
    if source is None or blocker:
        window.show_message(blocker)
        return None
    options = window.params.options
    dialog = LatentWalkDialog(source, truncation=round(options.truncation.value(), 4),
                              truncation_cutoff=options.truncation_cutoff(), label=options.chosen_label(),
                              style_layers=options.style_layers, parent=window)
    dialog.show()
    window.explorers.append(dialog)  # closed with the window, like the latent explorer
    return dialog
