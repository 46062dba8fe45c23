"""The backend contract: what a plugin registers and what the loaded code must provide.

A plugin's `register_backends` hook returns `BackendSpec` descriptors. A descriptor is light: ids, text, a
config schema, capabilities and the *name* of the code that implements it (`"package.module:attr"`). Listing
backends therefore imports no torch and none of the plugin's heavy modules; `BackendSpec.load()` imports the
implementation on first use.

The implementation (`BackendSpec.load()`'s result) follows `BackendImpl`: it builds a torch module from a
validated config. What that module offers depends on the backend's kind (`GeneratorModel`, `AutoencoderModel`,
`StylizerModel`, `TranslatorModel`, `RestorerModel`). Training and export add their own methods in later contracts.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from genstudio.capabilities import CAPABILITIES
from genstudio.errors import UserError
from genstudio.inputs import InputKind, InputSpec, find_input
from genstudio.schema import ConfigSchema

if TYPE_CHECKING:  # annotations only: importing this module must not import torch
    import torch

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_LOADER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_BUNDLED = re.compile(r"^[A-Za-z_][\w.]*:[^\\:]+$")  # package:relative/path (no .. parts, see WeightsRef)


class BackendKind(str, Enum):
    """What a backend does with images."""

    GENERATOR = "generator"  # noise (and labels) -> images
    AUTOENCODER = "autoencoder"  # images <-> latents; sample new images
    STYLIZER = "stylizer"  # content image (+ style image) -> image
    TRANSLATOR = "translator"  # image -> image
    RESTORER = "restorer"  # image (+ mask) -> image: inpaint, denoise, upscale (the declared `task` choice)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WeightsRef:
    """A pretrained file a backend needs and cannot train itself (VGG19 for style losses, an ONNX graph, ...).

    Found by `genstudio.weights.find_weights`, in order: a path given by the caller, the setting, the model folder
    (for a model folder of the backend), the plugin's package data (`bundled`), the torch hub cache. Never
    downloaded; a missing file is one line naming it and where it was looked for."""

    name: str  # e.g. "vgg19"; unique among a backend's refs
    filename: str  # the file expected in the torch hub cache and the model folder, e.g. "vgg19-dcbb9e9d.pth"
    sha256_prefix: str = ""  # the hash prefix torchvision puts in the file name, when there is one
    setting: str = ""  # the settings key / CLI option that points elsewhere, e.g. "weights.vgg19"
    sha256: str = ""  # the file's full sha256 (64 hex digits): checked whenever the file is used
    bundled: str = ""  # "package:path/inside/it": the file ships as the plugin's package data

    def __post_init__(self) -> None:
        if self.sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
            raise ValueError(f"WeightsRef {self.name!r}: sha256 must be 64 hex digits, got {self.sha256!r}")
        inside = self.bundled.partition(":")[2]
        if self.bundled and (not _BUNDLED.match(self.bundled) or inside.startswith("/") or ".." in inside.split("/")):
            raise ValueError(f"WeightsRef {self.name!r}: bundled must look like 'package:path/to/file', "
                             f"got {self.bundled!r}")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "filename": self.filename, "sha256_prefix": self.sha256_prefix,
                "setting": self.setting, "sha256": self.sha256, "bundled": self.bundled}


TRUNCATION_CHOICES = ("prior", "own", "none")
RUNTIME_CHOICES = ("torch", "onnx")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared: the CLI, the app and the core enable options and call optional methods
    from these, never from probing the code. Each field is a row of `genstudio.capabilities.CAPABILITIES`; those
    with a method are checked when the backend loads (`check_impl`, `check_model`).

    `conditional` and `needs_style_image` are views of the declared inputs (`BackendSpec.inputs`): a backend that
    sets them without declaring the input gets the input declared for it."""

    trainable: bool = False  # `genstudio train` accepts it: the implementation has create_training
    exportable: bool = False  # `genstudio export` writes a parity-checked ONNX model
    export_recipe: bool = False  # the module brings its own graphs: export_graphs()
    records_extra: bool = False  # the implementation's model_extra(config) goes into model.json
    truncation: str = "prior"  # generators: "prior" (z * psi), "own" (module.truncate(z, psi)) or "none"
    style_mixing: bool = False  # style-based generators: generate_styles(...) (truncation in W, mixing)
    likelihood: bool = False  # the module has elbo() and iwae_log_likelihood() (genstudio eval's NLL)
    drawing_steps: bool = False  # the module's drawing_steps(z) -> the canvas after each step (genstudio animate)
    prepares_style: bool = False  # stylizers: the module's prepare_style(style) feeds an exported style input
    postprocesses: bool = False  # stylizers: the module's postprocess(...) finishes an exported graph's output
    class_names: bool = False  # the module names its classes (backends that need no training)
    tile_safe: bool = True  # image-to-image: fully convolutional, so large images may be processed in tiles
    reports_progress: bool = False  # the module's stylize/translate takes progress= and abort= (long optimisations)
    aspect: bool = False  # training reads images at the config's `aspect` (W:H) by `aspect_fit` (crop | pad)
    pretrained_weights: tuple[WeightsRef, ...] = ()  # networks that must be present to run or train
    runtime: str = "torch"  # "torch": build(config) -> module; "onnx": ONNX graphs only (onnx_graph), no torch
    conditional: bool = False  # a view of the inputs: takes a class label
    needs_style_image: bool = False  # a view of the inputs: takes a style image

    def __post_init__(self) -> None:
        if self.truncation not in TRUNCATION_CHOICES:
            raise ValueError(f"Capabilities.truncation must be one of {', '.join(TRUNCATION_CHOICES)}, "
                             f"got {self.truncation!r}")
        if self.runtime not in RUNTIME_CHOICES:
            raise ValueError(f"Capabilities.runtime must be one of {', '.join(RUNTIME_CHOICES)}, got {self.runtime!r}")
        object.__setattr__(self, "pretrained_weights", tuple(self.pretrained_weights))
        if self.runtime == "onnx":
            from genstudio.capabilities import TORCH_ONLY

            torch_only = [name for name in TORCH_ONLY if getattr(self, name)]
            if self.truncation == "own":
                torch_only.append("truncation='own'")
            if torch_only:
                raise ValueError(f"an ONNX-only backend (runtime='onnx') has no torch module, so it cannot declare "
                                 f"{', '.join(torch_only)}")
            if not self.pretrained_weights:
                raise ValueError("an ONNX-only backend (runtime='onnx') must name its graph files in "
                                 "pretrained_weights")
        names = [ref.name for ref in self.pretrained_weights]
        if len(set(names)) != len(names):
            raise ValueError(f"pretrained_weights names must be unique, got {names}")

    def to_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["pretrained_weights"] = [ref.to_dict() for ref in self.pretrained_weights]
        return values


