"""draw end to end through the command line and the job runners, on tiny models: train (held-out ELBO, resume),
generate, the drawing steps as an animation (CLI and job alike, the last frame = generate's image), eval's NLL,
ONNX export with parity and the ONNX runtime, reproduce."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from genstudio.provenance import read_provenance, without_time

from .conftest import TINY_SETS, train_tiny

QUIET, NEVER = (lambda event: None), (lambda: False)


def cli(*args: str, code: int = 0) -> str:
    """`genstudio ARGS` in process: its output, or for code=2 the UserError's one line (main() prints it)."""
    from genstudio.cli import app
    from genstudio.errors import UserError

    result = CliRunner().invoke(app, [str(arg) for arg in args])
    if code == 2:
        assert isinstance(result.exception, UserError), result.output
        return str(result.exception)
    assert result.exit_code == code, result.output
    return result.output


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L")).astype(np.int16)


def test_train_from_the_command_line_records_the_held_out_elbo(digits, tmp_path, single_torch_thread):
    out = tmp_path / "m"
    cli("train", "draw", "--data", digits, "--out", out, "--steps", "2", "--batch-size", "4", *TINY_SETS,
        "--set", "validation_fraction=0.25", "--device", "cpu")
    card = json.loads((out / "model.json").read_text())
    assert card["backend"] == "draw" and card["config"]["channels"] == 1  # derived from the grey images
    assert card["metrics"]["val_images"] == 3 and card["metrics"]["val_neg_elbo"] > 0
    assert (out / "samples.png").is_file()


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(digits, tmp_path):
    train_tiny(digits, tmp_path / "straight", steps=4)
    train_tiny(digits, tmp_path / "resumed", steps=2)
    from genstudio.operations.train import train

    summary = train(backend="draw", data=digits, out=tmp_path / "resumed", steps=4, batch_size=4, device="cpu",
                    seed=0, resume=True, sample_count=0,
                    config={"resolution": 16, "steps": 4, "z_size": 3, "enc_size": 16, "dec_size": 16, "read_n": 2,
                            "write_n": 3, "validation_fraction": 0.0})
    assert summary.resumed_from == 2 and summary.steps == 4
    straight = load_file(tmp_path / "straight" / "weights.safetensors")
    resumed = load_file(tmp_path / "resumed" / "weights.safetensors")
    assert straight.keys() == resumed.keys()
    assert all((straight[name] == resumed[name]).all() for name in straight)


def test_the_last_drawing_step_is_the_generated_image(model, tmp_path, single_torch_thread):
    cli("generate", model, "--count", "3", "--seed", "2", "--out", tmp_path / "gen", "--device", "cpu")
    cli("draw-steps", model, "--seed", "2", "--start", "1", "--count", "1", "--out", tmp_path / "frames",
        "--device", "cpu")
    frames = sorted((tmp_path / "frames").glob("frame-*.png"))
    assert len(frames) == 4  # the model's drawing steps
    np.testing.assert_array_equal(pixels(frames[-1]), pixels(tmp_path / "gen" / "seed2-00001.png"))
    assert not np.array_equal(pixels(frames[0]), pixels(frames[-1]))
    record = read_provenance(frames[1])
    assert record["operation"] == "draw-steps" and record["frame"] == 1 and record["backend"] == "draw"
    assert record["parameters"]["seed"] == 2 and record["parameters"]["index"] == 1
    assert record["model_sha256"] == read_provenance(tmp_path / "gen" / "seed2-00001.png")["model_sha256"]
    manifest = json.loads((tmp_path / "frames" / "animation.json").read_text())
    assert manifest["frames"] == 4 and manifest["record"]["parameters"]["steps"] == 4


def test_the_command_line_and_a_job_write_the_same_animation_and_a_rerun_leaves_it(model, tmp_path,
                                                                                   single_torch_thread):
    from genstudio.jobs.builtin import run_draw_steps
    from genstudio.operations.registry import BUILTIN

    out = tmp_path / "cli.gif"
    cli("draw-steps", model, "--count", "4", "--seed", "5", "--columns", "2", "--fps", "4", "--out", out, "--device",
        "cpu")
    job_out = tmp_path / "job.gif"
    operation = next(op for op in BUILTIN if op.kind == "draw-steps")
    params = operation.prepare({"model": str(model), "out": str(job_out), "count": 4, "seed": 5, "columns": 2,
                                "fps": 4, "device": "cpu"})
    result = run_draw_steps(params, QUIET, NEVER)
    assert result["written"] and result["steps"] == 4 and result["images"] == 4
    assert out.read_bytes() == job_out.read_bytes()
    with Image.open(out) as gif:
        assert gif.n_frames == 4 and gif.size == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2)  # a 2 x 2 grid, 2 px padding
    cli_record = json.loads((tmp_path / "cli.gif.json").read_text())
    assert without_time(cli_record) == without_time(json.loads((tmp_path / "job.gif.json").read_text()))
    before = out.stat().st_mtime_ns
    again = json.loads(cli("draw-steps", model, "--count", "4", "--seed", "5", "--columns", "2", "--fps", "4",
                            "--out", out, "--device", "cpu", "--json"))
    assert again["written"] is False  # already up to date
    assert out.stat().st_mtime_ns == before
    cli("draw-steps", model, "--count", "4", "--seed", "5", "--out", tmp_path / "steps.webp", "--device", "cpu")
    with Image.open(tmp_path / "steps.webp") as webp:
        assert webp.n_frames == 4


