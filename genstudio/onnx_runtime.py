"""The one owner of onnxruntime sessions: provider choice, fallback detection, a session cache, threads, IO binding.

Provider choice `auto | cpu | cuda | tensorrt`. onnxruntime-gpu lists the CUDA and TensorRT providers as
available whenever the package is installed, GPU or not, and quietly builds a CPU-only session when they cannot
start. `open_session` compares the providers asked for with those the session actually got
(`InferenceSession.get_providers()`) and reports a fallback: an explicit `cuda` or `tensorrt` request that ends
on the CPU is an error; under `auto` it is noted on the session (`fell_back`) and shown to the user.

ONNX files may keep large tensors in external data files; every such path must stay inside the model's folder
(`check_external_data`), so a crafted model cannot make onnxruntime read files elsewhere.

Nothing here imports torch: whether a CUDA device is usable is asked of torch only when something already
imported it, else of the CUDA driver itself, so an ONNX model runs in a process that never loads torch.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.errors import ModelFileError, UserError

PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt")
_PROVIDER_NAMES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
_SHORT = {name: short for short, name in _PROVIDER_NAMES.items()}
_CACHE_SIZE = 8


def _ort():
    try:
        import onnxruntime
    except ImportError as exc:  # a broken install: say what to do
        raise UserError(f"onnxruntime is not importable ({exc}); reinstall genstudio's dependencies") from None
    return onnxruntime


def _cuda_usable() -> bool:
    """A CUDA device is there to use: onnxruntime's own list says nothing about the hardware. Asked of torch when
    it is already loaded (it may have narrowed the devices), else of the CUDA driver: never imports torch."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return bool(torch.cuda.is_available())
        except Exception:  # a broken torch: let onnxruntime try
            return True
    return _driver_device_count() > 0


def cuda_provider_usable() -> bool:
    """onnxruntime can run on a CUDA GPU here: its build has the CUDA provider (onnxruntime-gpu, not the CPU-only
    wheel a machine may carry beside a CUDA torch) and a CUDA device is there to use."""
    return "CUDAExecutionProvider" in _ort().get_available_providers() and _cuda_usable()


@functools.lru_cache(maxsize=1)
def _driver_device_count() -> int:
    """CUDA devices the driver reports (cuInit + cuDeviceGetCount through ctypes); 0 without a driver or device.
    Honours CUDA_VISIBLE_DEVICES, as the driver does."""
    names = ("nvcuda.dll",) if os.name == "nt" else ("libcuda.so.1", "libcuda.so", "libcuda.dylib")
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
        except (AttributeError, OSError):
            return 0
        return int(count.value)
    return 0


def requested_providers(choice: str = "auto") -> list[str]:
    """The onnxruntime providers to ask for, best first, always ending with the CPU."""
    choice = (choice or "auto").strip().lower()
    if choice not in PROVIDER_CHOICES:
        raise UserError(f"unknown provider {choice!r}; use one of {', '.join(PROVIDER_CHOICES)}")
    available = set(_ort().get_available_providers())
    if choice == "cpu":
        return ["CPUExecutionProvider"]
    if choice == "auto":
        wanted = ["CUDAExecutionProvider"] if cuda_provider_usable() else []
    else:
        name = _PROVIDER_NAMES[choice]
        if name not in available:
            raise UserError(f"provider {choice!r} is not in this onnxruntime build (it has "
                            f"{', '.join(sorted(_SHORT.get(p, p) for p in available))})")
        if not _cuda_usable():
            raise UserError(f"provider {choice!r} needs a CUDA GPU and none is usable here; use --provider cpu or auto")
        wanted = [name] + (["CUDAExecutionProvider"] if choice == "tensorrt" else [])
    return [p for p in wanted if p in available] + ["CPUExecutionProvider"]


def check_external_data(path: str | os.PathLike[str]) -> None:
    """UserError when a tensor of the ONNX file at `path` points at external data outside the file's folder.
    A file that does not hold the bytes "location" (the key every external-data entry has) names no external
    data at all, and is passed without parsing it (the onnx package costs a start-up its parse does not need)."""
    path = Path(path)
    if not _mentions(path, b"location"):
        return
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf decode errors have many types
        raise UserError(f"{path} is not a readable ONNX file ({type(exc).__name__}: {exc})") from None
    root = path.parent.resolve()
    for tensor in _all_initializers(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "")
        target = (root / location).resolve()
        if os.path.isabs(location) or not target.is_relative_to(root):
            raise UserError(f"{path}: tensor {tensor.name!r} reads external data from {location!r}, outside the "
                            "model folder; refusing to load it")


