"""Start-up and whole-process cost of `genstudio stylize` on an ONNX model, against a bare onnxruntime script.

    python bench/startup.py [--runs 5] [--photos 20] [--size 512] [--networks tinystyle,cyclegan]

What it measures (each a median of --runs fresh processes, wall time from spawn to exit; genstudio's runs and the
bare script's alternate, so a busy moment on the machine costs both alike):
  * `one_photo`: `genstudio stylize MODEL photo.jpg --out DIR` against a bare script doing the same read-run-write
    (Pillow decode, float planar, `InferenceSession.run`, clip/round, PNG at the same compression) with the same
    session options; the ratio's target is <= 1.5;
  * `folder`: the same over --photos photos of at most --size px; target: genstudio within 10% of the bare loop;
  * `help` and `plugins_list`: `genstudio --help` and `genstudio plugins list` (target < 0.5 s each);
  * whether torch was imported by the genstudio runs (`torch_imported`: must be false).
Each figure follows one unmeasured run, so both sides load their modules from bytecode caches, as installed.

Networks: `tinystyle`, the example plugin's ONNX-only stylizer (a few thousand parameters: start-up is all there
is), installed into a temporary --target with `genstudio plugins install`; `cyclegan`, a built-in cyclegan model
folder (ngf 32, 6 residual blocks, untrained weights) exported with `genstudio export`, run by
`genstudio translate` on its checked model.onnx: a network whose inference dominates at 512 px. Everything lives in
a temporary folder (GENSTUDIO_HOME included); nothing is downloaded. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "genstudio-plugin-example"

BARE = r"""
import sys, json
from pathlib import Path
import numpy as np
import onnxruntime as ort
from PIL import Image
graph, out, feeds_json, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
options = ort.SessionOptions()
options.intra_op_num_threads = 0
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
options.log_severity_level = 3
session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
extra = {name: np.array(value, dtype=dtype) for name, (value, dtype) in json.loads(feeds_json).items()}
image_input = session.get_inputs()[0].name
out.mkdir(parents=True, exist_ok=True)
for name in files:
    pixels = np.asarray(Image.open(name).convert("RGB"))
    batch = (pixels.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    result = session.run(None, {image_input: batch, **extra})[0][0]
    image = np.rint(np.clip(result, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(image).save(out / (Path(name).stem + ".png"), compress_level=1)
"""

GENSTUDIO = r"""
import json, sys
from genstudio.cli import main
sys.argv = ["genstudio", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "pydantic": "pydantic" in sys.modules}),
      file=sys.stderr)
"""


def photos(folder: Path, count: int, size: int) -> list[Path]:
    """`count` photo-like JPEGs (smooth colour fields plus grain), the longer side `size`, a few aspect ratios."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        width, height = (size, size * 3 // 4) if index % 3 else (size * 3 // 4, size)
        y, x = np.mgrid[0:height, 0:width] / max(width, height)
        base = np.stack([np.sin(6 * x + index), np.cos(5 * y - index), np.sin(4 * (x + y))], -1) * 0.4 + 0.5
        grain = rng.normal(0, 0.04, (height, width, 3))
        pixels = (np.clip(base + grain, 0, 1) * 255).astype(np.uint8)
        path = folder / f"photo{index:02d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def timed(command: list[str], env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    report = {}
    for line in reversed(done.stderr.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            break
    if report.get("code", 0) not in (0, None):
        raise SystemExit(f"genstudio exited with {report['code']}:\n{done.stderr[-2000:]}")
    return seconds, report


def median_of(runs: int, command_for, env) -> tuple[float, list[float], dict[str, bool]]:
    """The median wall time of `runs` fresh processes, after one unmeasured run (it writes the bytecode caches a
    user's installation has)."""
    (median, times, seen), = interleaved(runs, [command_for], env)
    return median, times, seen


def interleaved(runs: int, commands: list, env) -> list[tuple[float, list[float], dict[str, bool]]]:
    """`median_of` for several commands, their runs alternating (A B A B ...), so a busy moment on the machine
    costs each side alike; one unmeasured run of each first. With each, which heavy modules its genstudio runs
    imported (torch must never be; pydantic comes with typer >= 0.29, whose parameter checks build on it)."""
    for command_for in commands:
        timed(command_for(runs), env)
    times: list[list[float]] = [[] for _ in commands]
    seen = [{"torch": False, "pydantic": False} for _ in commands]
    for run in range(runs):
        for index, command_for in enumerate(commands):
            seconds, report = timed(command_for(run), env)
            times[index].append(seconds)
            for module in seen[index]:
                seen[index][module] = seen[index][module] or bool(report.get(module))
    return [(statistics.median(t), [round(x, 3) for x in t], imported) for t, imported in zip(times, seen, strict=True)]


def setup_tinystyle(work: Path, env: dict[str, str]) -> dict:
    site = work / "site"
    subprocess.run([sys.executable, "-m", "genstudio", "plugins", "install", str(EXAMPLE), "--target", str(site),
                    "--no-build-isolation"], check=True, capture_output=True, env=env, timeout=600)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    graph = site / "genstudio_example" / "graphs" / "tinystyle.onnx"
    return {"model": "tinystyle", "command": "stylize", "options": ["--style", "moss"], "graph": str(graph),
            "feeds": {"style": [[0.0, 0.0, 1.0, 0.0], "float32"]}}


def setup_cyclegan(work: Path, env: dict[str, str]) -> dict:
    """A cyclegan model folder (untrained weights: the cost is the same) with a checked export."""
    code = r"""
import sys
from genstudio.export import export_model
from genstudio.models import save_model
from genstudio.plugins import get_registry
spec = get_registry().backend("cyclegan")
config = spec.schema.resolve({"ngf": 32, "blocks": 6, "resolution": 256})
module = spec.load().build(config)
save_model(sys.argv[1], spec, config, module.state_dict())
export_model(sys.argv[1])
"""
    folder = work / "cyclegan-model"
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True, env=env, timeout=600)
    return {"model": str(folder), "command": "translate", "options": ["--direction", "a2b"],
            "graph": str(folder / "model.onnx"), "feeds": {"direction": [[0], "int64"]}}


def bench_network(name: str, setup, work: Path, env: dict[str, str], files: list[Path], runs: int) -> dict:
    net = setup(work / name, env)
    one = files[:1]

    def ours(batch: list[Path], tag: str):
        return lambda run: [sys.executable, "-c", GENSTUDIO, net["command"], net["model"], *map(str, batch),
                            "--out", str(work / name / f"{tag}-{run}"), *net["options"], "--runtime", "onnx"]

    def bare(batch: list[Path], tag: str):
        return lambda run: [sys.executable, "-c", BARE, net["graph"], str(work / name / f"bare-{tag}-{run}"),
                            json.dumps(net["feeds"]), *map(str, batch)]

    results = {}
    for tag, batch in (("one_photo", one), ("folder", files)):
        (mine, mine_runs, seen), (theirs, their_runs, _) = interleaved(runs, [ours(batch, tag), bare(batch, tag)],
                                                                       env)
        results[tag] = {"photos": len(batch), "genstudio_s": round(mine, 3), "bare_onnxruntime_s": round(theirs, 3),
                        "ratio": round(mine / theirs, 3), "genstudio_runs": mine_runs, "bare_runs": their_runs,
                        "torch_imported": seen["torch"], "pydantic_imported": seen["pydantic"]}
    results["one_photo"]["target"] = "ratio <= 1.5"
    results["folder"]["target"] = "ratio <= 1.10"
    return results


VERSIONS = r"""
import importlib.metadata, json
found = {}
for name in ("typer", "pydantic", "rich", "numpy", "onnxruntime", "onnxruntime-gpu", "pillow"):
    try:
        found[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def versions(env: dict[str, str]) -> dict[str, str]:
    """The versions of what start-up depends on, as the measured processes find them."""
    done = subprocess.run([sys.executable, "-c", VERSIONS], capture_output=True, text=True, env=env, timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--networks", default="tinystyle,cyclegan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="genstudio-startup-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, GENSTUDIO_HOME=str(work / "home"), PYTHONUNBUFFERED="1")
        env.pop("GENSTUDIO_ENTRY_POINTS_ONLY_IN", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed for users: modules load from their .pyc
        files = photos(work / "photos", args.photos, args.size)
        report: dict = {"cpus": os.cpu_count(), "runs": args.runs, "size": args.size, "versions": versions(env)}
        for what, command in (("help", ["--help"]), ("plugins_list", ["plugins", "list"])):
            seconds, runs, seen = median_of(args.runs, lambda run, c=command: [sys.executable, "-c", GENSTUDIO, *c],
                                            env)
            report[what] = {"seconds": round(seconds, 3), "runs": runs, "torch_imported": seen["torch"],
                            "pydantic_imported": seen["pydantic"], "target": "< 0.5 s"}
        setups = {"tinystyle": setup_tinystyle, "cyclegan": setup_cyclegan}
        for name in [n.strip() for n in args.networks.split(",") if n.strip()]:
            report[name] = bench_network(name, setups[name], work, dict(env), files, args.runs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
