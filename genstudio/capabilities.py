"""Declared capabilities: each optional method a backend may offer is a Protocol here, declared in its
`Capabilities` and checked when the backend loads.

The core never probes a module with `getattr`: it calls an optional method only when the backend declared the
capability, and a backend that declares one and does not provide it fails at load with one line naming the
plugin and the missing method. `CAPABILITIES` is the table (field of `Capabilities` -> where it is checked, its
Protocol, what it promises); the README's plugin section documents each entry and a test keeps the two in step.

Where: "impl" is the object the BackendSpec's loader names (it `build`s modules); "module" is the built module.
Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


# --------------------------------------------------------------------------------------------------------------
# On the implementation (what the loader names)
# --------------------------------------------------------------------------------------------------------------


@runtime_checkable
class Trainable(Protocol):
    """`trainable`: `genstudio train` and train jobs accept the backend.

    create_training(config, data, device) -> genstudio.training.TrainingTask. Called once per run (and per
    process under DDP) with the resolved config, a `genstudio.training.DataInfo` and the torch device.
    """

    def create_training(self, config: dict[str, Any], data: Any, device: torch.device) -> Any: ...


@runtime_checkable
class OnnxGraphs(Protocol):
    """`runtime="onnx"`: the backend is ONNX graphs run by onnxruntime; it has no torch module and no `build`.

    onnx_graph(config) -> str: the name of the `WeightsRef` (one of `pretrained_weights`) whose graph runs for this
    validated config. The graph files are found like every pretrained file (`genstudio.weights.find_weights`:
    a given path, the setting, the model folder, the plugin's package data, the torch hub cache) and checked
    against their sha256; provenance records the sha256 of every file that runs. The graph takes the image
    input's `graph_input` (`content`: N x 3 x H x W float32 in [0, 1]) and each declared choice or direction
    input's (`genstudio.inputs.choice_feed`), and `alpha` (float32, shape 1: the strength) when it lists one;
    its first output is N x 3 x H x W in [0, 1]. A generator's graph (contract 1.2) takes `z` alone (float32,
    batch x latent size, the latent size fixed in the graph; genstudio draws the latents) and gives N x C x H x W
    in [0, 1]. Stylizers, translators and unconditional generators; the loader's module must not import torch."""

    def onnx_graph(self, config: dict[str, Any]) -> str: ...


@runtime_checkable
class RecordsExtra(Protocol):
    """`records_extra`: model_extra(config) -> dict, merged into model.json's `extra` when training finishes.

    Called by the train operation before the data is read, so a missing pretrained file fails fast; returns what
    the weights alone do not say (the loss network's name and sha256, the style image's sha256, ...)."""

    def model_extra(self, config: dict[str, Any]) -> dict[str, Any]: ...


# --------------------------------------------------------------------------------------------------------------
# On the built module
# --------------------------------------------------------------------------------------------------------------


@runtime_checkable
class OwnTruncation(Protocol):
    """`truncation="own"`: truncate(z, psi) -> z' for a generator whose mean latent is not 0 (a learned mapping).

    z is N x latent_dim on the CPU, psi in [0, 1] (1: unchanged). Without it, truncation="prior" pulls a
    standard-normal latent toward 0 (z * psi) and truncation="none" refuses `--truncation`. An exported model
    runs a backend with its own truncation only when its graph takes a `psi` input; otherwise the torch runtime is
    used (auto) or `--runtime onnx` is refused."""

    def truncate(self, z: torch.Tensor, psi: float) -> torch.Tensor: ...


@runtime_checkable
class StyleMixing(Protocol):
    """`style_mixing`: a style-based generator (Karras et al. 2019): a mapping network turns each latent into
    `num_ws` style vectors, one per synthesis layer from coarse to fine.

    generate_styles(z, labels=None, *, truncation=1.0, truncation_cutoff=None, mix_z=None, mix_from=None)
    -> N x C x H x W in [0, 1]. Styles of the layers below `truncation_cutoff` (None: all) move toward the mean
    style by `truncation` (Karras et al. 2019, section 4); from layer `mix_from` (1 .. num_ws - 1) on, the styles
    of `mix_z` replace those of z (style mixing, section 3.1). Scalars, or tensors of N values. Generation goes
    through it (`--truncation`, `--truncation-cutoff`, `--mix-with`, `--mix-from`), so truncation happens in W
    whatever `truncation` declares. noise_inputs(n) -> {name: n x 1 x H x W}: the fixed noise an exported graph's
    noise inputs are fed; its main graph takes z, [labels,] psi, truncation_cutoff, mix_z, mix_from and those."""

    num_ws: int

    def generate_styles(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                        **options: Any) -> torch.Tensor: ...

    def noise_inputs(self, count: int) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class Likelihood(Protocol):
    """`likelihood`: `genstudio eval` reports the negative ELBO and an importance-weighted log-likelihood.

    elbo(x, labels=None, *, samples=1) -> per-image ELBO in nats (N); iwae_log_likelihood(x, labels=None, k=100)
    -> per-image log p(x) estimate (Burda et al. 2016), x: N x C x H x W in [0, 1]."""

    def elbo(self, x: torch.Tensor, labels: torch.Tensor | None = None, **options: Any) -> torch.Tensor: ...

    def iwae_log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                            **options: Any) -> torch.Tensor: ...


