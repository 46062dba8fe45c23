"""Generate images from a trained generator model into a folder: the work behind `genstudio generate` and the
job queue's generate jobs.

Image i of seed s is the same image whatever the batch size (see `genstudio.latents`). Each PNG carries its
provenance; a file already made from the same record is left alone (and not recomputed), so re-running a command
is cheap and leaves identical bytes, and an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.fileio import real_folder
from genstudio.latents import LEGACY_RULE, RULE

STREAM_WINDOW = 512  # indices planned (paths, records, up-to-date checks) at a time
MAX_LISTED = 10_000  # file paths a summary lists (a job's result, --json); the rest are counted
MAX_GRID = 4096  # images one --grid may tile


@dataclass
class GenerateSummary:
    """What a generate run did; `genstudio generate --json` prints it."""

    model: str
    out: str
    count: int
    seed: int
    written: int = 0  # files written by this run
    unchanged: int = 0  # files already up to date, left alone
    files: list[str] = field(default_factory=list)
    grid: str | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0  # over the images this run computed
    runtime: str = "torch"
    device: str = ""
    notes: list[str] = field(default_factory=list)  # things the user should know (a provider fallback)
    per_class: int | None = None  # images of each class (--per-class), None: `count` in all
    layout: str = "flat"  # flat | folders: one subfolder per class (genstudio.augment)
    manifest: str | None = None  # the class-folder dataset's manifest.json (layout folders)
    real: dict[str, Any] | None = None  # --mix-real: {"source", "copied", "unchanged", "skipped"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _slug(text: str) -> str:
    """A class name safe inside a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "label"


def file_name(seed: int, index: int, label_name: str | None, truncation: float, truncation_cutoff: int | None = None,
              mixing: Any = None, caption: str | None = None) -> str:
    """`seed1-00003.png`; the requested label, truncation (and its cutoff) and style mixing join the name so
    different requests never collide: `seed1-00003-psi0.7-cut4-mix9from2.png`."""
    name = f"seed{seed}-{index:05d}"
    if label_name is not None:
        name += f"-{_slug(label_name)}"
    if truncation != 1.0:
        name += f"-psi{truncation:g}"
    if truncation_cutoff is not None:
        name += f"-cut{truncation_cutoff}"
    if mixing is not None:
        name += f"-mix{mixing.seed}from{mixing.layer}"
    if caption is not None:  # a few words and the text's hash: captions differing in a comma never collide
        name += f"-{_slug(caption)[:32].strip('._')}-{hashlib.sha256(caption.encode('utf-8')).hexdigest()[:8]}"
    return name + ".png"


