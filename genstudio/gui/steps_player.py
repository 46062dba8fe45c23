"""The steps player: how a model that draws in steps (capability `drawing_steps`, e.g. DRAW) draws its images, the
canvas after each step t = 1 .. T, played, scrubbed and exported as an animated GIF/WebP or a folder of PNG frames.

A thin view over `genstudio.operations.draw_steps`: the model is opened once (`open_drawer`, the Sampler `genstudio
generate` uses) on a worker thread, the frames are `StepDrawer.frames` and Export is `write_steps`, the function
behind `genstudio draw-steps`, so the exported file is the one `genstudio draw-steps MODEL --seed S --start I --count
N --out FILE` writes with the same settings, and its last frame is generate's image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
)

from genstudio.errors import UserError
from genstudio.gui.params import MAX_SEED
from genstudio.gui.sampling import Source
from genstudio.gui.workers import Task

PREVIEW_SIDE = 256  # pixels: small canvases are scaled up (nearest) to at least this
EXPORT_FILTERS = "Animated GIF (*.gif);;Animated WebP (*.webp);;Folder of PNG frames (*)"


def why_not_steps(spec: Any, has_model: bool) -> str:
    """'' when the steps player can open for this selection, else the one-line reason."""
    if spec is None:
        return "Pick a trained model in the library first."
    if not spec.capabilities.drawing_steps:
        return f"{spec.name} does not draw in steps (a backend such as DRAW does)"
    if spec.capabilities.trainable and not has_model:
        return f"{spec.name} needs training first: pick one of its trained models in the library"
    return ""


class StepsPlayer(QDialog):
    """Seed, first image and count choose the images; the slider (or Play) shows step t of T."""

    def __init__(self, source: Source, *, label: int | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Drawing steps · {source.title}")
        self.source, self.label = source, label
        self.drawer: Any = None  # genstudio.operations.draw_steps.StepDrawer, opened by the first run
        self.steps_request: Any = None  # the StepsRequest the frames shown were drawn for
        self.task: Task | None = None
        self._pixmaps: list[QPixmap] = []
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("Image i of seed s is the image Generate makes.")
        form.addRow("Seed", self.seed)
        self.index = QSpinBox()
        self.index.setRange(0, 1_000_000)
        self.index.setToolTip("The first image shown (image i of the seed).")
        form.addRow("First image", self.index)
        self.count = QSpinBox()
        self.count.setRange(1, 256)
        self.count.setValue(4)
        self.count.setToolTip("Images drawn side by side.")
        form.addRow("Images", self.count)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0.5, 100.0)
        self.fps.setValue(8.0)
        self.fps.setToolTip("Steps per second when playing and in the exported animation.")
        self.fps.valueChanged.connect(self._restart_timer)
        form.addRow("Steps per second", self.fps)
        layout.addLayout(form)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIDE, PREVIEW_SIDE)
        layout.addWidget(self.preview, 1)
        scrub = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.show_step)
        self.step_label = QLabel("step –")
        scrub.addWidget(self.play_button)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.step_label)
        layout.addLayout(scrub)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Draw")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_export)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel("The canvas after each drawing step; the last is the generated image.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.next_step)

    # -- the request and the work --------------------------------------------------------------------------------

    def request(self) -> Any:
        from genstudio.operations.draw_steps import StepsRequest

        request = StepsRequest(self.seed.value(), self.index.value(), self.count.value(), None, self.label,
                               fps=round(self.fps.value(), 3))
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
        self.stop()
        source = self.source

        def work(emit, abort):
            from genstudio.operations.draw_steps import open_drawer

            drawer = self.drawer or open_drawer(source.target, device=source.device)
            request_ = drawer.prepared(request)
            return drawer, request_, drawer.frames(request_)

        task = Task(work)
        task.signals.finished.connect(self.show_frames)
        task.signals.failed.connect(self.status.setText)
        self.status.setText(f"Drawing {request.count} image(s) of seed {request.seed}…")
        self.task = task.start()
        return task

    def show_frames(self, result: tuple) -> None:
        from genstudio.gui.qimages import to_qimage
        from genstudio.provenance import to_uint8

        self.drawer, self.steps_request, frames = result
        self._pixmaps = []
        for frame in frames:
            pixmap = QPixmap.fromImage(to_qimage(to_uint8(frame)))
            scale = max(1, PREVIEW_SIDE // max(pixmap.width(), pixmap.height()))
            self._pixmaps.append(pixmap.scaled(pixmap.width() * scale, pixmap.height() * scale,
                                               Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.FastTransformation))
        self.slider.blockSignals(True)
        self.slider.setRange(1, len(frames))
        self.slider.setValue(len(frames))
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self.play_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.show_step(len(frames))
        self.status.setText(f"{self.steps_request.count} image(s) of seed {self.steps_request.seed} in "
                            f"{len(frames)} steps.")

    # -- playing ---------------------------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return len(self._pixmaps)

    def show_step(self, step: int) -> None:
        """Show the canvas after step `step` (1 .. T)."""
        if not self._pixmaps:
            return
        step = min(max(1, int(step)), self.steps)
        self.preview.setPixmap(self._pixmaps[step - 1])
        self.step_label.setText(f"step {step} / {self.steps}")
        if self.slider.value() != step:
            self.slider.blockSignals(True)
            self.slider.setValue(step)
            self.slider.blockSignals(False)

    def next_step(self) -> None:
        """Playing: the next step, from 1 again after the last."""
        if self._pixmaps:
            self.show_step(self.slider.value() % self.steps + 1)

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.stop()
        elif self._pixmaps:
            if self.slider.value() == self.steps:
                self.show_step(1)
            self._restart_timer(force=True)
            self.play_button.setText("Pause")

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def _restart_timer(self, *_: Any, force: bool = False) -> None:
        if self._pixmaps and (force or self.timer.isActive()):
            self.timer.start(max(10, round(1000 / self.fps.value())))

    # -- export ----------------------------------------------------------------------------------------------------

    def export(self, path: str | Path, format: str | None = None) -> list[Path]:
        """Write the drawn images' steps (a .gif, a .webp or a frame folder) with the operation's `write_steps`;
        the files written. The steps per second chosen since drawing apply (they change no frame)."""
        from dataclasses import replace

        from genstudio.operations.draw_steps import write_steps

        if self.drawer is None or self.steps_request is None:
            raise UserError("draw the steps first")
        request = replace(self.steps_request, fps=round(self.fps.value(), 3))
        summary = write_steps(self.drawer, request, path, format=format, overwrite=True)
        return [Path(name) for name in summary.files]

    def choose_export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export the drawing steps", "steps.gif", EXPORT_FILTERS)
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


def open_steps_player(window: Any) -> StepsPlayer | None:
    """Open the player for the main window's selected model (its "Drawing steps…" action), with the Generate
    panel's class."""
    selection = window.selection
    spec = selection[1] if selection else None
    blocker = why_not_steps(spec, bool(selection) and selection[0] == "model")
    source = window.current_source() if not blocker else None
    if source is None:
        window.show_message(blocker or "Pick a trained model in the library first.")
        return None
    player = StepsPlayer(source, label=window.params.options.chosen_label(), parent=window)
    player.show()
    window.explorers.append(player)  # closed with the window, like the latent explorer
    return player