@dataclass(frozen=True)
class BackendSpec:
    """A light descriptor of one backend. Plugins create it; the registry fills in `plugin` and `plugin_version`."""

    id: str  # unique across plugins, lower-case with - or _: "dcgan", "fast-style"
    kind: BackendKind
    name: str  # for people: "DCGAN"
    description: str  # one or two sentences, with the paper it follows
    loader: str  # "package.module:attr", imported on first use; attr follows BackendImpl
    schema: ConfigSchema = field(default_factory=ConfigSchema)
    capabilities: Capabilities = field(default_factory=Capabilities)
    inputs: tuple[InputSpec, ...] = ()  # what it consumes besides noise and settings (genstudio.inputs)
    plugin: str = ""  # set by the registry: the plugin that registered it
    plugin_version: str = ""  # set by the registry

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"backend id {self.id!r} must be lower-case letters and digits joined by - or _")
        if not isinstance(self.kind, BackendKind):
            object.__setattr__(self, "kind", BackendKind(self.kind))
        if not _LOADER.match(self.loader):
            raise ValueError(f"backend {self.id!r}: loader must look like 'package.module:attr', got {self.loader!r}")
        object.__setattr__(self, "inputs", _reconcile_inputs(self))
        if self.capabilities.runtime == "onnx" and self.kind not in (*IMAGE_KINDS, BackendKind.GENERATOR):
            raise ValueError(f"backend {self.id!r}: an ONNX-only backend (runtime='onnx') must be a stylizer, "
                             f"translator or generator, not a {self.kind.value}")
        if self.capabilities.runtime == "onnx" and self.kind == BackendKind.GENERATOR and any(
                entry.kind in (InputKind.LABEL, InputKind.CAPTION) for entry in self.inputs):
            raise ValueError(f"backend {self.id!r}: an ONNX-only generator takes z alone (no labels or captions)")
        caps = self.capabilities
        missing = [name for name in ("aspect", "aspect_fit") if caps.aspect and name not in self.schema]
        if missing:
            raise ValueError(f"backend {self.id!r}: Capabilities.aspect reads the config's aspect and aspect_fit; its "
                             f"schema has no {', '.join(missing)}")
        object.__setattr__(self, "capabilities", replace(
            caps, conditional=self.input(InputKind.LABEL) is not None,
            needs_style_image=self.input(InputKind.STYLE) is not None))

    def input(self, kind: InputKind) -> InputSpec | None:
        """The declared input of `kind`, or None."""
        return find_input(self.inputs, kind)

    def with_plugin(self, plugin: str, version: str) -> BackendSpec:
        return replace(self, plugin=plugin, plugin_version=version)

    def load(self) -> BackendImpl:
        """Import and return the implementation. Import failures become a UserError naming the backend."""
        module_name, _, attr_path = self.loader.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr_path.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin costs its backend, not the caller
            raise UserError(
                f"backend {self.id!r} (plugin {self.plugin or '?'}) failed to load {self.loader}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return check_impl(self, obj)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "description": self.description,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "loader": self.loader,
            "capabilities": self.capabilities.to_dict(),
            "inputs": [spec.to_dict() for spec in self.inputs],
            "config": self.schema.to_list(),
        }