@dataclass
class Sampler:
    """A generator ready to sample on the chosen runtime, and what provenance says about it: a trained model
    folder, or a backend that needs no training (procedural generators) built from its settings. `genstudio
    generate`, generate jobs, `reproduce` and the app's Generate all sample through one of these."""

    spec: Any  # BackendSpec
    loaded: Any  # the model folder: genstudio.models.LoadedModel, or its Target when only its ONNX graph runs;
    # None for a backend id
    module: Any  # the torch module, or its ONNX twin (genstudio.onnx_runtime.OnnxGenerator and kin)
    torch_device: Any  # torch.device for the torch runtime, None for ONNX
    runtime: str  # "torch" | "onnx"
    device_text: str  # what actually runs it, for provenance
    class_names: list[str]
    fell_back: bool = False  # onnxruntime was asked for a GPU and ran on the CPU
    config: dict[str, Any] | None = None  # a backend id's settings (recorded: they decide the pixels)
    files: dict[str, str] | None = None  # an ONNX-only backend: {weights ref: sha256} of the graph that runs

    @property
    def num_classes(self) -> int:
        return int(self.module.num_classes or 0)

    @property
    def takes_captions(self) -> bool:
        from genstudio.inputs import InputKind

        return self.spec.input(InputKind.CAPTION) is not None

    def resolve_captions(self, captions: list[str] | str | None) -> tuple[list[str | None], list[str]]:
        """The captions of a request, checked against the declared caption input and the model's vocabulary
        ([None] for a model without one), and notes on words the model spells out letter by letter."""
        from genstudio.captions import clean_caption
        from genstudio.inputs import resolve_inputs

        texts = [captions] if isinstance(captions, str) else list(captions or [])
        texts = [clean_caption(str(text)) for text in texts]
        resolve_inputs(self.spec.id, self.spec.inputs, {"caption": next((t for t in texts if t), None)})
        if not self.takes_captions:
            return [None], []
        notes, spelt = [], []
        for text in texts:
            spelt += [word for word in self.tokenizer.encode_for_model(text).spelt if word not in spelt]
        if spelt:
            notes.append("not in the model's vocabulary, spelt letter by letter (the character fallback): "
                         + ", ".join(spelt[:20]) + (" ..." if len(spelt) > 20 else ""))
        return list(dict.fromkeys(texts)), notes

    @property
    def tokenizer(self) -> Any:
        """The caption tokenizer of the model's vocabulary (genstudio.captions)."""
        from genstudio.captions import Tokenizer

        config = self.loaded.card.config if self.loaded is not None else (self.config or {})
        return Tokenizer(config.get("vocabulary", ""), int(config.get("max_tokens", 32)))

    def caption_tokens(self, caption: str | None) -> Any:
        """1 x max_tokens token ids of `caption` (a tensor for torch, an array for ONNX), or None."""
        if caption is None:
            return None
        tokenizer = self.tokenizer
        ids = [tokenizer.padded(tokenizer.encode_for_model(caption).ids)]
        if self.runtime == "onnx":
            import numpy as np

            return np.asarray(ids, np.int64)
        import torch

        return torch.tensor(ids, dtype=torch.long)

    @property
    def latent_dim(self) -> int:
        return int(self.module.latent_dim)

    @property
    def style_based(self) -> bool:
        """The backend declares `style_mixing`: truncation in W, a truncation cutoff and style mixing."""
        return bool(self.spec.capabilities.style_mixing)

    @property
    def num_ws(self) -> int:
        """Style layers of a style-based generator (crossover layers are 1 .. num_ws - 1); 0 for others."""
        return int(self.module.num_ws) if self.style_based else 0

    def check_style_options(self, truncation_cutoff: int | None = None, mixing: Any = None) -> None:
        """UserError (one line) when a truncation cutoff or style mixing is asked of a backend without style layers,
        or names a layer the model does not have."""
        from genstudio import sampling

        if truncation_cutoff is None and mixing is None:
            return
        if not self.style_based:
            what = "--truncation-cutoff" if truncation_cutoff is not None else "--mix-with/--mix-from"
            raise UserError(f"backend {self.spec.id!r} is not style-based: it takes no {what}")
        sampling.check_style_options(self.num_ws, truncation_cutoff, mixing)

    @property
    def model_sha256(self) -> str | None:
        """What provenance names as the weights: the model folder's, an ONNX-only backend's graph's, or None."""
        if self.loaded is not None:
            return self.loaded.card.weights_sha256
        return next(iter(self.files.values())) if self.files else None

    @property
    def model_ref(self) -> str:
        """What provenance names as the model: the folder's absolute path, or the backend id."""
        return str(Path(self.loaded.folder).resolve()) if self.loaded is not None else self.spec.id

    def label_name(self, label: int | None) -> str | None:
        if label is None:
            return None
        return self.class_names[label] if label < len(self.class_names) else str(label)

    def resolve_label(self, label: str | int | None) -> int | None:
        from genstudio import sampling

        return sampling.resolve_label(label, self.num_classes, self.class_names)

    def samples(self, seed: int, indices: list[int], *, label: int | None = None, truncation: float = 1.0,
                batch_size: int = 64, truncation_cutoff: int | None = None, mixing: Any = None,
                caption: str | None = None, rule: str = RULE):
        """The request on this runtime (generation.generate on torch, sampling.generate_arrays on ONNX, without
        torch), with the backend's declared truncation (and, for a style-based generator, the truncation cutoff and
        style mixing); `rule` draws the latents (genstudio.latents; a record names its own)."""
        self.check_style_options(truncation_cutoff, mixing)
        options = {"label": label, "truncation": truncation, "truncation_mode": self.spec.capabilities.truncation,
                   "batch_size": batch_size, "style_based": self.style_based, "truncation_cutoff": truncation_cutoff,
                   "mixing": mixing, "captions": self.caption_tokens(caption), "rule": rule}
        if self.runtime == "onnx":
            from genstudio.sampling import generate_arrays

            return generate_arrays(self.module, seed, indices, **options)
        from genstudio import generation

        return generation.generate(self.module, seed, indices, device=self.torch_device or "cpu", **options)

    def interpolation(self, seed_a: int, seed_b: int, steps: int, *, index: int = 0, label: int | None = None,
                      truncation: float = 1.0, rule: str = RULE):
        """(step, image, record) along the slerp path from image `index` of seed_a to image `index` of seed_b
        (ends included); a conditional model draws every step with `label` (default: the class image `index`
        gets). The records (operation "interpolate-seeds") let `genstudio reproduce` redo any step."""
        import torch

        from genstudio import generation

        if self.num_classes and label is None:
            label = generation.label_for(index, None, self.num_classes)
        z = generation.interpolate_seeds(seed_a, seed_b, steps, self.latent_dim, index=index, rule=rule)
        if truncation != 1.0 and not self.style_based:
            z = generation.truncate(self.module, z, truncation, self.spec.capabilities.truncation)
        device = self.torch_device or "cpu"
        for step in range(steps):
            labels = torch.tensor([label], dtype=torch.long, device=device) if self.num_classes else None
            with torch.no_grad():
                if self.style_based:  # slerp in Z, truncation in W
                    image = self.module.generate_styles(z[step:step + 1].to(device), labels, truncation=truncation)
                else:
                    image = self.module.generate(z[step:step + 1].to(device), labels)
                image = torch.as_tensor(image).float().clamp(0, 1)[0].cpu()  # an ONNX twin answers with an array
            parameters = {"seed_a": seed_a, "seed_b": seed_b, "index": index, "steps": steps, "step": step,
                          "t": round(step / (steps - 1), 4), "label": label, "truncation": truncation,
                          **_rule_parameter(rule)}
            yield step, image, self.record(seed_a, index, label, truncation, "interpolate-seeds", parameters)

    def parameters(self, seed: int, index: int, label: int | None, truncation: float,
                   truncation_cutoff: int | None = None, mixing: Any = None,
                   caption: str | None = None, rule: str = RULE) -> dict[str, Any]:
        parameters: dict[str, Any] = {"seed": seed, "index": index, "truncation": truncation,
                                      **_rule_parameter(rule)}
        if caption is not None:
            parameters["caption"] = caption
        if truncation_cutoff is not None:
            parameters["truncation_cutoff"] = truncation_cutoff
        if mixing is not None:
            parameters["mix_with"], parameters["mix_from"] = mixing.seed, mixing.layer
        if label is not None:
            parameters["label"] = label
            parameters["label_name"] = self.label_name(label)
        return parameters

    def record(self, seed: int, index: int, label: int | None, truncation: float,
               operation: str = "generate", parameters: dict[str, Any] | None = None, *,
               truncation_cutoff: int | None = None, mixing: Any = None, caption: str | None = None,
               rule: str = RULE) -> dict[str, Any]:
        """The provenance of image `index` of `seed`: everything `genstudio reproduce` needs."""
        from genstudio.provenance import provenance

        spec = self.spec
        extra = {} if self.config is None else {"config": dict(self.config)}
        if self.files:
            extra["weights"] = dict(self.files)
        return provenance(backend=spec.id, plugin=spec.plugin, plugin_version=spec.plugin_version,
                          model_sha256=self.model_sha256,
                          parameters=parameters if parameters is not None else self.parameters(
                              seed, index, label, truncation, truncation_cutoff, mixing, caption, rule),
                          runtime=self.runtime, device=self.device_text, operation=operation, model=self.model_ref,
                          **extra)


