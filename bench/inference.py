"""ONNX runtime benchmark (CPU): prints one JSON object.

    python bench/inference.py [--repeats 20] [--tiled-side 8000]

- For every exportable backend installed: build it (fresh weights: speed does not depend on training), export it
  through `genstudio export`'s code path (parity checked), then time PyTorch eager against onnxruntime's CPU
  provider at batch 1 and batch 32 (median latency per batch, ms) and report ours/eager ratios.
- Memory of the tiled folder pipeline: one --tiled-side x --tiled-side photo through a size-preserving
  convolutional network (fast-style when installed and buildable, else a small residual conv net) with
  --tile 512, measured as the process's peak RSS in a child process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

STYLIZER_SIZE = 256  # content side for stylizer latency (batch 32 at 512 px would take minutes on 2 cores)


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def _small_config(spec) -> dict:
    wanted = {"resolution": 32, "channels": 3, "size": "lite", "decoder": "lite", "features": "random"}
    return {k: v for k, v in wanted.items() if k in spec.schema}


def bench_backend(spec, folder: Path, repeats: int) -> dict:
    from genstudio.export import export_model, graphs_for
    from genstudio.models import save_model
    from genstudio.onnx_runtime import open_session

    config = spec.schema.resolve(_small_config(spec))
    module = spec.load().build(config).eval()
    save_model(folder, spec, config, module.state_dict())
    record = export_model(folder)
    graph = graphs_for(module, spec)[0]
    session = open_session(folder / record["graphs"]["model"]["file"], "cpu")
    result = {"parity_max_abs_error": record["graphs"]["model"]["max_abs_error"]["cpu"]}
    for batch in (1, 32):
        for spec_input in graph.inputs:
            object.__setattr__(spec_input, "size", STYLIZER_SIZE)
        inputs = graph.random_inputs(batch, torch.Generator().manual_seed(0))
        feeds = {name: value.numpy() for name, value in zip(session.input_names, inputs, strict=True)}
        with torch.no_grad():
            eager = _median_ms(lambda inputs=inputs: graph.module(*inputs), max(3, repeats // (4 if batch > 1 else 1)))
        ort = _median_ms(lambda feeds=feeds: session.run(feeds), max(3, repeats // (4 if batch > 1 else 1)))
        result[f"batch{batch}"] = {"torch_ms": eager, "onnx_ms": ort, "speedup": round(eager / ort, 2)}
    return result


TILED_CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
from PIL import Image
from genstudio.batch.inputs import collect
from genstudio.batch.pipeline import Processor, run_batch

def peak_rss_mb():
    # VmHWM: this address space's high-water mark, which starts afresh at exec; getrusage's ru_maxrss would
    # carry over the parent's peak across fork + exec (Linux keeps it), so it is only the fallback.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

side, net_kind = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
if net_kind == "fast-style":
    from genstudio.plugins import get_registry
    spec = get_registry().backend("fast-style")
    module = spec.load().build(spec.schema.resolve({k: v for k, v in {"size": "lite"}.items() if k in spec.schema}))
    module.eval()
    run = lambda batch: torch.stack([module.stylize(image) for image in batch])
else:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 3, 3, padding=1), torch.nn.Sigmoid()).eval()
    run = net
with tempfile.TemporaryDirectory() as tmp:
    source = Path(tmp) / "huge.jpg"
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (500, 500, 3), dtype=np.uint8)
    Image.fromarray(np.tile(tile, (side // 500 + 1, side // 500 + 1, 1))[:side, :side]).save(source, quality=90)
    before = peak_rss_mb()
    items, _ = collect([source], Path(tmp) / "out")
    started = time.perf_counter()
    from genstudio.batch.torch_edge import on_tensors
    processor = Processor("tiled", on_tensors(run), lambda item, digest: {"input_sha256": digest})
    summary = run_batch(items, processor, Path(tmp) / "out", tile=512, overlap=32, workers=1)
    print(json.dumps({"side": side, "network": net_kind, "written": summary.written, "failed": summary.failed,
                      "seconds": round(time.perf_counter() - started, 1),
                      "peak_rss_mb": round(peak_rss_mb(), 1), "peak_rss_before_batch_mb": round(before, 1)}))
"""


def bench_tiled(side: int) -> dict:
    from genstudio.plugins import get_registry

    try:
        get_registry().backend("fast-style")
        kind = "fast-style"
    except Exception:
        kind = "small-conv"
    done = subprocess.run([sys.executable, "-c", TILED_CHILD, str(side), kind], capture_output=True, text=True,
                          timeout=3600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["target_peak_rss_under_mb"] = 3072
    report["target_met"] = report["peak_rss_mb"] < 3072 and report["written"] == 1
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--tiled-side", type=int, default=8000)
    parser.add_argument("--skip-tiled", action="store_true")
    parser.add_argument("--skip-backends", action="store_true", help="only the tiled memory check")
    args = parser.parse_args(argv)

    import onnxruntime

    from genstudio.plugins import get_registry

    report: dict = {"benchmark": "onnx-cpu", "torch_threads": torch.get_num_threads(),
                    "onnxruntime": onnxruntime.__version__, "stylizer_side": STYLIZER_SIZE, "backends": {}}
    registry = get_registry()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in sorted(registry.backends.values(), key=lambda s: s.id):
            if args.skip_backends or not spec.capabilities.exportable:
                continue
            try:
                report["backends"][spec.id] = bench_backend(spec, Path(tmp) / spec.id, args.repeats)
            except Exception as exc:  # one backend's failure is reported, the others still run
                report["backends"][spec.id] = {"error": f"{type(exc).__name__}: {exc}"}
    if not args.skip_tiled:
        report["tiled"] = bench_tiled(args.tiled_side)
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
