"""Model folders: the one place that saves, loads, validates and migrates trained models.

A trained model is a folder::

    model.json            schema version, backend id, plugin and version, config, data summary, metrics,
                          sha256 of the weights
    weights.safetensors   the backend's tensors (never a pickle)
    (model.onnx, samples.png and other files written by later steps)

`save_model` writes the weights first and model.json last, both atomically, so a folder with a model.json is
always complete. `load_model` never unpickles; it rejects an unknown schema, a backend that is not installed,
weights that do not match the recorded hash, NaN/Inf values and tensors whose names or shapes do not match what
the backend builds, each with a one-line `ModelFileError`. `read_card` reads model.json without importing torch.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio._version import __version__
from genstudio.backends import BackendSpec, check_model_kind
from genstudio.errors import ModelFileError, UserError
from genstudio.fileio import atomic_write_bytes, atomic_write_json, sha256_file

if TYPE_CHECKING:
    import torch

    from genstudio.plugins import PluginRegistry

CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
SCHEMA_VERSION = 1  # bump with a migration in _MIGRATIONS when model.json changes shape


@dataclass
class ModelCard:
    """The contents of model.json."""

    backend: str
    plugin: str
    plugin_version: str
    config: dict[str, Any]
    weights_sha256: str
    schema_version: int = SCHEMA_VERSION
    genstudio_version: str = __version__
    created: str = ""  # ISO 8601, UTC
    data: dict[str, Any] = field(default_factory=dict)  # what it was trained on: folder, count, classes
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. {"fid": 12.3}
    extra: dict[str, Any] = field(default_factory=dict)  # anything else a backend records (e.g. class names)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedModel:
    """A model folder loaded and checked: its card, its backend and the torch module holding the weights."""

    folder: Path
    card: ModelCard
    spec: BackendSpec
    module: torch.nn.Module


# Migrations of model.json itself: from schema version N to N + 1. Version 1 is the first.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def read_card(folder: str | Path) -> ModelCard:
    """Read and migrate model.json (no torch). Raises ModelFileError with one line for anything wrong."""
    folder = Path(folder)
    card_path = folder / CARD_FILE
    if not folder.is_dir():
        raise ModelFileError(f"{folder} is not a folder; a model is a folder holding {CARD_FILE}")
    if not card_path.is_file():
        raise ModelFileError(f"{folder} is not a model folder: {CARD_FILE} is missing")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{card_path} is not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ModelFileError(f"{card_path} must hold a JSON object")
    raw = _migrate(raw, card_path)
    missing = [name for name in ("backend", "plugin", "plugin_version", "config", "weights_sha256") if name not in raw]
    if missing:
        raise ModelFileError(f"{card_path} lacks {', '.join(missing)}")
    for name, kind, what in _CARD_TYPES:  # a hand-edited or foreign model.json: one line, not a traceback later
        if name in raw and not (isinstance(raw[name], kind) or (name in _NULLABLE and raw[name] is None)):
            raise ModelFileError(f"{card_path}: {name} must be {what}, not {type(raw[name]).__name__}")
    raw = {**raw, **{name: {} for name in _NULLABLE if raw.get(name) is None}}
    known = ModelCard.__dataclass_fields__
    return ModelCard(**{key: value for key, value in raw.items() if key in known})


_CARD_TYPES = (("backend", str, "a string"), ("plugin", str, "a string"), ("plugin_version", str, "a string"),
               ("weights_sha256", str, "a string"), ("config", dict, "a JSON object"),
               ("genstudio_version", str, "a string"), ("created", str, "a string"),
               ("data", dict, "a JSON object"), ("metrics", dict, "a JSON object"), ("extra", dict, "a JSON object"))
_NULLABLE = ("data", "metrics", "extra")


def _migrate(raw: dict[str, Any], card_path: Path) -> dict[str, Any]:
    version = raw.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{card_path}: unknown schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise ModelFileError(
            f"{card_path} has schema_version {version}, newer than this genstudio understands ({SCHEMA_VERSION}); "
            "upgrade genstudio"
        )
    while version < SCHEMA_VERSION:
        raw = _MIGRATIONS[version](dict(raw))
        version += 1
        raw["schema_version"] = version
    return raw


def save_model(
    folder: str | Path,
    spec: BackendSpec,
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    *,
    data: Mapping[str, Any] | None = None,  # a summary of the training data (DataReport.to_dict())
    metrics: Mapping[str, Any] | None = None,  # final metrics worth keeping
    extra: Mapping[str, Any] | None = None,  # backend-specific facts (class names, ...)
) -> ModelCard:
    """Write weights.safetensors then model.json into `folder`, each atomically. Returns the card written."""
    import torch
    from safetensors.torch import save as save_tensors

    folder = Path(folder)
    config = spec.schema.resolve(config)
    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        tensor = tensor.detach().to("cpu").contiguous().clone()  # clone: safetensors refuses shared storage
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise UserError(f"refusing to save {spec.id} weights: tensor {name!r} holds NaN or Inf (training diverged)")
        tensors[name] = tensor
    blob = save_tensors(tensors, metadata={"backend": spec.id, "format": "pt"})
    atomic_write_bytes(folder / WEIGHTS_FILE, blob)
    card = ModelCard(
        backend=spec.id,
        plugin=spec.plugin,
        plugin_version=spec.plugin_version,
        config=dict(config),
        weights_sha256=hashlib.sha256(blob).hexdigest(),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        data=dict(data or {}),
        metrics=dict(metrics or {}),
        extra=dict(extra or {}),
    )
    atomic_write_json(folder / CARD_FILE, card.to_dict())
    return card


def update_card(folder: str | Path, **changes: Any) -> ModelCard:
    """Change fields of an existing model.json (e.g. metrics after evaluation), atomically."""
    card = read_card(folder)
    for key, value in changes.items():
        if key not in ModelCard.__dataclass_fields__:
            raise ValueError(f"ModelCard has no field {key!r}")
        setattr(card, key, value)
    atomic_write_json(Path(folder) / CARD_FILE, card.to_dict())
    return card


def load_model(
    folder: str | Path,
    *,
    registry: PluginRegistry | None = None,  # None: the process-wide registry
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Load a model folder into its backend's module, after every check. The module is in eval mode."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    card, spec = read_checked_card(folder, registry)
    config = card.config

    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelFileError(f"{folder} is incomplete: {WEIGHTS_FILE} is missing")
    if sha256_file(weights_path) != card.weights_sha256:
        raise ModelFileError(f"{weights_path} does not match the sha256 in {CARD_FILE} (changed or corrupt file)")
    try:
        tensors = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{weights_path} is not a valid safetensors file ({exc})") from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelFileError(f"{weights_path}: tensor {name!r} holds NaN or Inf values")

    module = spec.load().build(config)
    _check_tensors(weights_path, module.state_dict(), tensors)
    module.load_state_dict(tensors, strict=True)
    check_model_kind(spec, module)
    module.to(device).eval()
    return LoadedModel(folder, card, spec, module)


def read_checked_card(folder: str | Path, registry: PluginRegistry | None = None) -> tuple[ModelCard, BackendSpec]:
    """model.json with its backend installed and its config upgraded and validated (card.config is the result); no
    weights are read and torch is not imported. What `load_model` starts with, and all an ONNX model needs."""
    from genstudio.plugins import get_registry

    folder = Path(folder)
    card = read_card(folder)
    registry = registry or get_registry()
    try:
        spec = registry.backend(card.backend)
    except UserError as exc:
        raise ModelFileError(
            f"{folder} needs backend {card.backend!r} from plugin {card.plugin} {card.plugin_version}, "
            f"which is not available ({exc})"
        ) from None
    config = _upgrade_config(registry, card)
    try:
        config = spec.schema.resolve(config)
    except UserError as exc:
        raise ModelFileError(f"{folder / CARD_FILE}: config does not fit backend {spec.id!r}: {exc}") from None
    card.config = config
    return card, spec


def _upgrade_config(registry: PluginRegistry, card: ModelCard) -> dict[str, Any]:
    upgraded = registry.manager.hook.upgrade_model_config(
        backend=card.backend, plugin_version=card.plugin_version, config=copy.deepcopy(card.config)
    )
    return dict(upgraded) if upgraded is not None else dict(card.config)


def _check_tensors(path: Path, expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> None:
    def first(names: set[str]) -> str:
        listed = sorted(names)
        return ", ".join(listed[:3]) + (f" and {len(listed) - 3} more" if len(listed) > 3 else "")

    missing = set(expected) - set(found)
    unexpected = set(found) - set(expected)
    if missing:
        raise ModelFileError(f"{path} lacks tensors the backend needs: {first(missing)}")
    if unexpected:
        raise ModelFileError(f"{path} holds tensors the backend does not know: {first(unexpected)}")
    for name, tensor in expected.items():
        if tuple(found[name].shape) != tuple(tensor.shape):
            raise ModelFileError(
                f"{path}: tensor {name!r} has shape {tuple(found[name].shape)}, "
                f"the backend expects {tuple(tensor.shape)}"
            )


@dataclass
class Opened:
    """A model folder or a backend id opened for use (`open_model_or_backend`)."""

    spec: BackendSpec
    module: torch.nn.Module  # in eval mode on the device
    loaded: LoadedModel | None  # None for a backend id
    settings: dict[str, Any]  # the config it runs with: the folder's saved one, or the backend id's resolved one

    @property
    def what(self) -> str:
        """For messages: the folder, or "backend 'id'"."""
        return str(self.loaded.folder) if self.loaded is not None else f"backend {self.spec.id!r}"


@dataclass
class Target:
    """What the user named (`resolve_target`), checked but not loaded: no weights read, no torch."""

    spec: BackendSpec
    folder: Path | None  # the model folder, or None for a backend id
    card: ModelCard | None  # model.json, its config upgraded and validated; None for a backend id
    settings: dict[str, Any]  # the config it runs with

    @property
    def what(self) -> str:
        """For messages: the folder, or "backend 'id'"."""
        return str(self.folder) if self.folder is not None else f"backend {self.spec.id!r}"


def is_folder_target(target: str | Path) -> bool:
    """Whether what the user named is meant as a model folder (anything that looks like a path) or a backend id."""
    text = str(target)
    return Path(text).is_dir() or "/" in text or "\\" in text or text.startswith(".")


def resolve_target(
    target: str | Path,  # a model folder, or the id of a backend that needs no training
    kinds: tuple[Any, ...],  # the BackendKinds the operation accepts
    what: str,  # what the operation needs, for the error: "a stylizer or translator"
    *,
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping
    assignments: list[str] | tuple[str, ...] = (),  # --set key=value for a backend id, over `config`
) -> Target:
    """The checks of `open_model_or_backend` without building anything: the folder's card and backend, or the
    backend id's kind and settings. An operation that runs an ONNX graph needs no more than this."""
    from genstudio.plugins import get_registry

    if is_folder_target(target):
        if config or assignments:
            raise UserError("--set applies to backend ids (e.g. gatys, shapes); a trained model folder's settings "
                            "are fixed")
        card, spec = read_checked_card(target)
        resolved = Target(spec, Path(str(target)), card, dict(card.config))
    else:
        spec = get_registry().backend(str(target))
        if spec.kind not in kinds:
            raise UserError(f"backend {spec.id!r} is a {spec.kind.value}, not {what}")
        if spec.capabilities.trainable:
            raise UserError(f"backend {spec.id!r} needs a trained model folder: train one with `genstudio train "
                            f"{spec.id}`")
        settings = spec.schema.resolve({**(config or {}), **spec.schema.parse_assignments(list(assignments))})
        resolved = Target(spec, None, None, settings)
    if resolved.spec.kind not in kinds:
        raise UserError(f"{resolved.what} is a {resolved.spec.kind.value} ({resolved.spec.id}), not {what}")
    return resolved