def _rule_parameter(rule: str) -> dict[str, str]:
    """The record's "latents" parameter: absent for the legacy torch rule (what older records mean by nothing)."""
    return {} if rule == LEGACY_RULE else {"latents": rule}


GENERATING_KINDS = ("generator", "autoencoder")  # BackendKind values that draw images from noise
NOT_A_GENERATOR = "a generator or autoencoder (nothing else generates images from noise)"


def open_sampler(model_dir: str | Path, *, device: str = "auto", runtime: str = "auto", provider: str = "auto",
                 truncation: float = 1.0, config: dict[str, Any] | None = None,
                 assignments: list[str] = (), lean: bool = True) -> Sampler:
    """Load a generator (a model folder, checked; or a backend id with `config`) and pick its runtime; UserError
    when it cannot generate, or when a runtime, provider or truncation asked for cannot be honoured. A folder whose
    ONNX export runs opens without torch (`lean`; False: with its torch module too, for code that needs it)."""
    from genstudio.backends import BackendKind
    from genstudio.models import is_folder_target, open_model_or_backend

    if lean and is_folder_target(model_dir) and (runtime or "auto").lower() != "torch":
        exported = _open_exported(model_dir, runtime, provider, truncation)
        if exported is not None:
            return exported
    if not is_folder_target(model_dir):
        from genstudio.models import resolve_target

        target = resolve_target(model_dir, tuple(BackendKind(kind) for kind in GENERATING_KINDS), NOT_A_GENERATOR,
                                config=config, assignments=assignments)
        if target.spec.capabilities.runtime == "onnx":
            return _open_onnx_only(target, runtime, provider, truncation)
    from genstudio.devices import describe_device, resolve_device
    from genstudio.onnx_runtime import check_runtime_request, choose_runtime, onnx_twin, open_session, twin_metadata

    torch_device = resolve_device(device)
    opened = open_model_or_backend(model_dir, tuple(BackendKind(kind) for kind in GENERATING_KINDS), NOT_A_GENERATOR,
                                   device=torch_device, config=config, assignments=assignments)
    spec, module, loaded, what = opened.spec, opened.module, opened.loaded, opened.what
    if loaded is not None:
        class_names = list(loaded.card.extra.get("class_names") or [])
    else:
        class_names = [str(name) for name in module.class_names] if spec.capabilities.class_names else []
    mode = spec.capabilities.truncation
    if truncation != 1.0 and mode == "none":
        raise UserError(f"backend {spec.id!r} does not support truncation")
    runtime_used, onnx_path = ("torch", None) if loaded is None else choose_runtime(runtime, loaded.folder,
                                                                                   loaded.card)
    styled_graph = runtime_used == "onnx" and spec.capabilities.style_mixing and "psi" in _graph_inputs(loaded)
    if runtime_used == "onnx" and mode == "own" and not styled_graph:  # its truncation runs outside the graph
        if (runtime or "auto").lower() == "onnx":
            raise UserError(f"backend {spec.id!r} truncates with its own mapping, which its ONNX model does not "
                            "include; use --runtime torch")
        runtime_used = "torch"
    check_runtime_request(runtime_used, runtime, provider, what)
    if runtime_used == "onnx":  # psi, the cutoff, style mixing and the noise are graph inputs of a styled graph
        twin = onnx_twin(open_session(onnx_path, provider), spec, twin_metadata(module, spec), styled_graph)
        return Sampler(spec, loaded, twin, None, "onnx", twin.session.describe(), class_names,
                       twin.session.fell_back)
    return Sampler(spec, loaded, module, torch_device, "torch", describe_device(torch_device), class_names,
                   config=opened.settings if loaded is None else None)


