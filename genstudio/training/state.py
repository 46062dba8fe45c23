"""Nested training state <-> (tensors for safetensors, a JSON skeleton): checkpoints without pickle.

`flatten_state` walks dicts, lists, tuples, tensors and JSON scalars. Every tensor moves into a flat
`{name: tensor}` dict (names follow the path, e.g. `optimizers/G/state/0/exp_avg`) and is replaced in the
skeleton by a reference. Containers JSON cannot express exactly are tagged, so `unflatten_state` rebuilds the
same types: a tuple stays a tuple and an optimizer's integer keys stay integers.

Skeleton nodes::

    null, true, 1, "text"          themselves
    [a, b]                         a list
    {"tensor": "name"}             a tensor
    {"tuple": [a, b]}              a tuple
    {"dict": {"key": a}}           a dict whose keys are all strings
    {"items": [[k, a], ...]}       any other dict (keys are skeleton nodes too: ints, tuples, ...)
    {"float": "nan" | "inf" | "-inf"}   a float JSON cannot write
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

_TAGS = ("tensor", "tuple", "dict", "items", "float")


def flatten_state(obj: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split `obj` into CPU tensors (contiguous copies, safe to save) and a JSON-able skeleton."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(obj, "", tensors)
    return tensors, skeleton


def unflatten_state(tensors: dict[str, torch.Tensor], skeleton: Any) -> Any:
    """Rebuild what `flatten_state` split. Raises ValueError for a malformed skeleton or a missing tensor."""
    if skeleton is None or isinstance(skeleton, (bool, int, float, str)):
        return skeleton
    if isinstance(skeleton, list):
        return [unflatten_state(tensors, item) for item in skeleton]
    if not isinstance(skeleton, dict) or len(skeleton) != 1 or next(iter(skeleton)) not in _TAGS:
        raise ValueError(f"malformed state skeleton node: {str(skeleton)[:80]}")
    tag, value = next(iter(skeleton.items()))
    if tag == "tensor":
        if value not in tensors:
            raise ValueError(f"state refers to tensor {value!r}, which is missing")
        return tensors[value]
    if tag == "tuple":
        return tuple(unflatten_state(tensors, item) for item in value)
    if tag == "dict":
        return {key: unflatten_state(tensors, item) for key, item in value.items()}
    if tag == "items":
        return {unflatten_state(tensors, key): unflatten_state(tensors, item) for key, item in value}
    return float(value)  # "float": nan / inf / -inf


def _flatten(obj: Any, path: str, tensors: dict[str, Any]) -> Any:
    import torch

    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"float": repr(obj)}
    if isinstance(obj, torch.Tensor):
        return {"tensor": _store(obj, path, tensors)}
    if isinstance(obj, tuple):
        return {"tuple": [_flatten(item, f"{path}/{i}", tensors) for i, item in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(item, f"{path}/{i}", tensors) for i, item in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(key, str) for key in obj):
            return {"dict": {key: _flatten(item, f"{path}/{key}", tensors) for key, item in obj.items()}}
        return {"items": [[_flatten(key, f"{path}/key{i}", tensors), _flatten(item, f"{path}/{key}", tensors)]
                          for i, (key, item) in enumerate(obj.items())]}
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (at {path or '/'})")


def _store(tensor: torch.Tensor, path: str, tensors: dict[str, Any]) -> str:
    name = path.lstrip("/") or "tensor"
    if name in tensors:  # e.g. keys 0 and "0" in one dict
        suffix = 1
        while f"{name}~{suffix}" in tensors:
            suffix += 1
        name = f"{name}~{suffix}"
    tensors[name] = tensor.detach().to("cpu").contiguous().clone()  # clone: safetensors refuses shared storage
    return name
