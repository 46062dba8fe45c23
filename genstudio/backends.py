"""The backend contract: what a plugin registers and what the loaded code must provide.

A plugin's `register_backends` hook returns `BackendSpec` descriptors. A descriptor is light: ids, text, a
config schema, capabilities and the *name* of the code that implements it (`"package.module:attr"`). Listing
backends therefore imports no torch and none of the plugin's heavy modules; `BackendSpec.load()` imports the
implementation on first use.

The implementation (`BackendSpec.load()`'s result) follows `BackendImpl`: it builds a torch module from a
validated config. What that module offers depends on the backend's kind (`GeneratorModel`, `AutoencoderModel`,
`StylizerModel`, `TranslatorModel`). Training and export add their own methods in later contracts.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from genstudio.errors import UserError
from genstudio.schema import ConfigSchema

if TYPE_CHECKING:  # annotations only: importing this module must not import torch
    import torch

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_LOADER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class BackendKind(str, Enum):
    """What a backend does with images."""

    GENERATOR = "generator"  # noise (and labels) -> images
    AUTOENCODER = "autoencoder"  # images <-> latents; sample new images
    STYLIZER = "stylizer"  # content image (+ style image) -> image
    TRANSLATOR = "translator"  # image -> image

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WeightsRef:
    """A pretrained network a backend needs and cannot train itself (VGG19 for style losses, ...)."""

    name: str  # e.g. "vgg19"
    filename: str  # the file expected in the torch hub cache, e.g. "vgg19-dcbb9e9d.pth"
    sha256_prefix: str = ""  # the hash prefix torchvision puts in the file name, when there is one
    setting: str = ""  # the settings key / CLI option that points elsewhere, e.g. "weights.vgg19"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "filename": self.filename, "sha256_prefix": self.sha256_prefix,
                "setting": self.setting}


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the CLI and GUI enable options and actions from these."""

    trainable: bool = False  # `genstudio train` accepts it
    conditional: bool = False  # takes class labels
    exportable: bool = False  # has an ONNX export recipe
    needs_style_image: bool = False  # stylizers that take a style image at use time
    pretrained_weights: tuple[WeightsRef, ...] = ()  # networks that must be present to run or train

    def to_dict(self) -> dict[str, Any]:
        return {
            "trainable": self.trainable,
            "conditional": self.conditional,
            "exportable": self.exportable,
            "needs_style_image": self.needs_style_image,
            "pretrained_weights": [ref.to_dict() for ref in self.pretrained_weights],
        }


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
    plugin: str = ""  # set by the registry: the plugin that registered it
    plugin_version: str = ""  # set by the registry

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"backend id {self.id!r} must be lower-case letters and digits joined by - or _")
        if not isinstance(self.kind, BackendKind):
            object.__setattr__(self, "kind", BackendKind(self.kind))
        if not _LOADER.match(self.loader):
            raise ValueError(f"backend {self.id!r}: loader must look like 'package.module:attr', got {self.loader!r}")

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
        return obj

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
            "config": self.schema.to_list(),
        }


# --------------------------------------------------------------------------------------------------------------
# What the loaded implementation provides
# --------------------------------------------------------------------------------------------------------------


@runtime_checkable
class BackendImpl(Protocol):
    """The object a BackendSpec's loader names (usually a module or a class).

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

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class StylizerModel(Protocol):
    """kind = stylizer. `style` is None for backends trained on one style."""

    def stylize(self, content: torch.Tensor, style: torch.Tensor | None = None, **params: Any) -> torch.Tensor: ...


@runtime_checkable
class TranslatorModel(Protocol):
    """kind = translator."""

    def translate(self, x: torch.Tensor) -> torch.Tensor: ...


KIND_PROTOCOLS: dict[BackendKind, type] = {
    BackendKind.GENERATOR: GeneratorModel,
    BackendKind.AUTOENCODER: AutoencoderModel,
    BackendKind.STYLIZER: StylizerModel,
    BackendKind.TRANSLATOR: TranslatorModel,
}


def check_model_kind(spec: BackendSpec, module: Any) -> None:
    """Raise a UserError when a plugin's built module lacks what its kind promises."""
    protocol = KIND_PROTOCOLS[spec.kind]
    if not isinstance(module, protocol):
        raise UserError(
            f"backend {spec.id!r} (plugin {spec.plugin}) built a {type(module).__name__} that does not provide "
            f"the {spec.kind.value} contract ({protocol.__name__})"
        )