def _open_exported(model_dir: str | Path, runtime: str, provider: str, truncation: float) -> Sampler | None:
    """A model folder whose ONNX export runs, opened without torch: the twin's facts (latent size, classes, style
    layers, fixed noise) are those `genstudio export` recorded. None when torch is needed after all: no usable
    export, one written before those facts were recorded, or a truncation that runs outside the graph."""
    from genstudio.backends import BackendKind
    from genstudio.models import resolve_target
    from genstudio.onnx_runtime import check_runtime_request, choose_runtime, onnx_twin, open_session, read_twin

    target = resolve_target(model_dir, tuple(BackendKind(kind) for kind in GENERATING_KINDS), NOT_A_GENERATOR)
    spec, card = target.spec, target.card
    runtime_used, onnx_path = choose_runtime(runtime, target.folder, card)
    meta = read_twin(target.folder, card) if runtime_used == "onnx" else None
    styled = spec.capabilities.style_mixing and "psi" in _graph_inputs(target)
    if meta is None or (spec.capabilities.truncation == "own" and not styled):
        return None  # the torch path decides (and explains a refusal)
    if truncation != 1.0 and spec.capabilities.truncation == "none":
        raise UserError(f"backend {spec.id!r} does not support truncation")
    check_runtime_request(runtime_used, runtime, provider, target.what)
    twin = onnx_twin(open_session(onnx_path, provider), spec, meta, styled)
    class_names = [str(name) for name in card.extra.get("class_names") or []]
    return Sampler(spec, target, twin, None, "onnx", twin.session.describe(), class_names, twin.session.fell_back)


