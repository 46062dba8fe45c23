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
    """An exported generator behind the generator contract (`latent_dim`, `num_classes`, `generate`), so the
    same sampling code runs on either runtime. Tensors in and out are torch CPU tensors."""

    def __init__(self, session: Session, latent_dim: int, num_classes: int):
        self.session = session
        self.latent_dim = latent_dim
        self.num_classes = num_classes

    def eval(self) -> OnnxGenerator:
        return self

    def parameters(self):
        return iter(())

    def generate(self, z, labels=None):
        import torch

        inputs = {"z": z.detach().cpu().float().numpy()}
        if "labels" in self.session.input_names:
            if labels is None:
                labels = torch.arange(z.shape[0]) % max(1, self.num_classes)
            inputs["labels"] = labels.detach().cpu().long().numpy()
        return torch.from_numpy(self.session.run(inputs)[0])


def onnx_generator(path: Path, module: Any, provider: str = "auto", threads: int = 0) -> OnnxGenerator:
    """The ONNX twin of `module` (whose latent size and classes it shares)."""
    session = open_session(path, provider, threads)
    return OnnxGenerator(session, int(module.latent_dim), int(module.num_classes or 0))