def _mentions(path: Path, needle: bytes, chunk: int = 1 << 20) -> bool:
    """Whether the file holds `needle` (read in chunks that overlap by its length)."""
    try:
        with open(path, "rb") as handle:
            tail = b""
            while block := handle.read(chunk):
                if needle in tail + block:
                    return True
                tail = block[-len(needle):]
    except OSError:
        return True  # unreadable: let the parse say why
    return False


def _all_initializers(graph):
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.g is not None and attribute.g.ByteSize():
                yield from _all_initializers(attribute.g)
            for sub in attribute.graphs:
                yield from _all_initializers(sub)


@dataclass
class Session:
    """An onnxruntime session and what it really runs on."""

    path: Path
    inner: Any  # onnxruntime.InferenceSession
    requested: list[str]
    providers: list[str]  # what the session got, best first
    fell_back: bool  # asked for a GPU provider, got the CPU
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        """The provider doing the work: "cuda", "tensorrt" or "cpu"."""
        return _SHORT.get(self.providers[0], self.providers[0])

    def describe(self) -> str:
        """For provenance and messages: "onnxruntime 1.20.1 CPUExecutionProvider"."""
        return f"onnxruntime {_ort().__version__} {self.providers[0]}"

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run the graph; on CUDA through IO binding (outputs allocated by onnxruntime, copied back once)."""
        if self.provider == "cpu":
            return self.inner.run(None, inputs)
        binding = self.inner.io_binding()
        for name, value in inputs.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for name in self.output_names:
            binding.bind_output(name, "cuda")
        self.inner.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


_cache: OrderedDict[tuple, Session] = OrderedDict()
_cache_lock = threading.Lock()


def open_session(
    path: str | os.PathLike[str],
    provider: str = "auto",  # auto | cpu | cuda | tensorrt
    threads: int = 0,  # intra-op threads; 0 lets onnxruntime choose (all physical cores)
    cache: bool = True,  # reuse a session already open for the same file, provider and threads
) -> Session:
    """A session for the ONNX file at `path`, checked for escaping external data, with fallback detection."""
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, provider, threads)
    with _cache_lock:
        if cache and key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    check_external_data(path)
    ort = _ort()
    requested = requested_providers(provider)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(0, int(threads))
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: a fallback is reported by us, in one line
    try:
        inner = ort.InferenceSession(str(path), sess_options=options, providers=requested)
    except Exception as exc:  # onnxruntime's own exception types
        raise UserError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    got = list(inner.get_providers())
    fell_back = requested[0] != "CPUExecutionProvider" and got[0] == "CPUExecutionProvider"
    if fell_back and provider in ("cuda", "tensorrt"):
        raise UserError(f"onnxruntime could not start the {provider} provider for {path.name} and fell back to the "
                        "CPU (check the CUDA/cuDNN libraries onnxruntime-gpu needs); use --provider cpu or auto")
    session = Session(path, inner, requested, got, fell_back, [i.name for i in inner.get_inputs()],
                      [o.name for o in inner.get_outputs()])
    if cache:
        with _cache_lock:
            _cache[key] = session
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return session


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --------------------------------------------------------------------------------------------------------------
# Exported models
# --------------------------------------------------------------------------------------------------------------

RUNTIME_CHOICES = ("auto", "torch", "onnx")


def usable_export(folder: str | os.PathLike[str], card: Any) -> Path | None:
    """model.onnx when it was exported from these weights and passed its parity check, else None."""
    record = (card.extra or {}).get("onnx") or {}
    main = (record.get("graphs") or {}).get("model") or {}
    if not (record.get("parity_passed") and record.get("weights_sha256") == card.weights_sha256 and main.get("file")):
        return None
    path = Path(folder) / main["file"]
    if not (path.is_file() and path.parent.resolve() == Path(folder).resolve()):
        return None
    from genstudio.fileio import sha256_file

    if main.get("sha256") and sha256_file(path) != main["sha256"]:  # a replaced graph: never run it as these weights
        raise ModelFileError(f"{path} does not match the sha256 recorded when it was exported (changed or replaced "
                             f"file); run `genstudio export {folder}` again, or delete it to use the PyTorch weights")
    return path


def choose_runtime(runtime: str, folder: str | os.PathLike[str], card: Any) -> tuple[str, Path | None]:
    """("onnx", path) or ("torch", None): `auto` takes ONNX when a checked export of these weights exists."""
    runtime = (runtime or "auto").lower()
    if runtime not in RUNTIME_CHOICES:
        raise UserError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIME_CHOICES)}")
    if runtime == "torch":
        return "torch", None
    path = usable_export(folder, card)
    if path is None and runtime == "onnx":
        raise UserError(f"{folder} has no ONNX export that passed its parity check for these weights; "
                        f"run `genstudio export {folder}` first")
    return ("onnx", path) if path is not None else ("torch", None)


def check_runtime_request(runtime_used: str, runtime: str, provider: str, what: str) -> None:
    """Refuse, in one line, a runtime or provider the user asked for that will not run (generate, stylize)."""
    runtime, provider = (runtime or "auto").lower(), (provider or "auto").lower()
    if runtime == "onnx" and runtime_used != "onnx":
        raise UserError(f"{what} has no ONNX model to run (--runtime onnx needs a model folder that "
                        "`genstudio export` wrote a parity-checked model.onnx into)")
    if provider != "auto" and runtime_used != "onnx":
        raise UserError(f"--provider {provider} chooses an onnxruntime provider, but {what} runs on torch; "
                        "use --device for torch, or export the model and pass --runtime onnx")


class OnnxGenerator:
    """An exported generator behind the generator contract (`latent_dim`, `num_classes`, `generate`): z and class
    labels in (arrays, or CPU tensors), float32 images out. genstudio.sampling draws requests through it."""

    def __init__(self, session: Session, latent_dim: int, num_classes: int):
        self.session = session
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes or 0)

    def eval(self) -> OnnxGenerator:
        return self

    def parameters(self):
        return iter(())

    def _labels(self, labels: Any, count: int) -> dict[str, np.ndarray]:
        if "labels" not in self.session.input_names:
            return {}
        values = np.arange(count) % max(1, self.num_classes) if labels is None else labels
        return {"labels": np.asarray(values, np.int64)}

    def generate(self, z: Any, labels: Any = None) -> np.ndarray:
        z = np.asarray(z, np.float32)
        return self.session.run({"z": z, **self._labels(labels, z.shape[0])})[0]


class OnnxStyleGenerator(OnnxGenerator):
    """An exported style-based generator: its main graph takes z, [labels,] psi, truncation_cutoff, mix_z, mix_from
    and the noise inputs (capability `style_mixing`), fed the fixed noise of the model it was exported from."""

    def __init__(self, session: Session, latent_dim: int, num_classes: int, num_ws: int,
                 noise: dict[str, np.ndarray]):  # {graph input: 1 x 1 x r x r}
        super().__init__(session, latent_dim, num_classes)
        self.num_ws = int(num_ws)
        self.noise = {name: np.asarray(value, np.float32)[:1] for name, value in noise.items()}

    def generate(self, z: Any, labels: Any = None) -> np.ndarray:
        return self.generate_styles(z, labels)

    def generate_styles(self, z: Any, labels: Any = None, *, truncation: Any = 1.0, truncation_cutoff: Any = None,
                        mix_z: Any = None, mix_from: Any = None) -> np.ndarray:
        z = np.asarray(z, np.float32)
        count = z.shape[0]

        def per_image(value: Any, dtype: Any) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (count,)).copy()

        mixed = mix_z is not None and mix_from is not None
        inputs = {"z": z, "psi": per_image(truncation, np.float32),
                  "truncation_cutoff": per_image(self.num_ws if truncation_cutoff is None else truncation_cutoff,
                                                 np.int64),
                  "mix_z": np.asarray(mix_z, np.float32) if mixed else z,
                  "mix_from": per_image(mix_from if mixed else self.num_ws, np.int64),
                  **self._labels(labels, count)}
        for name, value in self.noise.items():
            inputs[name] = np.repeat(value, count, axis=0)
        return self.session.run(inputs)[0]


class OnnxCaptionGenerator(OnnxGenerator):
    """An exported caption model: its graph takes z and the caption's token ids (the declared caption input's
    `graph_input`)."""

    def __init__(self, session: Session, latent_dim: int, max_tokens: int, caption_input: str):
        super().__init__(session, latent_dim, 0)
        self.max_tokens, self.caption_input = int(max_tokens), caption_input

    def generate(self, z: Any, labels: Any = None, captions: Any = None) -> np.ndarray:
        z = np.asarray(z, np.float32)
        tokens = np.zeros((z.shape[0], self.max_tokens), np.int64) if captions is None else captions
        return self.session.run({"z": z, self.caption_input: np.asarray(tokens, np.int64)})[0]


def twin_metadata(module: Any, spec: Any) -> dict[str, Any]:
    """What an ONNX twin needs to know of the torch module it was exported from (recorded by `genstudio export`,
    so a later run needs no torch): latent size, classes, style layers and fixed noise, caption length."""
    from genstudio.inputs import InputKind

    meta: dict[str, Any] = {"latent_dim": int(module.latent_dim), "num_classes": int(module.num_classes or 0)}
    if spec.capabilities.style_mixing:
        meta["num_ws"] = int(module.num_ws)
        meta["noise"] = {name: value[:1].detach().float().cpu().numpy()
                         for name, value in module.noise_inputs(1).items()}
    if spec.input(InputKind.CAPTION) is not None:
        meta["max_tokens"] = int(module.max_tokens)
    return meta


TWIN_INPUTS_FILE = "model.inputs.safetensors"  # an exported generator's fixed graph inputs (a style model's noise)
_TWIN_SIZES = ("latent_dim", "num_classes", "num_ws", "max_tokens")


def twin_record(meta: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """What `genstudio export` keeps of `twin_metadata` in model.json, and the bytes of its fixed-inputs file (a
    safetensors file of arrays: never a pickle), or None when there are none."""
    record = {key: int(meta[key]) for key in _TWIN_SIZES if key in meta}
    if not meta.get("noise"):
        return record, None
    from safetensors.numpy import save

    return record, save({name: np.ascontiguousarray(value, np.float32) for name, value in meta["noise"].items()})


def read_twin(folder: str | os.PathLike[str], card: Any) -> dict[str, Any] | None:
    """`twin_metadata` as `genstudio export` recorded it in model.json (its fixed inputs read back and checked
    against their sha256), or None for an export made before it was recorded."""
    twin = ((card.extra or {}).get("onnx") or {}).get("twin")
    if not isinstance(twin, dict):
        return None
    try:
        meta: dict[str, Any] = {key: int(twin[key]) for key in _TWIN_SIZES if key in twin}
        if meta.get("latent_dim", 0) < 1 or meta.setdefault("num_classes", 0) < 0:
            raise ValueError("no latent size")
        fixed = twin.get("fixed_inputs")
        if fixed is not None:
            path = Path(folder) / str(fixed["file"])
            if path.parent.resolve() != Path(folder).resolve() or not path.is_file():
                raise ModelFileError(f"{folder}: the export's fixed inputs {path.name} are missing; run `genstudio "
                                     f"export {folder}` again")
            from genstudio.fileio import sha256_file

            if sha256_file(path) != fixed["sha256"]:
                raise ModelFileError(f"{path} does not match the sha256 recorded when it was exported (changed or "
                                     f"replaced file); run `genstudio export {folder}` again")
            from safetensors.numpy import load_file

            meta["noise"] = load_file(str(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{folder}/model.json: its ONNX record is damaged ({exc}); run `genstudio export "
                             f"{folder}` again") from None
    return meta


def onnx_twin(session: Session, spec: Any, meta: dict[str, Any], styled: bool) -> OnnxGenerator:
    """The twin of an exported generator: style-based when its graph takes psi (`styled`), a caption model when the
    backend declares a caption input, else plain."""
    from genstudio.inputs import InputKind

    caption = spec.input(InputKind.CAPTION)
    if styled:
        return OnnxStyleGenerator(session, meta["latent_dim"], meta["num_classes"], meta["num_ws"], meta["noise"])
    if caption is not None:
        return OnnxCaptionGenerator(session, meta["latent_dim"], meta["max_tokens"], caption.graph_input)
    return OnnxGenerator(session, meta["latent_dim"], meta["num_classes"])