def _open_onnx_only(target: Any, runtime: str, provider: str, truncation: float) -> Sampler:
    """An ONNX-only generator (`Capabilities(runtime="onnx")`): the graph it ships or names, checked by sha256
    (genstudio.onnx_backends), taking z (N x latent size, read from the graph) and giving images; no torch."""
    from genstudio.errors import PluginError
    from genstudio.onnx_backends import open_graph
    from genstudio.onnx_runtime import OnnxGenerator

    spec = target.spec
    if (runtime or "auto").lower() == "torch":
        raise UserError(f"backend {spec.id!r} is ONNX-only (plugin {spec.plugin}): it runs on onnxruntime; drop "
                        "--runtime torch")
    if truncation != 1.0 and spec.capabilities.truncation != "prior":
        raise UserError(f"backend {spec.id!r} does not support truncation")
    graph = open_graph(target, provider)
    inputs = {entry.name: entry for entry in graph.session.inner.get_inputs()}
    shape = list(getattr(inputs.get("z"), "shape", None) or [])
    if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 1 or len(inputs) != 1:
        raise PluginError(spec.plugin, spec.id, ValueError(
            f"{graph.path.name}: an ONNX-only generator's graph takes one input, z (batch x latent size), got "
            + ", ".join(f"{name} {list(entry.shape)}" for name, entry in inputs.items())))
    twin = OnnxGenerator(graph.session, shape[1], 0)
    return Sampler(spec, None, twin, None, "onnx", graph.session.describe(), [], graph.session.fell_back,
                   config=dict(target.settings), files=dict(graph.files))


def _graph_inputs(loaded: Any) -> list[str]:
    """The input names model.json records for the exported main graph (written by `genstudio export`)."""
    graphs = ((loaded.card.extra or {}).get("onnx") or {}).get("graphs") or {} if loaded is not None else {}
    inputs = (graphs.get("model") or {}).get("inputs") if isinstance(graphs, dict) else None
    return [str(name) for name in inputs] if isinstance(inputs, list) else []


