"""A tiny stylegan2 run through the command line, as the issue's acceptance asks: train, generate, truncation
(with a cutoff), style mixing, export to ONNX, generate with onnxruntime, reproduce; and the job runner takes the
same options."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.provenance import read_provenance, without_time

TINY = ["--set", "latent_dim=4", "--set", "w_dim=4", "--set", "mapping_layers=2", "--set", "channel_base=64",
        "--set", "channel_max=4"]


def invoke(*args: str) -> str:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: str) -> str:
    """The one-line UserError the command stops with (the console script prints it and exits with 2)."""
    from genstudio.cli import app
    from genstudio.errors import UserError

    result = CliRunner().invoke(app, list(args))
    assert isinstance(result.exception, UserError), result.output
    message = str(result.exception)
    assert message and "\n" not in message
    return message


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image).astype(int)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A 16 px RGB model trained 6 steps from the command line on a folder of 2 classes."""
    import torch

    root = tmp_path_factory.mktemp("sg2")
    rng = np.random.default_rng(0)
    for klass in ("a", "b"):
        (root / "data" / klass).mkdir(parents=True)
        for i in range(8):
            image = np.zeros((16, 16, 3), np.uint8)
            row, col = rng.integers(2, 12, size=2)
            image[row:row + 3, :, 0] = 255 if klass == "a" else 60
            image[:, col:col + 3, 2] = 200
            Image.fromarray(image).save(root / "data" / klass / f"{i}.png")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = invoke("train", "stylegan2", "--data", str(root / "data"), "--out", str(root / "m"), "--resolution",
                     "16", "--steps", "6", "--batch-size", "4", "--device", "cpu", "--json", *TINY)
    finally:
        torch.set_num_threads(threads)
    summary = json.loads(out[out.index("{"):])
    assert summary["steps"] == 6 and summary["final_losses"]["augment_p"] >= 0
    return root / "m"


def test_trained_model_records_its_config(model):
    card = json.loads((model / "model.json").read_text())
    assert card["backend"] == "stylegan2" and card["config"]["channels"] == 3
    assert card["config"]["num_classes"] == 2 and card["config"]["conditional"] is False  # from the data


def test_truncation_cutoff_and_mixing_change_the_images_and_reproduce(model, tmp_path):
    # --batch-size 1, as reproduce draws: a CPU matmul over 2 latents differs from one over 1 in the last float bit
    # (about 4e-7 here), which rounds a pixel of these latents to the other side of a 1/255 step
    out = tmp_path / "g"
    invoke("generate", str(model), "--count", "2", "--seed", "3", "--out", str(out), "--device", "cpu", "-b", "1")
    invoke("generate", str(model), "--count", "2", "--seed", "3", "--out", str(out), "--device", "cpu", "-b", "1",
           "--truncation", "0.5")
    invoke("generate", str(model), "--count", "2", "--seed", "3", "--out", str(out), "--device", "cpu", "-b", "1",
           "--truncation", "0.5", "--truncation-cutoff", "2")
    invoke("generate", str(model), "--count", "2", "--seed", "3", "--out", str(out), "--device", "cpu", "-b", "1",
           "--mix-with", "8", "--mix-from", "3")
    invoke("generate", str(model), "--count", "2", "--seed", "3", "--out", str(out), "--device", "cpu", "-b", "1",
           "--truncation", "0", "--grid")
    names = ["seed3-00001.png", "seed3-00001-psi0.5.png", "seed3-00001-psi0.5-cut2.png",
             "seed3-00001-mix8from3.png"]
    images = [pixels(out / name) for name in names]
    for i in range(len(images)):
        for j in range(i):
            assert not np.array_equal(images[i], images[j]), (names[i], names[j])
    mean_style = [pixels(out / f"seed3-0000{i}-psi0.png") for i in (0, 1)]
    assert np.array_equal(*mean_style)  # psi 0: every latent becomes w_avg
    record = read_provenance(out / "seed3-00001-psi0.5-cut2.png")
    assert record["parameters"]["truncation_cutoff"] == 2 and record["parameters"]["truncation"] == 0.5
    mixed = read_provenance(out / "seed3-00001-mix8from3.png")["parameters"]
    assert (mixed["mix_with"], mixed["mix_from"]) == (8, 3)
    for name in names[1:]:
        again = tmp_path / f"again-{name}"
        invoke("reproduce", str(out / name), "--out", str(again))
        assert np.array_equal(pixels(again), pixels(out / name))
        assert without_time(read_provenance(again)) == without_time(read_provenance(out / name))


def test_mixing_takes_fine_styles_from_the_other_seed(model, tmp_path):
    """From layer 1 on, every style but the coarsest comes from the other seed; mixing with itself changes nothing."""
    out = tmp_path / "g"
    invoke("generate", str(model), "--count", "1", "--seed", "3", "--out", str(out), "--device", "cpu",
           "--mix-with", "3", "--mix-from", "2")
    invoke("generate", str(model), "--count", "1", "--seed", "3", "--out", str(out), "--device", "cpu")
    assert np.array_equal(pixels(out / "seed3-00000-mix3from2.png"), pixels(out / "seed3-00000.png"))


