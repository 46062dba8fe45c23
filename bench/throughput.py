"""Folder throughput of `genstudio stylize` through fast-style on the CPU: prints one JSON object.

    python bench/throughput.py [--count 200] [--side 512] [--sizes standard,lite] [--format png]

For each fast-style size (fresh weights: speed does not depend on training):
- export the network to ONNX (parity checked, as `genstudio export` does);
- FLOPs per image, counted by torch's FlopCounterMode (2 per multiply-add; every FLOP is a convolution's);
- **bare loop**: onnxruntime over pre-decoded tensors, in the batches the pipeline uses: images/s and GFLOP/s;
- **convolutions only**: the same session profiled by onnxruntime; the time its Conv / FusedConv nodes take gives
  the GFLOP/s reached inside the convolutions, against the machine's fp32 peak;
- **pipeline**: `stylize_folder` over --count JPEG photos on disk (decode, batch, infer, encode, provenance,
  journal, atomic writes): images/s and its ratio to the bare loop.

The fp32 peak: the larger of the nominal figure, cores x clock (from /proc/cpuinfo) x FLOPs per cycle per core
(--flops-per-cycle, default 32: two 256-bit FMA pipes, as on AMD Zen 3/4 and Intel client cores; 64 on Intel
cores with two 512-bit FMA units), and what a large SGEMM through torch reaches: a virtual machine reports its
base clock while the cores may run faster, and a peak below what a GEMM achieves would flatter every fraction.

In a virtual machine /proc/cpuinfo often shows the base clock while the cores boost higher (the convolutions may
then beat the "peak"): --boost-mhz CLOCK adds fractions against the peak at that clock, the strict figure.

The pipeline runs twice into fresh folders: "cold" (what a user's run costs: onnxruntime's first batches fill its
memory arena) and "warm" (the session already open and run); the ratio to the bare loop is reported for both.

Inputs are crops of shared/data/content (or --content DIR), resized to --side x --side and saved as JPEG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONTENT = ROOT.parent / "shared" / "data" / "content"


def nominal_peak(flops_per_cycle: int) -> dict:
    cores = os.cpu_count() or 1
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    except OSError:
        pass
    if mhz is None:
        return {"cores": cores, "error": "clock unknown (no /proc/cpuinfo)"}
    return {"cores": cores, "clock_mhz": round(mhz), "flops_per_cycle_per_core": flops_per_cycle,
            "gflops": round(cores * mhz * 1e6 * flops_per_cycle / 1e9, 1)}


def sgemm_gflops(n: int = 4096, repeats: int = 5) -> float:
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return round(2 * n**3 / best / 1e9, 1)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def make_inputs(content: Path, folder: Path, count: int, side: int) -> list[Path]:
    """`count` JPEG photos of side x side: seeded random square crops of the content images."""
    from PIL import Image

    sources = sorted(p for p in content.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not sources:
        raise SystemExit(f"no content images in {content}")
    photos = [Image.open(p).convert("RGB") for p in sources]
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        photo = photos[i % len(photos)]
        crop = int(min(photo.size) * rng.uniform(0.5, 1.0))
        x, y = (int(rng.integers(0, s - crop + 1)) for s in photo.size)
        path = folder / f"photo{i:04d}.jpg"
        photo.crop((x, y, x + crop, y + crop)).resize((side, side), Image.BICUBIC).save(path, quality=92)
        paths.append(path)
    return paths


def count_flops(module: torch.nn.Module, side: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.rand(1, 3, side, side))
    by_op = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    return {"total": counter.get_total_flops(), "conv": sum(n for op, n in by_op.items() if "convolution" in op)}


def conv_profile(onnx_path: Path, batch: np.ndarray, runs: int) -> dict:
    """Seconds per run in Conv nodes and in all nodes, from onnxruntime's own profiler."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.profile_file_prefix = str(onnx_path.parent / "profile")
    session = ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: batch})  # warm-up, dropped below
    for _ in range(runs):
        session.run(None, {name: batch})
    events = json.loads(Path(session.end_profiling()).read_text())
    nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    per_run = len(nodes) // (runs + 1)
    kept = nodes[per_run:]  # drop the warm-up run
    conv_us = sum(e["dur"] for e in kept if e.get("args", {}).get("op_name") in {"Conv", "FusedConv"})
    all_us = sum(e["dur"] for e in kept)
    ops: dict[str, float] = {}
    for e in kept:
        op = e.get("args", {}).get("op_name", "?")
        ops[op] = ops.get(op, 0.0) + e["dur"] / runs / 1e6
    return {"conv_s": conv_us / runs / 1e6, "nodes_s": all_us / runs / 1e6,
            "by_op_s": {k: round(v, 4) for k, v in sorted(ops.items(), key=lambda kv: -kv[1])}}