def generate_to_folder(
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    count: int | None = None,  # how many images; None: 16, or per_class for every class
    seed: int = 0,
    label: str | int | None = None,  # class name or index; None cycles through the classes
    truncation: float = 1.0,  # 1: none; toward the mean latent below 1
    truncation_cutoff: int | None = None,  # style-based generators: truncate the styles of layers below this only
    mix_with: int | None = None,  # style-based generators: image i takes its fine styles from image i of this seed
    mix_from: int | None = None,  # ... from this style layer on (1 .. num_ws - 1); both or neither
    grid: bool = False,  # also write seed<S>-grid.png tiling all the images
    batch_size: int = 64,
    device: str = "auto",
    first_index: int = 0,  # images first_index .. first_index + count - 1 of the seed
    overwrite: bool = False,  # rewrite files even when up to date
    runtime: str = "auto",  # auto | torch | onnx; auto: ONNX when a parity-checked export of these weights exists
    provider: str = "auto",  # onnxruntime provider: auto | cpu | cuda | tensorrt
    config: dict[str, Any] | None = None,  # a backend id's settings (generators that need no training)
    assignments: list[str] = (),  # --set key=value for a backend id, over `config`
    per_class: int | None = None,  # conditional models: this many images of every class (instead of count)
    layout: str = "flat",  # flat | folders: each image in its class's subfolder, with manifest.json
    mix_real: str | Path | None = None,  # layout folders: also copy this class-folder dataset's images in
    captions: list[str] | str | None = None,  # caption models: `count` images of each caption (--caption, repeatable)
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> GenerateSummary:
    from genstudio import augment, sampling
    from genstudio.provenance import is_up_to_date, write_png

    layout = augment.check_layout(layout)
    if per_class is not None and count is not None:
        raise UserError("give --count or --per-class, not both")
    if per_class is not None and per_class < 1:
        raise UserError(f"--per-class must be at least 1, got {per_class}")
    if per_class is not None and label is not None:
        raise UserError("--per-class makes every class; --label picks one (use --count with it)")
    if per_class is not None and grid:
        raise UserError("--grid tiles one series; with --per-class, look at the class folders instead")
    if mix_real is not None and layout != "folders":
        raise UserError("--mix-real copies real images into class folders: add --layout folders")
    count = 16 if count is None and per_class is None else count
    if count is not None and count < 1:
        raise UserError(f"--count must be at least 1, got {count}")
    if grid and count > MAX_GRID:
        raise UserError(f"--grid tiles at most {MAX_GRID} images; generate {count} without --grid, or fewer")
    if (mix_with is None) != (mix_from is None):
        raise UserError("style mixing needs both --mix-with SEED and --mix-from LAYER")
    from genstudio.sampling import Mixing

    mixing = Mixing(int(mix_with), int(mix_from)) if mix_with is not None else None
    cutoff = int(truncation_cutoff) if truncation_cutoff is not None else None
    sampler = open_sampler(model_dir, device=device, runtime=runtime, provider=provider, truncation=truncation,
                           config=config, assignments=assignments)
    sampler.check_style_options(cutoff, mixing)
    label_index = sampler.resolve_label(label)
    caption_texts, caption_notes = sampler.resolve_captions(captions)  # [None] for a model without captions
    if (per_class is not None or layout == "folders") and not sampler.num_classes:
        raise UserError(f"{sampler.spec.id} model {sampler.model_ref!r} is not conditional (no classes): "
                        f"{'--per-class' if per_class is not None else '--layout folders'} needs a conditional "
                        "generator or autoencoder (cgan, cvae, a conditional stylegan2, shapes ...)")
    # one (label, first index, count) request per class with --per-class, else the one asked for
    series = [(label_index, first_index, count)] if per_class is None else \
        [(c, first_index, per_class) for c in range(sampler.num_classes)]
    count = sum(n for _, _, n in series) * len(caption_texts)
    class_names = [sampler.label_name(c) or "" for c in range(sampler.num_classes)]
    folders = augment.class_folders(class_names) if layout == "folders" else []
    real_scan = augment.scan_real(mix_real, class_names) if mix_real is not None else None  # before any work
    out = Path(out_dir)
    summary = GenerateSummary(sampler.model_ref, str(out), count, seed, runtime=sampler.runtime,
                              device=sampler.device_text, per_class=per_class, layout=layout)
    if sampler.fell_back:
        summary.notes.append("onnxruntime could not use the GPU and ran on the CPU")
    summary.notes += caption_notes

    out = real_folder(out)  # one line when --out is a file or cannot be made
    class_dirs: dict[int, Path] = {}  # layout folders: each class's subfolder, checked and made on first use
    reporter = Progress(progress, f"Generating with {sampler.spec.id}", total=count, abort=abort)
    started, computed = time.perf_counter(), 0
    images = []
    generated: dict[int, int] = {}  # images per class, for the manifest
    # a window of indices at a time: memory stays bounded however large --count is (records, paths, images)
    window = max(batch_size, STREAM_WINDOW)
    for (series_label, series_first, series_count), caption in itertools.product(series, caption_texts):
        label_name = sampler.label_name(series_label)
        for window_start in range(series_first, series_first + series_count, window):
            indices = range(window_start, min(window_start + window, series_first + series_count))
            labels = {i: sampling.label_for(i, series_label, sampler.num_classes) for i in indices}
            for i in indices:
                if labels[i] is not None:
                    generated[labels[i]] = generated.get(labels[i], 0) + 1
            for i in indices:
                if layout == "folders" and labels[i] not in class_dirs:
                    class_dirs[labels[i]] = real_folder(out, folders[labels[i]])
            folder = {i: class_dirs[labels[i]] if layout == "folders" else out for i in indices}
            targets = {i: folder[i] / file_name(seed, i, label_name, truncation, cutoff, mixing, caption)
                       for i in indices}
            records = {i: sampler.record(seed, i, labels[i], truncation, truncation_cutoff=cutoff, mixing=mixing,
                                         caption=caption) for i in indices}
            room = MAX_LISTED - len(summary.files)
            summary.files.extend(str(targets[i]) for i in indices[:max(0, room)])
            todo = [i for i in indices if overwrite or grid or not is_up_to_date(targets[i], records[i])]
            reporter.update(len(indices) - len(todo))
            for sample in sampler.samples(seed, todo, label=series_label, truncation=truncation,
                                          batch_size=batch_size, truncation_cutoff=cutoff, mixing=mixing,
                                          caption=caption):
                reporter.check_abort()
                if write_png(targets[sample.index], sample.image, records[sample.index], overwrite=overwrite):
                    summary.written += 1
                if grid:
                    images.append(sample.image)
                computed += 1
                reporter.update(advance=1)
    if layout == "folders":
        real = None
        if real_scan is not None:
            reporter.log(f"copying the real images of {real_scan.root}")
            real = augment.copy_real(real_scan, out, class_names, reporter)
            summary.real = {"source": real.source, "copied": real.copied, "unchanged": real.unchanged,
                            "skipped": len(real.skipped)}
            if real.skipped:
                summary.notes.append(f"{len(real.skipped)} file(s) of {real.source} were not copied (not usable "
                                     f"images; see {augment.MANIFEST}), e.g. {real.skipped[0]['path']}: "
                                     f"{real.skipped[0]['reason']}")
        summary.manifest = str(augment.write_manifest(out, augment.manifest(
            sampler, seed=seed, truncation=truncation, series=series, generated=generated, folders=folders,
            real=real)))
    if count > MAX_LISTED:
        summary.notes.append(f"the summary lists the first {MAX_LISTED} of {count} files")
    indices = [first_index, first_index + count - 1]
    summary.unchanged = count - summary.written
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.images_per_second = round(computed / summary.seconds, 1) if computed and summary.seconds > 0 else 0.0
    if grid:
        grid_record = sampler.record(seed, first_index, None, truncation)
        grid_record["operation"] = "generate-grid"
        grid_record["parameters"] = {"seed": seed, "indices": indices, "truncation": truncation,
                                     "label": label_index}
        label_name = sampler.label_name(label_index)
        styled = {key: value for key, value in sampler.parameters(seed, 0, None, 1.0, cutoff, mixing).items()
                  if key in ("truncation_cutoff", "mix_with", "mix_from")}
        grid_record["parameters"].update(styled)
        if caption_texts != [None]:
            grid_record["parameters"]["captions"] = caption_texts
        suffix = file_name(seed, 0, label_name, 1.0, cutoff, mixing)[len(f"seed{seed}-00000"):-len(".png")]
        grid_path = out / f"seed{seed}-grid{suffix}.png"
        write_png(grid_path, sampling.grid_array(images), grid_record, overwrite=overwrite)
        summary.grid = str(grid_path)
    reporter.finish(f"{summary.written} written, {summary.unchanged} up to date")
    return summary