def open_model_or_backend(
    target: str | Path,  # a model folder, or the id of a backend that needs no training
    kinds: tuple[Any, ...],  # the BackendKinds the operation accepts
    what: str,  # what the operation needs, for the error: "a stylizer or translator"
    *,
    device: str | torch.device = "cpu",
    config: dict[str, Any] | None = None,  # a backend id's settings as a mapping
    assignments: list[str] | tuple[str, ...] = (),  # --set key=value for a backend id, over `config`
) -> Opened:
    """The one way operations open what the user named: a trained model folder (checked by `load_model`), or a
    backend that needs no training built from its settings. Anything that looks like a path is a folder, so a
    missing one gets load_model's one-line reason."""
    from genstudio.plugins import get_registry

    text = str(target)
    if Path(text).is_dir() or "/" in text or "\\" in text or text.startswith("."):
        if config or assignments:
            raise UserError("--set applies to backend ids (e.g. gatys, shapes); a trained model folder's settings "
                            "are fixed")
        loaded = load_model(text, device=device)
        opened = Opened(loaded.spec, loaded.module, loaded, dict(loaded.card.config))
    else:
        spec = get_registry().backend(text)
        if spec.kind not in kinds:
            raise UserError(f"backend {spec.id!r} is a {spec.kind.value}, not {what}")
        if spec.capabilities.trainable:
            raise UserError(f"backend {spec.id!r} needs a trained model folder: train one with `genstudio train "
                            f"{spec.id}`")
        settings = spec.schema.resolve({**(config or {}), **spec.schema.parse_assignments(list(assignments))})
        module = spec.load().build(settings)
        check_model_kind(spec, module)
        opened = Opened(spec, module.to(device).eval(), None, settings)
    if opened.spec.kind not in kinds:
        raise UserError(f"{opened.what} is a {opened.spec.kind.value} ({opened.spec.id}), not {what}")
    return opened