def checked_descriptors(result: Any, kind: type, hook: str, key: str) -> list:
    """A register_* hook's result: a list of `kind` descriptors whose `key` attribute is unique (None: [])."""
    if result is None:
        return []
    if not isinstance(result, (list, tuple)) or not all(isinstance(item, kind) for item in result):
        raise TypeError(f"{hook} must return a list of {kind.__name__}, got {type(result).__name__}")
    keys = [getattr(item, key) for item in result]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{hook} returned the same {key} twice: {keys}")
    return list(result)


def _reconcile_inputs(spec: BackendSpec) -> tuple[InputSpec, ...]:
    """The declared inputs, checked (unique names, InputSpec entries), plus those the older flags imply: an
    image-to-image kind always takes its `input` image; `conditional` means a label; `needs_style_image` a style."""
    inputs = tuple(spec.inputs)
    for entry in inputs:
        if not isinstance(entry, InputSpec):
            raise ValueError(f"backend {spec.id!r}: inputs must be InputSpec entries, got {type(entry).__name__}")
    implied = []
    if spec.kind in (*IMAGE_KINDS, BackendKind.RESTORER) and find_input(inputs, InputKind.IMAGE) is None:
        implied.append(InputSpec(InputKind.IMAGE, help="The image to transform."))
    if spec.capabilities.conditional and find_input(inputs, InputKind.LABEL) is None:
        implied.append(InputSpec(InputKind.LABEL, required=False, help="Class name or number."))
    if spec.capabilities.needs_style_image and find_input(inputs, InputKind.STYLE) is None:
        implied.append(InputSpec(InputKind.STYLE, help="The style image."))
    inputs = tuple(implied) + inputs
    names = [entry.name for entry in inputs]
    if len(set(names)) != len(names):
        raise ValueError(f"backend {spec.id!r}: input names must be unique, got {names}")
    return inputs


# --------------------------------------------------------------------------------------------------------------
# What the loaded implementation provides
# --------------------------------------------------------------------------------------------------------------


@runtime_checkable
class BackendImpl(Protocol):
    """The object a BackendSpec's loader names (usually a module or a class). An ONNX-only backend
    (`Capabilities(runtime="onnx")`) has no `build`: its loader names an object with `onnx_graph(config)`
    (`genstudio.capabilities.OnnxGraphs`).

    `build(config)` returns the backend's torch module in its initial state for a validated config (the
    schema's `resolve` output). Model loading builds it, checks the saved tensors against its state_dict
    (names and shapes) and loads them, so the same config must always give the same parameter shapes.
    """

    def build(self, config: dict[str, Any]) -> torch.nn.Module: ...