@runtime_checkable
class DrawingSteps(Protocol):
    """`drawing_steps`: a generator that draws its image in `steps` refinements of a canvas (DRAW, Gregor et al.
    2015): drawing_steps(z, labels=None) -> N x steps x C x H x W in [0, 1], the canvas after steps 1 .. steps
    for the latents z (N x latent_dim, the same latents `generate` takes); the last frame is `generate(z, labels)`.
    No random draws: the frames depend on z alone. `genstudio animate`, its jobs and the app's steps player show
    them (genstudio.operations.animate)."""

    steps: int

    def drawing_steps(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class ExportRecipe(Protocol):
    """`export_recipe`: export_graphs() -> list[genstudio.export.ExportGraph], the main graph ("model") first.

    Used by `genstudio export` instead of the graphs derived from the kind (generate(z[, labels]); an
    autoencoder's decoder and encoder): stylizers with a style input, graphs that take a strength, ..."""

    def export_graphs(self) -> list[Any]: ...


@runtime_checkable
class PreparesStyle(Protocol):
    """`prepares_style`: prepare_style(style) -> 1 x 3 x H' x W', the style image (3 x H x W in [0, 1]) as the
    module's own `stylize` would use it (scaled to its style size); what an exported graph's style input is fed."""

    def prepare_style(self, style: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Postprocesses(Protocol):
    """`postprocesses`: postprocess(content, styled, *, strength, preserve_color) -> N x 3 x H x W.

    What `stylize` does after the network (the strength blend, colour preservation), applied to an exported
    graph's output so the ONNX runtime gives the torch runtime's pixels. Without it: a linear blend toward the
    content by (1 - strength) and no colour preservation."""

    def postprocess(self, content: torch.Tensor, styled: torch.Tensor, *, strength: float,
                    preserve_color: bool) -> torch.Tensor: ...


@runtime_checkable
class ClassNames(Protocol):
    """`class_names`: class_names -> sequence of str, the names of a conditional backend's classes when the model
    folder does not record them (a backend that needs no training)."""

    class_names: Any


@dataclass(frozen=True)
class Capability:
    """One row of the table."""

    name: str  # the Capabilities field
    where: str  # "impl" | "module" | "declared" (a promise with no method to check)
    protocol: type | None
    summary: str  # one line for `backends show` and the README


CAPABILITIES: dict[str, Capability] = {row.name: row for row in (
    Capability("trainable", "impl", Trainable, "create_training(config, data, device) -> TrainingTask"),
    Capability("records_extra", "impl", RecordsExtra, "model_extra(config) -> dict, recorded in model.json"),
    Capability("exportable", "declared", None, "`genstudio export` writes a parity-checked ONNX model"),
    Capability("export_recipe", "module", ExportRecipe, "export_graphs() -> list[ExportGraph], main graph first"),
    Capability("truncation", "module", OwnTruncation,
               "'prior' (z * psi), 'own' (truncate(z, psi) -> z) or 'none'"),
    Capability("style_mixing", "module", StyleMixing,
               "generate_styles(z, labels, *, truncation, truncation_cutoff, mix_z, mix_from); noise_inputs(n)"),
    Capability("likelihood", "module", Likelihood, "elbo(x, labels) and iwae_log_likelihood(x, labels, k)"),
    Capability("drawing_steps", "module", DrawingSteps,
               "steps; drawing_steps(z, labels) -> N x steps x C x H x W, the canvas after each step"),
    Capability("prepares_style", "module", PreparesStyle, "prepare_style(style) -> 1 x 3 x H x W"),
    Capability("postprocesses", "module", Postprocesses,
               "postprocess(content, styled, *, strength, preserve_color) -> images"),
    Capability("class_names", "module", ClassNames, "class_names: the classes' names"),
    Capability("reports_progress", "declared", None,
               "stylize/translate also take progress=EventSink and abort=AbortCheck (minutes-long work)"),
    Capability("tile_safe", "declared", None,
               "fully convolutional: an image may be processed in overlapping tiles"),
    Capability("pretrained_weights", "declared", None, "WeightsRef of each network it needs and cannot train"),
    Capability("aspect", "declared", None,
               "training reads images at the config's aspect (W:H) by its aspect_fit (crop | pad)"),
    Capability("runtime", "impl", OnnxGraphs,
               "'torch' (build(config) -> module) or 'onnx' (onnx_graph(config) -> the WeightsRef name to run)"),
)}

# What an ONNX-only backend (runtime "onnx") cannot declare: each needs a torch module.
TORCH_ONLY = ("trainable", "exportable", "export_recipe", "records_extra", "likelihood", "drawing_steps",
              "prepares_style", "postprocesses", "class_names", "reports_progress", "aspect")
