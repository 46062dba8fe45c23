"""Device choice: `auto` picks CUDA, then Apple's MPS, then the CPU; an explicit device that is absent is an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a user's device string ("auto", "cpu", "cuda", "cuda:1", "mps") into a torch.device that exists."""
    import torch

    text = (name or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)} (or cuda:N)") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
            raise UserError(
                f"device {name!r} requested but no CUDA GPU is usable (torch {torch.__version__}, {build}); "
                "use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UserError(
                f"device {name!r} requested but only {count} CUDA device(s) exist (cuda:0..cuda:{count - 1})"
            )
        return device
    if device.type == "mps":
        if not _mps_available():
            raise UserError(f"device {name!r} requested but Apple MPS is not available here; use --device cpu or auto")
        return device
    raise UserError(f"unsupported device {name!r}; use one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def available_devices() -> list[str]:
    """The device choices this computer has: "auto" and "cpu", then each CUDA GPU ("cuda:0", ...) and "mps" only
    when present. Imports torch (the app's forms ask once, when they open)."""
    import torch

    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if _mps_available():
        found.append("mps")
    return found


def describe_device(device: torch.device) -> str:
    """A short human description, recorded in provenance: "cuda:0 (NVIDIA H100 80GB HBM3)", "cpu (2 threads)"."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
