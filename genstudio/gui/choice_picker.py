"""The Stylize box's pickers for a backend's declared choice inputs (`InputKind.CHOICE` in genstudio.inputs: a
multi-style network's built-in styles): a combo box of the choices by name, and for an input that declares `blend`
a weight per choice.

A picker's value is the text the command line's option takes (`--style moss`, `--style ember:70,moss:30`), and the
app sends it through the same core call as the CLI (`choices=` of genstudio.batch.stylize.stylize_folder, the
folder job's parameter of the same name), so `genstudio.inputs.resolve_inputs` checks it and provenance records
`choose()`'s canonical text, whichever way the request came. The last value is remembered per backend (settings
`gui.choices`); Reuse settings puts a recorded value back (`set_values`).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.inputs import InputKind, InputSpec, choice_weights, choose

CHOICES_KEY = "gui.choices"  # settings: {backend id: {input name: the value last used}}


def whole_weights(spec: InputSpec, value: Any) -> str:
    """`choose(spec, value)` with whole-number weights (`ember:1,moss:3` for `ember:0.25,moss:0.75`): the same mix,
    which `choose` writes the same, and a text the job queue cannot take for a file path (its `style` parameter is
    a style image's path or a choice, and a value with a suffix such as `.75` reads as a path)."""
    canonical = choose(spec, value)
    if "," not in canonical:
        return canonical
    parts = [part.rpartition(":") for part in canonical.split(",")]
    weights = [Decimal(weight) for _, _, weight in parts]
    scale = Decimal(10) ** max(0, max(-weight.as_tuple().exponent for weight in weights))
    return ",".join(f"{name}:{int(weight * scale)}" for (name, _, _), weight in zip(parts, weights, strict=True))


def input_label(spec: InputSpec) -> str:
    """A choice input's row label: its name with the first letter raised ("Style")."""
    text = spec.name.replace("_", " ")
    return text[:1].upper() + text[1:]


class ChoicePicker(QWidget):
    """One choice input: a combo box of its choices and, when it blends, a Blend box and a slider per choice."""

    changed = Signal()

    def __init__(self, spec: InputSpec, parent=None):
        super().__init__(parent)
        self.spec = spec
        self._exact: str | None = None  # a set mix the sliders' whole percents cannot hold, until a slider moves
        self._quiet = False  # True while set_value moves the widgets
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.combo = QComboBox()
        for name in spec.choices:
            self.combo.addItem(name, name)
        self.combo.setToolTip(spec.help or f"One of the backend's built-in {spec.name} choices.")
        self.combo.currentIndexChanged.connect(self._emit)
        top.addWidget(self.combo, 1)
        self.mixed = QLabel("a mix: the weights below")  # in the combo's place while blending
        self.mixed.setStyleSheet("color: palette(mid);")
        self.mixed.setVisible(False)
        top.addWidget(self.mixed, 1)
        self.blend = QCheckBox("Blend")
        self.blend.setToolTip("Mix several choices, each with its own weight (the weights are shares of their sum).")
        self.blend.setVisible(spec.blend)
        self.blend.toggled.connect(self._blend_toggled)
        top.addWidget(self.blend)
        layout.addLayout(top)
        self.mix = QWidget()
        grid = QGridLayout(self.mix)
        grid.setContentsMargins(8, 0, 0, 0)
        grid.setVerticalSpacing(2)
        self.sliders: dict[str, QSlider] = {}
        self.shares: dict[str, QLabel] = {}
        for row, name in enumerate(spec.choices if spec.blend else ()):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setToolTip(f"Weight of {name}")
            slider.valueChanged.connect(self._slider_moved)
            slider.sliderReleased.connect(self._emit)
            share = QLabel()
            share.setMinimumWidth(36)
            share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(share, row, 2)
            self.sliders[name], self.shares[name] = slider, share
        layout.addWidget(self.mix)
        self.mix.setVisible(False)
        self._show_shares()

    # ------------------------------------------------------------------ value

    def value(self) -> str:
        """What the CLI's option would be given: a choice's name, or a mix with whole-number weights."""
        if not self.blend.isChecked():
            return str(self.combo.currentData())
        if self._exact is not None:
            return self._exact
        return ",".join(f"{name}:{slider.value()}" for name, slider in self.sliders.items() if slider.value()) \
            or ",".join(f"{name}:0" for name in self.sliders)  # all at 0: the core says the weights add up to 0

    def set_value(self, value: Any) -> None:
        """Show `value` (a name, an index or a mix, as the CLI takes it); UserError when the input does not take it."""
        weights = choice_weights(self.spec, value)
        self._quiet = True
        try:
            if len(weights) == 1:
                self.combo.setCurrentIndex(self.spec.choices.index(next(iter(weights))))
                self.blend.setChecked(False)
                self._exact = None
            else:
                percents = {name: round(weights.get(name, 0.0) * 100) for name in self.sliders}
                for name, slider in self.sliders.items():
                    slider.setValue(percents[name])
                self.blend.setChecked(True)
                shown = ",".join(f"{name}:{share}" for name, share in percents.items() if share)
                same = bool(shown) and choose(self.spec, shown) == choose(self.spec, value)
                self._exact = None if same else whole_weights(self.spec, value)
        finally:
            self._quiet = False
        self._show_shares()
        self.changed.emit()

    # ------------------------------------------------------------------ reacting

    def _emit(self, *_args) -> None:
        if not self._quiet:
            self.changed.emit()

    def _blend_toggled(self, on: bool) -> None:
        self.mix.setVisible(on)
        self.combo.setVisible(not on)
        self.mixed.setVisible(on)
        if not self._quiet:
            self._quiet = True
            values = {name: slider.value() for name, slider in self.sliders.items()}
            if on and not any(values.values()):  # a new mix starts from the chosen style alone
                self.sliders[str(self.combo.currentData())].setValue(100)
            elif not on and any(values.values()):  # back to one style: the mix's heaviest
                self.combo.setCurrentIndex(self.spec.choices.index(max(values, key=values.get)))
            self._quiet = False
        self._show_shares()
        self._emit()

    def _slider_moved(self, _value: int) -> None:
        if self._quiet:
            return
        self._exact = None  # the user's own weights from now on
        self._show_shares()
        if not any(slider.isSliderDown() for slider in self.sliders.values()):
            self.changed.emit()  # keys, wheel and clicks; a drag reports once, when released

    def _show_shares(self) -> None:
        """Each slider's share of the mix, as the network gets it (the weights normalised)."""
        exact = choice_weights(self.spec, self._exact) if self._exact is not None else None
        total = sum(slider.value() for slider in self.sliders.values())
        for name, slider in self.sliders.items():
            share = exact.get(name, 0.0) if exact is not None else (slider.value() / total if total else None)
            self.shares[name].setText("–" if share is None else f"{share:.0%}")


class ChoiceRows:
    """The pickers of the selected backend's choice inputs, as rows of the Stylize box's form (inserted at
    `first_row`), rebuilt only when the backend or its declaration changes. Values are remembered per backend."""

    def __init__(self, form: QFormLayout, first_row: int):
        self.form = form
        self.first_row = first_row
        self.backend = ""
        self.declared: tuple[InputSpec, ...] = ()
        self.pickers: dict[str, ChoicePicker] = {}

    def show_inputs(self, backend: str, inputs: tuple[InputSpec, ...] = ()) -> None:
        """One picker per choice input of `backend` (none: no rows), showing the value last used with it."""
        declared = tuple(spec for spec in inputs if spec.kind == InputKind.CHOICE)
        if (backend, declared) == (self.backend, self.declared):
            return
        for picker in self.pickers.values():
            self.form.removeRow(picker)  # deletes the picker and its label
        self.backend, self.declared, self.pickers = backend, declared, {}
        remembered = _remembered().get(backend, {})
        for row, spec in enumerate(declared):
            picker = ChoicePicker(spec)
            label = QLabel(input_label(spec))
            label.setToolTip(spec.help)
            self.form.insertRow(self.first_row + row, label, picker)
            with contextlib.suppress(UserError):  # remembered under an older declaration: the default instead
                if isinstance(remembered, dict) and remembered.get(spec.name) is not None:
                    picker.set_value(remembered[spec.name])
            picker.changed.connect(self.remember)
            self.pickers[spec.name] = picker

    def values(self) -> dict[str, str]:
        """{input name: value} of the shown pickers ({} when the backend declares no choice input)."""
        return {name: picker.value() for name, picker in self.pickers.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show recorded values (Reuse settings); UserError for one the backend's declaration refuses."""
        for name, value in values.items():
            if name in self.pickers:
                self.pickers[name].set_value(value)

    def remember(self) -> None:
        """Keep the shown values as this backend's last ones (settings `gui.choices`)."""
        from genstudio.settings import Settings

        if not self.backend or not self.pickers:
            return
        with contextlib.suppress(UserError, OSError):  # an unreadable settings file is reported in Settings…
            settings = Settings.load()
            memory = settings.get(CHOICES_KEY)
            memory = dict(memory) if isinstance(memory, dict) else {}
            if memory.get(self.backend) != self.values():
                memory[self.backend] = self.values()
                settings.set(CHOICES_KEY, memory)


def _remembered() -> dict[str, Any]:
    from genstudio.settings import Settings

    try:
        value = Settings.load().get(CHOICES_KEY)
    except UserError:
        return {}
    return value if isinstance(value, dict) else {}
