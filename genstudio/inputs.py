"""Declared inputs: what a backend consumes besides noise and its settings.

A backend lists its inputs in `BackendSpec(inputs=(InputSpec(...), ...))`. Everything that names or carries an input
is derived from that one declaration, the way the config schema drives `--set` and the parameter form:

  * the command-line option (`InputSpec.option`: `--label`, `--style`, `--caption`, `--mask`, `--direction`; a
    choice input named `style` is `--style NAME|INDEX`) and
    the job parameter (`InputSpec.name`): `resolve_inputs` refuses one the backend does not declare, and asks for
    a required one that is missing, in one line naming the option;
  * the provenance fields (`provenance_fields`): a file input records its path (incidental: a moved file is still
    the same input) and its sha256 (what decides the pixels); a value input records the value;
  * the up-to-date key (the provenance record without its incidental fields, `INCIDENTAL_KEYS`);
  * the ONNX graph input (`InputSpec.graph_input`) an exported model is fed through (`choice_feed`: a choice's
    index, or a blend's weights);
  * the app's controls (a class picker, a style picker, a caption box).

Nothing here imports torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from genstudio.errors import UserError


class InputKind(str, Enum):
    """What an input is; decides how it is given, checked and recorded."""

    LABEL = "label"  # a class, by name or by index (conditional generators and autoencoders)
    CAPTION = "caption"  # a text (caption-conditioned generators)
    IMAGE = "image"  # the image being transformed: a stylizer's content, a translator's or restorer's source
    STYLE = "style"  # a style image (arbitrary-style stylizers)
    MASK = "mask"  # an image, white where the picture is to be filled (inpainting)
    DIRECTION = "direction"  # one of `choices` (a two-way translator's "a2b" / "b2a")
    CHOICE = "choice"  # one of `choices` by name or index (a multi-style network's styles); `blend`: a mix of them

    def __str__(self) -> str:
        return self.value


FILE_KINDS = frozenset({InputKind.IMAGE, InputKind.STYLE, InputKind.MASK})  # given as a file path
CHOICE_KINDS = frozenset({InputKind.DIRECTION, InputKind.CHOICE})  # one of a declared list of names
_DEFAULT_NAMES = {InputKind.IMAGE: "input"}  # the content image is `input`, as the folder pipeline records it
_DEFAULT_GRAPH = {InputKind.LABEL: "labels", InputKind.IMAGE: "content"}


@dataclass(frozen=True)
class InputSpec:
    """One declared input. `name` defaults to the kind's value (`input` for IMAGE)."""

    kind: InputKind
    name: str = ""  # the job parameter and provenance key; the CLI option is --name
    required: bool = True  # False: the operation has a default (e.g. a label cycles through the classes)
    help: str = ""  # one sentence, shown by --help, `backends show` and the app
    choices: tuple[str, ...] = ()  # DIRECTION, CHOICE: the allowed values; the first is the default
    graph_input: str = ""  # the ONNX graph input fed with it; default: "labels", "content" or the name
    blend: bool = False  # CHOICE: a weighted mix ("candy:0.3,mosaic:0.7") is allowed; the graph gets the weights

    def __post_init__(self) -> None:
        if not isinstance(self.kind, InputKind):
            object.__setattr__(self, "kind", InputKind(self.kind))
        if not self.name:
            object.__setattr__(self, "name", _DEFAULT_NAMES.get(self.kind, self.kind.value))
        if not self.graph_input:
            object.__setattr__(self, "graph_input", _DEFAULT_GRAPH.get(self.kind, self.name))
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.kind in CHOICE_KINDS and not self.choices:
            raise ValueError(f"input {self.name!r}: a {self.kind.value} input must list its choices")
        if self.choices and self.kind not in CHOICE_KINDS:
            raise ValueError(f"input {self.name!r}: only a direction or choice input takes choices")
        bad = [c for c in self.choices if not isinstance(c, str) or not c.strip() or c.strip() != c
               or any(char in c for char in ",:") or c.isdigit()]
        if bad or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"input {self.name!r}: choices must be unique names without ',' or ':' (and not bare "
                             f"numbers, which mean an index), got {list(self.choices)}")
        if self.blend and self.kind != InputKind.CHOICE:
            raise ValueError(f"input {self.name!r}: only a choice input blends")

    @property
    def option(self) -> str:
        """The command-line option that gives it."""
        return "--" + self.name.replace("_", "-")

    @property
    def is_file(self) -> bool:
        return self.kind in FILE_KINDS

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name, "required": self.required, "help": self.help,
                "choices": list(self.choices), "graph_input": self.graph_input, "option": self.option,
                "blend": self.blend}


def find_input(inputs: tuple[InputSpec, ...], kind: InputKind) -> InputSpec | None:
    """The first declared input of `kind`, or None."""
    return next((spec for spec in inputs if spec.kind == kind), None)