@pytest.mark.parametrize("args, message", [
    (["--mix-with", "2"], "both --mix-with"),
    (["--mix-with", "2", "--mix-from", "6"], "--mix-from must be a style layer from 1 to 5"),
    (["--truncation-cutoff", "7"], "--truncation-cutoff must be a style layer from 0 to 6"),
])
def test_bad_style_options_are_one_line(model, tmp_path, args, message):
    assert message in refused("generate", str(model), "--count", "1", "--out", str(tmp_path / "x"), "--device",
                              "cpu", *args)
    assert not (tmp_path / "x").exists()


def test_other_backends_refuse_style_options(tmp_path, run_cli):
    assert "not style-based" in refused("generate", "shapes", "--count", "1", "--out", str(tmp_path / "x"),
                                        "--truncation-cutoff", "1")
    done = run_cli("generate", "shapes", "--count", "1", "--out", str(tmp_path / "x"), "--mix-with", "1",
                   "--mix-from", "1")
    assert done.returncode == 2 and "not style-based" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_export_and_onnx_generation_match_torch_with_truncation_and_mixing(model, tmp_path):
    invoke("export", str(model))
    card = json.loads((model / "model.json").read_text())
    graphs = card["extra"]["onnx"]["graphs"]
    assert set(graphs) == {"model", "mapping", "synthesis"}
    assert graphs["model"]["inputs"][:5] == ["z", "psi", "truncation_cutoff", "mix_z", "mix_from"]
    assert all(error <= 1e-4 for graph in graphs.values() for error in graph["max_abs_error"].values())
    options = [["--truncation", "0.6", "--truncation-cutoff", "3"], ["--mix-with", "5", "--mix-from", "2"], []]
    for extra in options:
        for runtime in ("torch", "onnx"):
            invoke("generate", str(model), "--count", "3", "--seed", "2", "--out", str(tmp_path / runtime),
                   "--runtime", runtime, *extra)
    made = sorted((tmp_path / "torch").glob("*.png"))
    assert len(made) == 9
    for torch_file in made:
        onnx_file = tmp_path / "onnx" / torch_file.name
        assert np.abs(pixels(torch_file) - pixels(onnx_file)).max() <= 1
        assert read_provenance(onnx_file)["runtime"] == "onnx"
    again = tmp_path / "again.png"  # an ONNX image reproduces on onnxruntime
    invoke("reproduce", str(tmp_path / "onnx" / "seed2-00001-mix5from2.png"), "--out", str(again))
    assert np.array_equal(pixels(again), pixels(tmp_path / "onnx" / "seed2-00001-mix5from2.png"))


def test_the_job_runner_takes_the_style_options(model, tmp_path):
    from genstudio.jobs.builtin import run_generate

    invoke("generate", str(model), "--count", "2", "--seed", "1", "--out", str(tmp_path / "cli"), "--device", "cpu",
           "--runtime", "torch", "--truncation", "0.7", "--truncation-cutoff", "4", "--mix-with", "2", "--mix-from",
           "1")
    job = run_generate({"model": str(model), "out": str(tmp_path / "job"), "count": 2, "seed": 1, "device": "cpu",
                        "runtime": "torch", "truncation": 0.7, "truncation_cutoff": 4, "mix_with": 2, "mix_from": 1},
                       lambda event: None, lambda: False)
    for queued in job["files"]:
        cli = tmp_path / "cli" / queued.rsplit("/", 1)[-1]
        assert cli.name.endswith("-psi0.7-cut4-mix2from1.png")
        assert np.array_equal(pixels(cli), pixels(queued))
        assert without_time(read_provenance(cli)) == without_time(read_provenance(queued))


def test_latent_walk_truncates_in_w_and_reproduces(model, tmp_path):
    """The app's latent strip (slerp in Z, truncation in W) for a style-based model; each frame reproduces."""
    from genstudio.generate_folder import open_sampler
    from genstudio.provenance import write_png

    frames = list(open_sampler(model, device="cpu", runtime="torch").interpolation(4, 9, 3, truncation=0.5))
    assert [step for step, _, _ in frames] == [0, 1, 2]
    first = frames[0][1]
    invoke("generate", str(model), "--count", "1", "--seed", "4", "--truncation", "0.5", "--out", str(tmp_path / "g"),
           "--runtime", "torch")
    assert np.array_equal((first.permute(1, 2, 0).numpy() * 255).round().astype(int), pixels(
        tmp_path / "g" / "seed4-00000-psi0.5.png"))
    write_png(tmp_path / "walk.png", frames[1][1], frames[1][2])
    invoke("reproduce", str(tmp_path / "walk.png"), "--out", str(tmp_path / "again.png"))
    assert np.array_equal(pixels(tmp_path / "again.png"), pixels(tmp_path / "walk.png"))
