"""The latent explorer: a strip of images interpolating (slerp) from one seed to another, for generators.

Endpoints can be typed, or taken from the image selected on the main canvas (its provenance says its seed and
index). Results can be sent to the canvas.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from genstudio.gui.canvas import IMAGE_MIME, Canvas
from genstudio.gui.content import CanvasContent, CanvasImage
from genstudio.gui.params import MAX_SEED
from genstudio.gui.sampling import Source, interpolate
from genstudio.gui.workers import Task


class EndpointDrop(QLabel):
    """A drop target: Ctrl+drag a generated image from the canvas here to make it an end of the strip."""

    dropped = Signal(dict)  # the image's provenance parameters

    def __init__(self, parent=None):
        super().__init__("drop", parent)
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedSize(56, 26)
        self.setStyleSheet("border: 1px dashed palette(mid); color: palette(mid);")
        self.setToolTip("Ctrl+drag an image from the canvas here to use its seed and index.")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(IMAGE_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        data = json.loads(bytes(event.mimeData().data(IMAGE_MIME)).decode() or "{}")
        self.dropped.emit(dict(data.get("parameters") or {}))
        event.acceptProposedAction()


class LatentExplorer(QDialog):
    send_to_canvas = Signal(list)  # CanvasImages
    message = Signal(str)

    def __init__(self, source: Source, main_content: CanvasContent | None = None, label: int | None = None,
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Latent explorer · {source.title}")
        self.resize(1000, 360)
        self.source = source
        self.label = label
        self.main_content = main_content
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        form = QFormLayout()
        self.seed_a = QSpinBox()
        self.seed_b = QSpinBox()
        for box, value in ((self.seed_a, 1), (self.seed_b, 2)):
            box.setRange(0, MAX_SEED)
            box.setValue(value)
        self.index = QSpinBox()
        self.index.setRange(0, 1_000_000)
        self.index.setToolTip("Which image of each seed to interpolate between (image i of a seed).")
        self.steps = QSpinBox()
        self.steps.setRange(2, 64)
        self.steps.setValue(9)
        row_a, row_b = QHBoxLayout(), QHBoxLayout()
        for row, box, name in ((row_a, self.seed_a, "A"), (row_b, self.seed_b, "B")):
            row.addWidget(box, 1)
            take = QPushButton("← selected")
            take.setToolTip(f"Use the seed and index of the image selected on the canvas as end {name}.")
            take.clicked.connect(lambda _=False, box=box: self.take_selected(box))
            take.setEnabled(main_content is not None)
            row.addWidget(take)
            drop = EndpointDrop()
            drop.dropped.connect(lambda parameters, box=box: self.set_endpoint(box, parameters))
            row.addWidget(drop)
        form.addRow("Seed A", row_a)
        form.addRow("Seed B", row_b)
        form.addRow("Image index", self.index)
        form.addRow("Steps", self.steps)
        controls.addLayout(form, 1)
        buttons = QVBoxLayout()
        self.run_button = QPushButton("Interpolate")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.send_button = QPushButton("Send to canvas")
        self.send_button.clicked.connect(lambda: self.send_to_canvas.emit(list(self.content.images)))
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.send_button)
        buttons.addStretch(1)
        controls.addLayout(buttons)
        layout.addLayout(controls)
        self.content = CanvasContent()
        self.strip = Canvas(self.content)
        self.strip.setMinimumHeight(200)
        layout.addWidget(self.strip, 1)
        self.status = QLabel("Spherical interpolation between the latents of two seeds.")
        layout.addWidget(self.status)

    def take_selected(self, box: QSpinBox) -> bool:
        image = self.main_content.current if self.main_content else None
        return self.set_endpoint(box, (image.record or {}).get("parameters", {}) if image else {})

    def set_endpoint(self, box: QSpinBox, parameters: dict) -> bool:
        """Use a generated image's seed and index (from its provenance parameters) as one end."""
        if "seed" not in parameters:
            self.status.setText("Use a generated image (one that knows its seed).")
            return False
        box.setValue(int(parameters["seed"]))
        self.index.setValue(int(parameters.get("index", 0)))
        self.status.setText(f"End set to image {parameters.get('index', 0)} of seed {parameters['seed']}.")
        return True

    def run(self) -> Task:
        if self.task is not None and not self.task.done.is_set():
            self.task.abort()
        self.content.clear()
        self.strip.columns = self.steps.value()
        seed_a, seed_b, steps, index = self.seed_a.value(), self.seed_b.value(), self.steps.value(), self.index.value()
        source, label = self.source, self.label

        def work(emit, abort):
            for item in interpolate(source, seed_a=seed_a, seed_b=seed_b, steps=steps, index=index, label=label,
                                    abort=abort):
                emit(item)
            return steps

        task = Task(work)
        task.signals.item.connect(lambda item: self.content.add(
            [CanvasImage(item.title, item.pixels, None, item.record)]))
        task.signals.failed.connect(self.status.setText)
        task.signals.finished.connect(lambda n: self.status.setText(f"{n} steps from seed {seed_a} to seed {seed_b}."))
        self.status.setText("Interpolating…")
        self.task = task.start()
        return task

    def closeEvent(self, event) -> None:
        if self.task is not None:
            self.task.abort()
        super().closeEvent(event)
