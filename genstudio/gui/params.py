"""The parameters dock: a form built from a backend's config schema, and the generation options.

`SchemaForm` knows nothing of any backend: each `ConfigField` becomes a spin box (int), a number box (float), a
check box (bool), a combo box (choice) or a line edit (str), with its range and its help text as the tooltip.
`values()` returns a dict that `schema.resolve` accepts.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from genstudio.gui.choice_picker import ChoiceRows
from genstudio.schema import ConfigField, ConfigSchema
from genstudio.wording import form_label

INT_LIMIT = 2**31 - 1
MAX_SEED = 2**31 - 1


def _decimals(item: ConfigField) -> int:
    """Enough decimals to show the default and the bounds (learning rates need 4-6)."""
    numbers = [abs(v) for v in (item.default, item.min, item.max) if isinstance(v, (int, float)) and v]
    smallest = min(numbers) if numbers else 1.0
    decimals = 2
    while decimals < 8 and round(smallest, decimals) != smallest:
        decimals += 1
    return decimals


def editor_for(item: ConfigField) -> QWidget:
    """The input widget of one config field, showing its default."""
    if item.allowed:  # an int that takes only some values (a network's resolutions): offer only those
        widget: QWidget = QComboBox()
        widget.addItems([str(value) for value in item.allowed])
        widget.setCurrentText(str(item.default))
    elif item.type == "int":
        widget = QSpinBox()
        widget.setRange(int(item.min) if item.min is not None else -INT_LIMIT,
                        int(item.max) if item.max is not None else INT_LIMIT)
        widget.setValue(int(item.default))
    elif item.type == "float":
        widget = QDoubleSpinBox()
        widget.setDecimals(_decimals(item))
        widget.setRange(item.min if item.min is not None else -1e12, item.max if item.max is not None else 1e12)
        widget.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        widget.setValue(float(item.default))
    elif item.type == "bool":
        widget = QCheckBox()
        widget.setChecked(bool(item.default))
    elif item.type == "choice":
        widget = QComboBox()
        widget.addItems(list(item.choices))
        widget.setCurrentText(str(item.default))
    else:
        widget = QLineEdit(str(item.default))
    tip = item.help
    if item.type in ("int", "float") and (item.min is not None or item.max is not None):
        low = "−∞" if item.min is None else f"{item.min:g}"
        high = "∞" if item.max is None else f"{item.max:g}"
        tip += f"\nRange: {low} … {high}."
    widget.setToolTip(f"{tip}\nDefault: {item.default}. (setting: {item.name})")
    widget.setObjectName(f"field_{item.name}")
    return widget


def read_editor(item: ConfigField, widget: QWidget) -> Any:
    if item.allowed:
        return int(widget.currentText())
    if item.type == "int":
        return widget.value()
    if item.type == "float":
        return float(widget.value())
    if item.type == "bool":
        return widget.isChecked()
    if item.type == "choice":
        return widget.currentText()
    return widget.text()


def write_editor(item: ConfigField, widget: QWidget, value: Any) -> None:
    if item.allowed:
        widget.setCurrentText(str(value))
    elif item.type in ("int", "float"):
        widget.setValue(value)
    elif item.type == "bool":
        widget.setChecked(bool(value))
    elif item.type == "choice":
        widget.setCurrentText(str(value))
    else:
        widget.setText(str(value))


class SchemaForm(QWidget):
    """A form over one ConfigSchema."""

    changed = Signal()

    def __init__(self, schema: ConfigSchema, parent=None, hidden: tuple[str, ...] = ()):
        super().__init__(parent)
        self.schema = schema
        self.hidden = tuple(hidden)  # fields another control of the same window sets (not shown, not in values)
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        if not len(schema):
            layout.addRow(QLabel("This backend has no settings."))
        for item in schema:
            if item.name in self.hidden:
                continue
            editor = editor_for(item)
            label = QLabel(form_label(item))
            label.setToolTip(editor.toolTip())
            label.setBuddy(editor)
            layout.addRow(label, editor)
            self.editors[item.name] = editor
            self.labels[item.name] = label
            for signal in ("valueChanged", "toggled", "currentTextChanged", "textChanged"):
                if hasattr(editor, signal):
                    getattr(editor, signal).connect(self.changed)
                    break

    def values(self) -> dict[str, Any]:
        return {item.name: read_editor(item, self.editors[item.name]) for item in self.schema
                if item.name in self.editors}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self.editors:
                write_editor(self.schema.field(name), self.editors[name], value)

    def set_read_only(self, read_only: bool, reason: str = "") -> None:
        for editor in self.editors.values():
            editor.setEnabled(not read_only)
        self.setToolTip(reason if read_only else "")


def parse_seeds(text: str) -> list[int]:
    """"1, 2, 5-7" -> [1, 2, 5, 6, 7]; a UserError (one line) for anything else."""
    from genstudio.errors import UserError

    seeds: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise UserError(f"seeds must be whole numbers or ranges like 3-6, got {part!r}") from None
        if first < 0 or last < first or last - first > 63:
            raise UserError(f"a seed range must go up from 0 and span at most 64 seeds, got {part!r}")
        seeds.extend(range(first, last + 1))
    return seeds


class GenerationOptions(QWidget):
    """Seed (lock / randomise), count, class label (conditional models) and truncation (a slider and a number);
    for style-based generators also the truncation cutoff and the style-mixing grid (row seeds x column seeds
    and the crossover layer)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QFormLayout(self)
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("Image i of a seed is always the same image: note the seed to make it again.")
        self.lock = QCheckBox("lock")
        self.lock.setToolTip("Keep this seed for the next Generate; unlocked, each Generate draws a new seed.")
        self.shuffle = QToolButton()
        self.shuffle.setText("⟳")
        self.shuffle.setToolTip("Draw a new random seed now.")
        self.shuffle.clicked.connect(self.randomise)
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(self.shuffle)
        row.addWidget(self.lock)
        layout.addRow("Seed", row)
        self.count = QSpinBox()
        self.count.setRange(1, 256)
        self.count.setValue(16)
        self.count.setToolTip("How many images to generate onto the canvas.")
        layout.addRow("Count", self.count)
        self.label = QComboBox()
        self.label.setToolTip("The class to draw; 'all classes' cycles through them.")
        self.label_row = QLabel("Class")
        layout.addRow(self.label_row, self.label)
        from genstudio.gui.caption_box import CaptionBox

        self.caption = CaptionBox()  # caption models: what to draw, completed from the model's vocabulary
        self.caption_row = QLabel("Caption")
        layout.addRow(self.caption_row, self.caption)
        self.set_vocabulary(None)
        self.truncation = QDoubleSpinBox()
        self.truncation.setRange(0.0, 1.0)
        self.truncation.setSingleStep(0.05)
        self.truncation.setValue(1.0)
        self.truncation.setToolTip("Truncation ψ: 1 draws freely; lower values trade variety for typical images "
                                   "(latents pulled toward the mean).")
        self.truncation_slider = QSlider(Qt.Orientation.Horizontal)
        self.truncation_slider.setRange(0, 100)  # ψ in hundredths
        self.truncation_slider.setValue(100)
        self.truncation_slider.setToolTip(self.truncation.toolTip())
        self.truncation_slider.valueChanged.connect(lambda value: self.truncation.setValue(value / 100))
        self.truncation.valueChanged.connect(lambda value: self.truncation_slider.setValue(round(value * 100)))
        truncation_row = QHBoxLayout()
        truncation_row.addWidget(self.truncation_slider, 1)
        truncation_row.addWidget(self.truncation)
        layout.addRow("Truncation", truncation_row)
        self.cutoff = QSpinBox()  # style-based generators: truncate the coarse layers only
        self.cutoff.setSpecialValueText("all layers")
        self.cutoff.setToolTip("Truncate only the style layers below this one (the coarse features); "
                               "'all layers' truncates every layer.")
        self.cutoff_label = QLabel("Truncate below")
        layout.addRow(self.cutoff_label, self.cutoff)
        self.mixing = QCheckBox("style-mixing grid")
        self.mixing.setToolTip("Generate a grid instead: each row seed's coarse styles with each column seed's "
                               "styles from the crossover layer on (Karras et al. 2019, figure 3).")
        self.row_seeds = QLineEdit("1, 2, 3")
        self.row_seeds.setToolTip("Row seeds (image 0 of each): the coarse styles, e.g. 1, 2, 5-7.")
        self.column_seeds = QLineEdit("10, 11, 12")
        self.column_seeds.setToolTip("Column seeds (image 0 of each): the styles from the crossover layer on.")
        self.crossover = QSpinBox()
        self.crossover.setToolTip("The first style layer taken from the column seed: low = all but the coarsest "
                                  "features, high = only the finest.")
        self._style_rows = [(QLabel("Mixing"), self.mixing), (QLabel("Row seeds"), self.row_seeds),
                            (QLabel("Column seeds"), self.column_seeds), (QLabel("Crossover layer"), self.crossover)]
        for title, widget in self._style_rows:
            layout.addRow(title, widget)
        self.set_classes([])
        self.set_style_layers(0)
        self._rng = random.Random()

    def randomise(self) -> int:
        self.seed.setValue(self._rng.randrange(0, 100000))
        return self.seed.value()

    def seed_for_run(self, first_run: bool = False) -> int:
        """The seed to use now: a fresh one unless locked (the first run keeps what the box shows)."""
        if not self.lock.isChecked() and not first_run:
            self.randomise()
        return self.seed.value()

    def set_classes(self, names: list[str]) -> None:
        self.label.clear()
        if names:
            self.label.addItem("all classes", None)
            for index, name in enumerate(names):
                self.label.addItem(name, index)
        self.label.setVisible(bool(names))
        self.label_row.setVisible(bool(names))

    def set_vocabulary(self, vocabulary: tuple[list[str], int] | None) -> None:
        """Show the caption box for a caption model ((words, max tokens)); None hides it."""
        self.caption.set_vocabulary(*(vocabulary or (None,)))
        self.caption_row.setVisible(vocabulary is not None)

    def chosen_label(self) -> int | None:
        return self.label.currentData() if self.label.count() else None

    def set_style_layers(self, count: int) -> None:
        """Show the cutoff and mixing controls for a style-based generator with `count` style layers (0: hide)."""
        self.style_layers = count
        self.cutoff.setRange(0, max(0, count - 1))  # 0 ("all layers") .. count - 1
        self.crossover.setRange(1, max(1, count - 1))
        self.crossover.setValue(max(1, count // 2))
        for widget in (self.cutoff_label, self.cutoff, *[w for row in self._style_rows for w in row]):
            widget.setVisible(count > 0)
        if not count:
            self.mixing.setChecked(False)

    def truncation_cutoff(self) -> int | None:
        """The chosen cutoff, or None (every layer truncated; also for generators without style layers)."""
        return self.cutoff.value() or None if self.style_layers else None

    def mixing_request(self) -> dict[str, Any] | None:
        """{row_seeds, column_seeds, layer} when the style-mixing grid is on, else None; UserError for bad seeds."""
        from genstudio.errors import UserError

        if not (self.style_layers and self.mixing.isChecked()):
            return None
        rows, columns = parse_seeds(self.row_seeds.text()), parse_seeds(self.column_seeds.text())
        if not rows or not columns:
            raise UserError("the style-mixing grid needs at least one row seed and one column seed")
        return {"row_seeds": rows, "column_seeds": columns, "layer": self.crossover.value()}

    def options(self) -> dict[str, Any]:
        return {"seed": self.seed.value(), "count": self.count.value(), "label": self.chosen_label(),
                "truncation": round(self.truncation.value(), 4), "truncation_cutoff": self.truncation_cutoff(),
                "caption": self.caption.caption()}


class StyleOptions(QWidget):
    """For stylizers: the content image (a file, or the image selected on the canvas), the style image with a
    preview, strength and output size."""

    def __init__(self, parent=None):
        super().__init__(parent)
        from pathlib import Path

        from PySide6.QtCore import Qt

        self._path_type = Path
        layout = QFormLayout(self)
        content_row = QHBoxLayout()
        self.content_label = QLabel("selected canvas image")
        self.content_label.setWordWrap(True)
        self.content_button = QToolButton()
        self.content_button.setText("File…")
        self.content_button.setToolTip("Stylize an image file instead of the image selected on the canvas.")
        self.content_button.clicked.connect(self._pick_content)
        content_row.addWidget(self.content_label, 1)
        content_row.addWidget(self.content_button)
        layout.addRow("Content", content_row)
        style_row = QHBoxLayout()
        self.style_preview = QLabel("none")
        self.style_preview.setFixedSize(72, 72)
        self.style_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.style_preview.setStyleSheet("background: #1c1e22; color: #aab0b8;")
        self.style_button = QPushButton("Style image…")
        self.style_button.clicked.connect(self._pick_style)
        style_row.addWidget(self.style_preview)
        style_row.addWidget(self.style_button, 1)
        self.style_label = QLabel("Style")
        layout.addRow(self.style_label, style_row)
        self.choices = ChoiceRows(layout, layout.rowCount())  # a multi-style network's declared choice inputs
        strength_row = QHBoxLayout()
        self.use_strength = QCheckBox()
        self.use_strength.setToolTip("Unticked: the backend's own default strength.")
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.0, 1.0)  # what the stylizers accept (the CLI's --strength too)
        self.strength.setSingleStep(0.1)
        self.strength.setValue(1.0)
        self.strength.setEnabled(False)
        self.strength.setToolTip("How strongly the style is applied (0: the content unchanged).")
        self.use_strength.toggled.connect(self.strength.setEnabled)
        strength_row.addWidget(self.use_strength)
        strength_row.addWidget(self.strength, 1)
        self.strength_label = QLabel("Strength")
        layout.addRow(self.strength_label, strength_row)
        self._strength_widgets = (self.strength_label, self.use_strength, self.strength)
        self.direction = QComboBox()  # a translator's declared direction input (a2b | b2a, ...)
        self.direction.setToolTip("Which way the translator maps the image.")
        self.direction_label = QLabel("Direction")
        layout.addRow(self.direction_label, self.direction)
        self.set_directions(())
        self.max_size = QSpinBox()
        self.max_size.setRange(0, 4096)
        self.max_size.setSingleStep(64)
        self.max_size.setSpecialValueText("backend default")
        self.max_size.setValue(384)
        self.max_size.setToolTip("Longer side of the output in pixels; smaller is much faster.")
        layout.addRow("Max size", self.max_size)
        self.content_path = None
        self.style_path = None

    def _pick_content(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Content image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.set_content(path)

    def _pick_style(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Style image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.set_style(path)

    def set_content(self, path) -> None:
        self.content_path = self._path_type(path) if path else None
        self.content_label.setText(self.content_path.name if self.content_path else "selected canvas image")

    def set_style(self, path) -> None:
        from PySide6.QtCore import Qt

        from genstudio.gui.qimages import load_pixmap

        self.style_path = self._path_type(path) if path else None
        pixmap = load_pixmap(path, max_side=72) if path else None
        if pixmap is not None and not pixmap.isNull():
            self.style_preview.setPixmap(pixmap.scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio))
        else:
            self.style_preview.clear()
            self.style_preview.setText("none")
        self.style_button.setToolTip(str(path) if path else "")

    def set_needs_style(self, needs: bool) -> None:
        for widget in (self.style_label, self.style_preview, self.style_button):
            widget.setVisible(needs)

    def set_directions(self, choices: tuple[str, ...] | list[str]) -> None:
        """A translator's direction choices (its declared input; the first is the default); none hides the row.
        Translators take no style strength, so its row shows only without directions."""
        choices = list(choices)
        if [self.direction.itemText(i) for i in range(self.direction.count())] != choices:
            self.direction.clear()
            self.direction.addItems(choices)
        for widget in (self.direction_label, self.direction):
            widget.setVisible(bool(choices))
        for widget in self._strength_widgets:
            widget.setVisible(not choices)

    def options(self) -> dict[str, Any]:
        translating = self.direction.count() > 0
        return {"content": self.content_path, "style": self.style_path,
                "strength": (round(self.strength.value(), 4) if self.use_strength.isChecked() and not translating
                             else None),
                "direction": self.direction.currentText() if translating else None,
                "choices": self.choices.values(),  # {input name: value} of the backend's choice inputs
                "max_size": self.max_size.value() or None}


class WrappedLabel(QLabel):
    """A word-wrapped label whose minimum height is what its text needs at its width. The dock asks its panel for a
    minimum size without a width, where a wrapped label counts one line: a backend's long description then squeezed
    the boxes below it (the Stylize box's rows drawn over each other)."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width()) if self.width() > 0 else -1
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class ParametersPanel(QWidget):
    """The right dock: what is selected, its schema form, the generation options and the Generate button."""

    generate_requested = Signal()
    stylize_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout

        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        layout.addWidget(self.title)
        self.subtitle = WrappedLabel()
        self.subtitle.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.subtitle)
        self.settings_box = QGroupBox("Backend settings")
        box_layout = QVBoxLayout(self.settings_box)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        from PySide6.QtCore import Qt

        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(300)
        box_layout.addWidget(self.scroll)
        layout.addWidget(self.settings_box, 1)
        self.options_box = QGroupBox("Generate")
        options_layout = QVBoxLayout(self.options_box)
        self.options = GenerationOptions()
        options_layout.addWidget(self.options)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate_requested)
        options_layout.addWidget(self.generate_button)
        layout.addWidget(self.options_box)
        self.style_box = QGroupBox("Stylize")
        style_layout = QVBoxLayout(self.style_box)
        self.style = StyleOptions()
        style_layout.addWidget(self.style)
        self.stylize_button = QPushButton("Stylize")
        self.stylize_button.clicked.connect(self.stylize_requested)
        style_layout.addWidget(self.stylize_button)
        layout.addWidget(self.style_box)
        self.style_box.hide()
        self.form: SchemaForm | None = None
        self._editable = False
        self.show_empty()

    def show_empty(self) -> None:
        self.title.setText("Nothing selected")
        self.subtitle.setText("Pick a backend or a trained model in the library on the left.")
        self.form = None
        self.scroll.setWidget(QLabel("  No settings to show."))
        self.set_generate_enabled(False, "Pick a backend or a trained model in the library first.")

    def show_schema(self, title: str, subtitle: str, schema: ConfigSchema, values: dict[str, Any] | None = None,
                    read_only_reason: str = "") -> SchemaForm:
        """Show `schema`'s form. Showing the same editable schema again (the library re-read after queueing a
        job, say) keeps what the form holds instead of resetting it to the defaults."""
        same = self.form is not None and self.title.text() == title and self.form.schema.to_list() == schema.to_list()
        keep = self.form.values() if same and not values and not read_only_reason and self._editable else None
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        self.form = SchemaForm(schema)
        self._editable = not read_only_reason
        if values or keep:
            self.form.set_values(values or keep)
        if read_only_reason:
            self.form.set_read_only(True, read_only_reason)
        self.scroll.setWidget(self.form)
        return self.form

    def show_stylizer(self, stylizer: bool, needs_style: bool = True, directions: tuple[str, ...] = (),
                      backend: str = "", inputs: tuple = ()) -> None:
        """Stylizers and translators get the Stylize box (with a direction for translators, a picker for each
        choice input the backend declares in `inputs`) instead of the Generate box."""
        self.options_box.setVisible(not stylizer)
        self.style_box.setVisible(stylizer)
        self.style.set_needs_style(needs_style)
        self.style.set_directions(directions)
        self.style.choices.show_inputs(backend if stylizer else "", inputs if stylizer else ())
        self.style_box.setTitle("Translate" if directions else "Stylize")

    def set_stylize_enabled(self, enabled: bool, reason: str = "") -> None:
        self.stylize_button.setEnabled(enabled)
        self.stylize_button.setToolTip(reason or "Stylize the content image; input and result open in a "
                                       "before/after split on the canvas.")

    def set_generate_enabled(self, enabled: bool, reason: str = "") -> None:
        self.generate_button.setEnabled(enabled)
        self.generate_button.setToolTip(reason or "Generate images onto the canvas (Ctrl+G).")
