"""The network-level checks: load, build, shapes, range, determinism, batch, on seeded tiny inputs.

A torch backend's module is called directly (its own output, before the pipeline clips it); an ONNX-only backend's
graph runs through the opened stylizer's engine, the code that runs it in every operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from genstudio.conformance.common import (
    BATCH_TOLERANCE,
    REPEAT_TOLERANCE,
    Fail,
    Skip,
    check_images,
    check_range,
    check_same,
)

CONTENT_SIZE = (24, 32)  # H x W of the tiny content image
STYLE_SIZE = (24, 24)


def network_checks(run: Callable[..., None], state: dict[str, Any], *, image_kind: bool) -> None:
    spec = state["target"].spec
    run("load", lambda: _load(state))
    if spec.capabilities.runtime == "onnx" and not image_kind:  # an ONNX-only generator: z in, images out
        run("build", lambda: _open_generator_graph(state), needs=("impl",))
        run("shapes", lambda: _generator_shapes(state), needs=("sampler",))
        run("range", lambda: check_range(state["output"]), needs=("output",))
        run("determinism", lambda: check_same(state["output"], _generator_probe(state), REPEAT_TOLERANCE,
                                              "the same latents twice"), needs=("output",))
        run("batch", lambda: check_same(state["output"][1:2], _generator_probe(state, [1]), BATCH_TOLERANCE,
                                        "image 1 alone and in a batch of 2"), needs=("output",))
        return
    if spec.capabilities.runtime == "onnx":
        run("build", lambda: _open_graph(state), needs=("impl",))
        run("shapes", lambda: _graph_shapes(state), needs=("stylizer",))
        run("range", lambda: check_range(state["output"]), needs=("output",))
        run("determinism", lambda: check_same(state["output"], _graph_probe(state), REPEAT_TOLERANCE,
                                              "the same content twice"), needs=("output",))
        run("batch", lambda: _graph_batch(state), needs=("output",))
        return
    run("build", lambda: _build(state), needs=("impl",))
    run("shapes", lambda: _shapes(state, image_kind), needs=("module",))
    run("range", lambda: check_range(state["output"]), needs=("output",))
    run("determinism", lambda: check_same(state["output"], _as_array(_probe(state)), REPEAT_TOLERANCE,
                                          "the same inputs twice"), needs=("output",))
    if is_restorer(state):
        run("hole", lambda: _hole(state), needs=("output",))
    if image_kind:
        run("batch", lambda: (_ for _ in ()).throw(Skip("image-to-image modules run one image a call")))
    else:
        run("batch", lambda: _batch(state), needs=("output",))


def is_restorer(state: dict[str, Any]) -> bool:
    from genstudio.backends import BackendKind

    return state["target"].spec.kind == BackendKind.RESTORER


def restorer_task(state: dict[str, Any]) -> str | None:
    """The task a restorer is checked with: the first it can be asked for (what the command line defaults to)."""
    from genstudio.batch.restore import usable_tasks

    tasks = usable_tasks(state["target"].spec, state["target"].settings)
    return tasks[0] if tasks else None


def hole_box(size: tuple[int, int] = CONTENT_SIZE) -> np.ndarray:
    """H x W uint8, 255 in a box in the middle: the hole of the checks' inpainting."""
    mask = np.zeros(size, np.uint8)
    mask[size[0] // 4:size[0] * 3 // 4, size[1] // 4:size[1] * 3 // 4] = 255
    return mask


def _load(state: dict[str, Any]) -> str:
    spec = state["target"].spec
    state["impl"] = spec.load()  # imports the loader; UserError naming the plugin when it or a declared method lacks
    return spec.loader


def _build(state: dict[str, Any]) -> str:
    import torch

    from genstudio.backends import check_model_kind
    from genstudio.models import load_model

    target = state["target"]
    if target.folder is not None:
        module = load_model(target.folder, device="cpu").module
    else:
        torch.manual_seed(0)  # the untrained weights: the same every run
        module = state["impl"].build(dict(target.settings))
        check_model_kind(target.spec, module)
        module = module.to("cpu").eval()
    state["module"] = module
    count = sum(p.numel() for p in module.parameters()) if hasattr(module, "parameters") else 0
    return f"{type(module).__name__}, {count:,} parameters"


def _inputs(state: dict[str, Any]) -> dict[str, Any]:
    """The seeded inputs of the module's kind, made once (the same tensors for every call)."""
    if "inputs" in state:
        return state["inputs"]
    import torch

    from genstudio import generation
    from genstudio.backends import BackendKind
    from genstudio.inputs import InputKind

    spec, module = state["target"].spec, state["module"]
    generator = torch.Generator().manual_seed(0)
    inputs: dict[str, Any] = {}
    if spec.kind in (BackendKind.GENERATOR, BackendKind.AUTOENCODER):
        inputs["z"] = generation.latents(0, [0, 1], int(module.latent_dim))
        classes = int(module.num_classes or 0)
        inputs["labels"] = torch.tensor([0, 1 % classes]) if classes else None
    else:
        inputs["x"] = torch.rand(1, 3, *CONTENT_SIZE, generator=generator)
        if spec.input(InputKind.STYLE) is not None:
            inputs["style"] = torch.rand(3, *STYLE_SIZE, generator=generator)
        direction = spec.input(InputKind.DIRECTION)
        inputs["direction"] = direction.choices[0] if direction is not None else None
        inputs["choices"] = {entry.name: entry.choices[0] for entry in spec.inputs if entry.kind == InputKind.CHOICE}
        if spec.kind == BackendKind.RESTORER:
            inputs["mask"] = torch.from_numpy(hole_box() / np.float32(255))[None, None]  # 1 x 1 x H x W
    state["inputs"] = inputs
    return inputs


def _probe(state: dict[str, Any], task: str | None = None) -> Any:
    """The module's own output for the seeded inputs (a restorer's: for `task`, default its first; the mask for
    inpaint only)."""
    import torch

    from genstudio.backends import BackendKind

    spec, module, inputs = state["target"].spec, state["module"], _inputs(state)
    with torch.no_grad():
        if spec.kind == BackendKind.RESTORER:
            task = task or restorer_task(state)
            return module.restore(inputs["x"], inputs["mask"] if task == "inpaint" else None, task)
        if spec.kind in (BackendKind.GENERATOR, BackendKind.AUTOENCODER):
            return module.generate(inputs["z"], inputs["labels"])
        if spec.kind == BackendKind.TRANSLATOR:
            return module.translate(inputs["x"], inputs["direction"], **inputs["choices"])
        return module.stylize(inputs["x"], inputs.get("style"), strength=1.0, preserve_color=False,
                              **inputs["choices"])


def _as_array(out: Any) -> np.ndarray:
    return check_images(out, int(out.shape[0]) if getattr(out, "ndim", 0) == 4 else 1)


def _shapes(state: dict[str, Any], image_kind: bool) -> str:
    from genstudio.backends import BackendKind

    spec = state["target"].spec
    batch = 1 if image_kind else 2
    size = CONTENT_SIZE if image_kind and spec.capabilities.tile_safe else None
    if is_restorer(state):  # every task the restorer can be asked for keeps the size (the contract)
        from genstudio.batch.restore import usable_tasks

        tasks = usable_tasks(spec, state["target"].settings) or (None,)
        for task in tasks[1:]:
            check_images(_probe(state, task), 1, size=CONTENT_SIZE, what=f"the {task} output")
        out = check_images(_probe(state, tasks[0]), 1, size=CONTENT_SIZE,
                           what=f"the {tasks[0]} output" if tasks[0] else "output")
        state["output"] = out
        return "x".join(str(d) for d in out.shape) + (f" for {', '.join(tasks)}" if tasks[0] else "")
    out = check_images(_probe(state), batch, size=size)
    state["output"] = out
    if spec.kind == BackendKind.AUTOENCODER:
        import torch

        labels = _inputs(state)["labels"]
        with torch.no_grad():
            encoded = state["module"].encode(torch.from_numpy(np.clip(out, 0, 1)), labels)
        latent = int(state["module"].latent_dim)
        if not isinstance(encoded, (tuple, list)) or len(encoded) != 2 or \
                any(tuple(part.shape) != (batch, latent) for part in encoded):
            shapes = [tuple(getattr(part, "shape", ())) for part in encoded] if isinstance(encoded, (tuple, list)) \
                else type(encoded).__name__
            raise Fail(f"encode returned {shapes}, expected (mean, log_variance), each {batch} x {latent}")
    return "x".join(str(d) for d in out.shape)


def _hole(state: dict[str, Any]) -> str:
    """A restorer's inpainting leaves the pixels outside the mask as they were (genstudio.backends.RestorerModel)."""
    from genstudio.batch.restore import usable_tasks

    if "inpaint" not in usable_tasks(state["target"].spec, state["target"].settings):
        raise Skip("the restorer does not inpaint")
    out = _as_array(_probe(state, "inpaint"))[0]
    given = _inputs(state)["x"][0].numpy()
    outside = hole_box() == 0
    worst = float(np.abs(out - given)[:, outside].max())
    if not worst <= REPEAT_TOLERANCE:
        raise Fail(f"inpainting changed pixels outside the mask by up to {worst:.3g}; only the hole may change "
                   "(composite the network's output into the hole)")
    if np.array_equal(out[:, ~outside], given[:, ~outside]):
        raise Fail("inpainting left the hole as it was")
    return f"outside the hole unchanged (max difference {worst:.2g})"


def _batch(state: dict[str, Any]) -> str:
    import torch

    inputs, module = _inputs(state), state["module"]
    labels = inputs["labels"][1:2] if inputs["labels"] is not None else None
    with torch.no_grad():
        alone = _as_array(module.generate(inputs["z"][1:2], labels))
    return check_same(state["output"][1:2], alone, BATCH_TOLERANCE, "image 1 alone and in a batch of 2")


# -- ONNX-only backends ------------------------------------------------------------------------------------------


def _open_graph(state: dict[str, Any]) -> str:
    from genstudio.batch.stylize import open_stylizer

    target = state["target"]
    stylizer = open_stylizer(str(target.folder) if target.folder is not None else target.spec.id,
                             config=dict(target.settings) if target.folder is None else None, provider="cpu")
    state["stylizer"] = stylizer
    files = ", ".join(f"{name} sha256 {digest[:12]}" for name, digest in stylizer.files.items())
    return f"{stylizer.device_text}; {files}"


def _open_generator_graph(state: dict[str, Any]) -> str:
    from genstudio.generate_folder import open_sampler

    target = state["target"]
    sampler = open_sampler(target.spec.id, config=dict(target.settings), provider="cpu")
    state["sampler"] = sampler
    files = ", ".join(f"{name} sha256 {digest[:12]}" for name, digest in (sampler.files or {}).items())
    return f"{sampler.device_text}; latent size {sampler.latent_dim}; {files}"


def _generator_probe(state: dict[str, Any], indices: list[int] | None = None) -> np.ndarray:
    """The graph's raw output (not clipped, so the range check sees it) for latents 0, 1 of seed 0."""
    from genstudio.latents import latent_arrays

    indices = [0, 1] if indices is None else indices
    sampler = state["sampler"]
    return check_images(sampler.module.generate(latent_arrays(0, indices, sampler.latent_dim)), len(indices))


def _generator_shapes(state: dict[str, Any]) -> str:
    out = _generator_probe(state)
    state["output"] = out
    return "x".join(str(d) for d in out.shape)


def _content(batch: int) -> np.ndarray:
    return np.random.default_rng(0).random((batch, 3, *CONTENT_SIZE), dtype=np.float32)


def _graph_probe(state: dict[str, Any], batch: int = 1) -> np.ndarray:
    return check_images(state["stylizer"].run(_content(batch)), batch)


def _graph_shapes(state: dict[str, Any]) -> str:
    spec = state["target"].spec
    out = _graph_probe(state)
    if spec.capabilities.tile_safe and tuple(out.shape[2:]) != CONTENT_SIZE:
        raise Fail(f"the graph's output is {out.shape[2]} x {out.shape[3]} for a {CONTENT_SIZE[0]} x "
                   f"{CONTENT_SIZE[1]} input, but the backend declares tile_safe (size-preserving)")
    state["output"] = out
    return "x".join(str(d) for d in out.shape)


def _graph_batch(state: dict[str, Any]) -> str:
    both = _graph_probe(state, 2)
    alone = check_images(state["stylizer"].run(_content(2)[1:2]), 1)
    return check_same(both[1:2], alone, BATCH_TOLERANCE, "image 1 alone and in a batch of 2")