def test_what_cannot_be_drawn_in_steps_is_one_line(model, tmp_path, run_cli):
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("vae")
    config = spec.schema.resolve({"resolution": 32, "channels": 1, "width": 4, "latent_dim": 4})
    save_model(tmp_path / "vae", spec, config, spec.load().build(config).state_dict())
    done = run_cli("draw-steps", str(tmp_path / "vae"), "--out", str(tmp_path / "v.gif"))
    assert done.returncode == 2 and "does not draw in steps" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not .png" in cli("draw-steps", model, "--out", tmp_path / "x.png", code=2)
    assert "--columns" in cli("draw-steps", model, "--count", "2", "--columns", "3", "--out", tmp_path / "x.gif",
                              code=2)
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "v.gif").exists()


def test_eval_reports_the_elbo_and_the_importance_weighted_nll_from_cli_and_job(model, digits, tmp_path):
    from genstudio.jobs.builtin import run_eval

    report = json.loads(cli("eval", model, "--data", digits, "--metrics", "elbo,nll", "--k", "8", "--no-save",
                            "--json", "--device", "cpu"))
    metrics = report["metrics"]
    assert report["backend"] == "draw" and report["real_images"] == 12
    assert 0 < metrics["nll"] < metrics["neg_elbo"] + 1.0  # k = 8 samples: at least about as tight as the bound
    assert metrics["nll_per_dim"] == pytest.approx(metrics["nll"] / 256)
    job = run_eval({"model": str(model), "data": str(digits), "metrics": "elbo,nll", "k": 8, "save": False,
                    "device": "cpu"}, QUIET, NEVER)
    assert job["metrics"]["nll"] == metrics["nll"]  # the same seeded importance samples
    assert job["metrics"]["neg_elbo"] == metrics["neg_elbo"]  # and the same seeded posterior sample


def test_export_checks_parity_and_the_onnx_runtime_draws_the_same(model, tmp_path, single_torch_thread):
    import shutil

    folder = tmp_path / "exported"
    shutil.copytree(model, folder)
    cli("export", folder)
    graphs = json.loads((folder / "model.json").read_text())["extra"]["onnx"]["graphs"]
    assert set(graphs) == {"model", "steps", "encoder"} and graphs["steps"]["inputs"] == ["z"]
    assert all(max(graph["max_abs_error"].values()) <= 1e-3 for graph in graphs.values())
    import onnx

    ops = {node.op_type for node in onnx.load(folder / "model.steps.onnx").graph.node}
    assert not ops & {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial"}
    for runtime in ("torch", "onnx"):
        cli("generate", folder, "--count", "2", "--out", tmp_path / runtime, "--runtime", runtime, "--device", "cpu")
        cli("draw-steps", folder, "--count", "2", "--out", tmp_path / f"{runtime}-steps", "--runtime", runtime,
            "--device", "cpu")
    assert read_provenance(tmp_path / "onnx" / "seed0-00001.png")["runtime"] == "onnx"
    for name in ("seed0-00000.png", "seed0-00001.png"):
        assert np.abs(pixels(tmp_path / "onnx" / name) - pixels(tmp_path / "torch" / name)).max() <= 1
    for frame in range(4):
        name = f"frame-{frame:05d}.png"
        assert np.abs(pixels(tmp_path / "onnx-steps" / name) - pixels(tmp_path / "torch-steps" / name)).max() <= 1
    remade = json.loads(cli("reproduce", tmp_path / "onnx-steps" / "frame-00002.png", "--out",
                            tmp_path / "frame-again.png", "--json"))  # a frame drawn by the steps graph
    assert remade["identical"] is True and remade["runtime"] == "onnx"
    (folder / "model.steps.onnx").write_bytes(b"replaced")
    assert "sha256" in cli("draw-steps", folder, "--out", tmp_path / "y.gif", "--runtime", "onnx", code=2)


def test_a_generated_image_reproduces(model, tmp_path, single_torch_thread):
    cli("generate", model, "--count", "1", "--seed", "9", "--start", "3", "--out", tmp_path / "gen", "--device",
        "cpu")
    output = cli("reproduce", tmp_path / "gen" / "seed9-00003.png", "--out", tmp_path / "again.png", "--json")
    assert json.loads(output)["identical"] is True


def test_a_drawing_step_frame_reproduces_and_a_forged_frame_number_is_one_line(model, tmp_path, single_torch_thread):
    from genstudio.provenance import write_png

    cli("draw-steps", model, "--count", "2", "--seed", "4", "--out", tmp_path / "steps", "--device", "cpu")
    frame = tmp_path / "steps" / "frame-00001.png"
    output = cli("reproduce", frame, "--out", tmp_path / "again.png", "--json")
    assert json.loads(output)["identical"] is True
    record = read_provenance(frame)
    with Image.open(frame) as image:
        write_png(tmp_path / "forged.png", np.asarray(image), {**record, "frame": 99})
    assert "frame 99" in cli("reproduce", tmp_path / "forged.png", "--out", tmp_path / "x.png", code=2)