def bench_size(size: str, photos: list[Path], work: Path, side: int, fmt: str, peak: float | None) -> dict:
    from PIL import Image

    from genstudio.batch.stylize import onnx_batch, stylize_folder
    from genstudio.export import export_model
    from genstudio.models import save_model
    from genstudio.onnx_runtime import open_session
    from genstudio.plugins import get_registry

    spec = get_registry().backend("fast-style")
    config = spec.schema.resolve({"size": size, "features": "random"})
    torch.manual_seed(0)
    module = spec.load().build(config).eval()
    folder = work / f"model-{size}"
    save_model(folder, spec, config, module.state_dict())
    record = export_model(folder)
    onnx_path = folder / record["graphs"]["model"]["file"]
    flops = count_flops(module, side)

    # Bare loop: pre-decoded tensors, the pipeline's batches, the pipeline's session settings.
    tensors = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 for p in photos])
    tensors = np.ascontiguousarray(tensors.transpose(0, 3, 1, 2))
    session = open_session(onnx_path, "cpu", cache=False)
    max_batch = onnx_batch(session.provider)  # what the pipeline uses
    session.run({"content": tensors[:1]})  # warm-up
    started = time.perf_counter()
    for start in range(0, len(tensors), max_batch):
        session.run({"content": tensors[start:start + max_batch]})
    bare_s = time.perf_counter() - started
    bare_ips = len(tensors) / bare_s

    profile = conv_profile(onnx_path, tensors[:1], runs=3)

    # The whole pipeline, from files on disk to written outputs: cold, then warm (session cached and run).
    runs = []
    for attempt in ("cold", "warm"):
        started = time.perf_counter()
        summary = stylize_folder(str(folder), [photos[0].parent], work / f"out-{size}-{attempt}", runtime="onnx",
                                 provider="cpu", fmt=fmt)
        seconds = time.perf_counter() - started
        runs.append({"images": summary.written, "failed": len(summary.failed), "seconds": round(seconds, 1),
                     "images_per_s": round(summary.written / seconds, 2)})
    cold, warm = runs

    def gflops(flop_count: float, seconds: float) -> float:
        return round(flop_count / seconds / 1e9, 1)

    conv_gflops = gflops(flops["conv"], profile["conv_s"])
    result = {
        "gflop_per_image": round(flops["total"] / 1e9, 2),
        "conv_gflop_per_image": round(flops["conv"] / 1e9, 2),
        "onnx_parity_max_abs_error": record["graphs"]["model"]["max_abs_error"]["cpu"],
        "bare_loop": {"images_per_s": round(bare_ips, 2), "gflops": gflops(flops["total"] * len(tensors), bare_s),
                      "batch": max_batch},
        "convolutions": {"seconds_per_image": round(profile["conv_s"], 4), "gflops": conv_gflops,
                         "share_of_node_time": round(profile["conv_s"] / profile["nodes_s"], 3),
                         "node_seconds_by_op": profile["by_op_s"]},
        "pipeline": {"format": fmt, "cold": cold, "warm": warm},
        "pipeline_over_bare": {"cold": round(cold["images_per_s"] / bare_ips, 3),
                               "warm": round(warm["images_per_s"] / bare_ips, 3)},
        "targets": {"pipeline_over_bare_at_least": 0.9, "conv_fraction_of_peak_at_least": 0.5},
    }
    if peak:
        result["convolutions"]["fraction_of_peak"] = round(conv_gflops / peak, 3)
        result["bare_loop"]["fraction_of_peak"] = round(result["bare_loop"]["gflops"] / peak, 3)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--sizes", default="standard,lite")
    parser.add_argument("--format", default="png", choices=["png", "jpg", "webp"])
    parser.add_argument("--content", type=Path, default=DEFAULT_CONTENT)
    parser.add_argument("--flops-per-cycle", type=int, default=32)
    parser.add_argument("--boost-mhz", type=float, default=None, help="maximum boost clock, for a strict peak")
    args = parser.parse_args(argv)

    import onnxruntime

    nominal, sgemm = nominal_peak(args.flops_per_cycle), sgemm_gflops()
    peak = max(nominal.get("gflops", 0.0), sgemm)
    report: dict = {"benchmark": "stylize-folder-throughput-cpu", "count": args.count, "side": args.side,
                    "onnxruntime": onnxruntime.__version__, "fp32_peak_nominal": nominal,
                    "sgemm_gflops_torch": sgemm, "fp32_peak_gflops": peak, "sizes": {}}
    strict = None
    if args.boost_mhz:
        strict = round(nominal["cores"] * args.boost_mhz * 1e6 * args.flops_per_cycle / 1e9, 1)
        report["fp32_peak_gflops_at_boost"] = {"clock_mhz": args.boost_mhz, "gflops": strict}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = make_inputs(args.content, work / "photos", args.count, args.side)
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            try:
                report["sizes"][size] = bench_size(size, photos, work, args.side, args.format, peak)
                if strict:
                    for part in ("convolutions", "bare_loop"):
                        figures = report["sizes"][size][part]
                        figures["fraction_of_peak_at_boost"] = round(figures["gflops"] / strict, 3)
            except Exception as exc:  # one size's failure is reported, the other still runs
                report["sizes"][size] = {"error": f"{type(exc).__name__}: {exc}"}
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