@runtime_checkable
class GeneratorModel(Protocol):
    """kind = generator. Images are float tensors N x C x H x W in [0, 1]."""

    latent_dim: int  # length of the noise vector
    num_classes: int  # 0 when unconditional

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class AutoencoderModel(Protocol):
    """kind = autoencoder. `encode` returns the posterior's mean and log-variance."""

    latent_dim: int
    num_classes: int  # 0 when unconditional; else encode and decode take the class labels (N int64)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class StylizerModel(Protocol):
    """kind = stylizer. `style` is None for backends trained on one style."""

    def stylize(self, content: torch.Tensor, style: torch.Tensor | None = None, **params: Any) -> torch.Tensor: ...


@runtime_checkable
class TranslatorModel(Protocol):
    """kind = translator. `x` is N x C x H x W in [0, 1]; `direction` one of the declared direction input's
    choices (None for a one-way translator)."""

    def translate(self, x: torch.Tensor, direction: str | None = None) -> torch.Tensor: ...


@runtime_checkable
class RestorerModel(Protocol):
    """kind = restorer. `x` is N x 3 x H x W in [0, 1]; `mask` N x 1 x H x W, 1 where the picture is to be filled
    (None when no mask is given: denoise, upscale); `task` one of the declared `task` choice input's values.

    The module works at the output's size and keeps it: for the `upscale` task the core first enlarges the image
    by the settings' `scale` (bicubic, `genstudio.batch.restore.enlarge`) and the module refines it (the
    pre-upsampling design of SRCNN, Dong et al. 2014, and VDSR, Kim et al. 2016), so one size-preserving graph
    serves every task and large images may be tiled. Pixels outside the mask should come back unchanged."""

    def restore(self, x: torch.Tensor, mask: torch.Tensor | None = None, task: str | None = None) -> torch.Tensor: ...


IMAGE_KINDS = (BackendKind.STYLIZER, BackendKind.TRANSLATOR)  # transform an input image (stylize / translate)

KIND_PROTOCOLS: dict[BackendKind, type] = {
    BackendKind.GENERATOR: GeneratorModel,
    BackendKind.AUTOENCODER: AutoencoderModel,
    BackendKind.STYLIZER: StylizerModel,
    BackendKind.TRANSLATOR: TranslatorModel,
    BackendKind.RESTORER: RestorerModel,
}


def check_model_kind(spec: BackendSpec, module: Any) -> None:
    """Raise a UserError when a plugin's built module lacks what its kind or its declared capabilities promise."""
    protocol = KIND_PROTOCOLS[spec.kind]
    if not isinstance(module, protocol):
        raise UserError(
            f"backend {spec.id!r} (plugin {spec.plugin}) built a {type(module).__name__} that does not provide "
            f"the {spec.kind.value} contract ({protocol.__name__})"
        )
    _check_declared(spec, module, "module")


def check_impl(spec: BackendSpec, impl: Any) -> Any:
    """`impl` (what the loader names), checked against the capabilities declared for it; returns it."""
    _check_declared(spec, impl, "impl")
    return impl


def declared(spec: BackendSpec, name: str) -> bool:
    """Whether the backend declared capability `name` (a row of genstudio.capabilities.CAPABILITIES)."""
    if name == "truncation":
        return spec.capabilities.truncation == "own"
    if name == "runtime":
        return spec.capabilities.runtime == "onnx"
    return bool(getattr(spec.capabilities, name))


def _check_declared(spec: BackendSpec, obj: Any, where: str) -> None:
    for row in CAPABILITIES.values():
        if row.where != where or row.protocol is None or not declared(spec, row.name):
            continue
        if not isinstance(obj, row.protocol):
            missing = [name for name in _members(row.protocol) if not hasattr(obj, name)]
            raise UserError(
                f"backend {spec.id!r} (plugin {spec.plugin}) declares the capability {row.name!r} but its "
                f"{type(obj).__name__} has no {', '.join(missing) or row.protocol.__name__} ({row.summary})"
            )


def _members(protocol: type) -> list[str]:
    """The methods and attributes a Protocol asks for."""
    names = set(getattr(protocol, "__annotations__", {}))
    names |= {name for name, value in vars(protocol).items() if callable(value)}
    return sorted(name for name in names if not name.startswith("_"))