def resolve_inputs(backend: str, inputs: tuple[InputSpec, ...], given: dict[str, Any],
                   *, provided_elsewhere: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check the inputs a request gives against the declaration: {name: value} with None for absent optional ones.

    `given` maps input names to values (None or "" = not given). A value for an undeclared input is refused; a
    required input that is missing is asked for; a file input must exist; a direction must be one of its choices.
    `provided_elsewhere` names inputs the operation supplies itself (the folder pipeline's `input`).
    """
    declared = {spec.name: spec for spec in inputs}
    for name, value in given.items():
        if value in (None, "") or name in declared:
            continue
        option = "--" + name.replace("_", "-")
        raise UserError(f"backend {backend!r} takes no {option}" + _takes(inputs))
    resolved: dict[str, Any] = {}
    for spec in inputs:
        value = given.get(spec.name)
        if value in (None, ""):
            if spec.required and not spec.choices and spec.name not in provided_elsewhere:
                what = "IMAGE" if spec.is_file else spec.kind.value.upper()
                raise UserError(f"backend {backend!r} needs {spec.option} {what}"
                                + (f": {spec.help}" if spec.help else ""))
            resolved[spec.name] = spec.choices[0] if spec.choices else None
            continue
        if spec.is_file:
            path = Path(os.fspath(value)).expanduser()
            if not path.is_file():
                raise UserError(f"{spec.option}: {path} does not exist or is not a file")
            value = path
        elif spec.kind == InputKind.DIRECTION and str(value) not in spec.choices:
            raise UserError(f"{spec.option} must be one of {', '.join(spec.choices)}, got {value!r}")
        elif spec.kind == InputKind.CHOICE:
            value = choose(spec, value)
        resolved[spec.name] = value
    return resolved


def choice_weights(spec: InputSpec, value: Any) -> dict[str, float]:
    """A choice input's value as {name: weight}, the weights summing to 1, in the order of `spec.choices`.

    A value is a name, an index (`3`), or, when `spec.blend`, a mix `name:weight,name:weight` (names or indexes;
    weights >= 0 with a positive sum, normalised). Anything else is a one-line UserError listing the choices."""
    text = str(value).strip()
    parts = [part.strip() for part in text.split(",")] if spec.blend else [text]
    weights: dict[str, float] = {}
    for part in parts:
        name, _, weight_text = part.partition(":") if spec.blend else (part, "", "")
        name = _choice_name(spec, name.strip(), text)
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            raise UserError(f"{spec.option}: {weight_text.strip()!r} is not a weight in {text!r}") from None
        if not weight >= 0 or weight == float("inf"):
            raise UserError(f"{spec.option}: weights must be finite and >= 0, got {weight_text.strip()} in {text!r}")
        weights[name] = weights.get(name, 0.0) + weight
    total = sum(weights.values())
    if total <= 0:
        raise UserError(f"{spec.option}: the weights of {text!r} add up to 0")
    return {name: weights[name] / total for name in spec.choices if weights.get(name)}


def choose(spec: InputSpec, value: Any) -> str:
    """The canonical text of a choice input's value: its name (`mosaic`), or for a blend `a:0.25,b:0.75` (weights
    normalised, 6 significant digits, in the order of the choices). What provenance records and reproduce reads."""
    weights = choice_weights(spec, value)
    if len(weights) == 1:
        return next(iter(weights))
    return ",".join(f"{name}:{weight:.6g}" for name, weight in weights.items())


def choice_feed(spec: InputSpec, value: Any):
    """What an ONNX graph's input for a choice or direction gets: the index (int64, shape 1), or for a blending
    choice input the weights of every choice (float32, shape len(choices))."""
    import numpy as np

    if spec.blend:
        weights = choice_weights(spec, value)
        return np.array([weights.get(name, 0.0) for name in spec.choices], dtype=np.float32)
    name = _choice_name(spec, str(value).strip(), str(value))
    return np.array([spec.choices.index(name)], dtype=np.int64)


def _choice_name(spec: InputSpec, text: str, whole: str) -> str:
    if text in spec.choices:
        return text
    if text.isdigit() and int(text) < len(spec.choices):
        return spec.choices[int(text)]
    mix = " (or a mix such as a:0.5,b:0.5)" if spec.blend else ""
    raise UserError(f"{spec.option} must be one of {', '.join(spec.choices)} or an index 0..{len(spec.choices) - 1}"
                    f"{mix}, got {whole!r}")


def _takes(inputs: tuple[InputSpec, ...]) -> str:
    return f" (it takes {', '.join(spec.option for spec in inputs)})" if inputs else " (it takes no inputs)"


def provenance_fields(inputs: tuple[InputSpec, ...], values: dict[str, Any],
                      skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record fields of the file inputs: `<name>` (the absolute path; incidental) and `<name>_sha256`.
    Value inputs (label, caption, direction) belong to the record's parameters, where the operation puts them."""
    from genstudio.fileio import sha256_file

    fields: dict[str, Any] = {}
    for spec in inputs:
        if not spec.is_file or spec.name in skip:
            continue
        value = values.get(spec.name)
        fields[spec.name] = str(Path(value).resolve()) if value is not None else None
        fields[f"{spec.name}_sha256"] = sha256_file(value) if value is not None else None
    return fields


# The record fields that never decide the pixels: when the image was made, and where its file inputs were at the
# time (a moved file is the same input, by sha256). The file-input names of every kind are listed so records of
# any backend compare alike; `input_a`/`input_b` are an interpolation's two ends.
INCIDENTAL_KEYS = ("time", "input", "style", "mask", "input_a", "input_b")
