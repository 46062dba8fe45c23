"""The text2image backend on tiny configs: train on a captioned folder, generate by caption through the command
line and the job runner, unknown words, export with ONNX parity, reproduce; its networks' text handling."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.provenance import read_provenance, without_time

TINY = ["ngf=8", "ndf=8", "latent_dim=8", "word_dim=8", "text_width=16", "embed_dim=16", "max_tokens=16"]
CAPTION = "a small red circle on the left"


def settings() -> list[str]:
    return [part for value in TINY for part in ("--set", value)]


@pytest.fixture(scope="module")
def shapes_set(tmp_path_factory):
    from genstudio_shapes.dataset import write_captioned_shapes

    folder = tmp_path_factory.mktemp("shapes") / "set"
    write_captioned_shapes(folder, 24, 16, seed=1)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shapes_set):
    """A text2image model trained for 4 steps through `genstudio train` (a subprocess: the real entry point)."""
    import os
    import subprocess

    home = tmp_path_factory.mktemp("home")
    model = tmp_path_factory.mktemp("model") / "m"
    env = dict(os.environ, GENSTUDIO_HOME=str(home), COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "genstudio", "train", "text2image", "--data", str(shapes_set),
                             "--out", str(model), "--steps", "4", "--batch-size", "8", "-r", "16", "--json",
                             "--checkpoint-every", "2", *settings()], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return model


def cli(*args: str):
    """`genstudio ARGS` in this process (torch is loaded once for the file); errors go through `run_cli`."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    raised = result.exception if not isinstance(result.exception, SystemExit) else None
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout,
                           stderr=result.stderr + (repr(raised) if raised else ""))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(np.int16)


def test_training_keeps_the_captions_vocabulary_and_resumes(trained, shapes_set, run_cli):
    card = json.loads((trained / "model.json").read_text())
    vocabulary = card["config"]["vocabulary"].split()
    assert {"small", "red", "triangle", "left", "middle"} <= set(vocabulary)
    assert card["config"]["channels"] == 3 and card["backend"] == "text2image"
    assert (trained / "samples.png").is_file()
    more = cli("train", "text2image", "--data", str(shapes_set), "--out", str(trained), "--steps", "6",
                   "--batch-size", "8", "-r", "16", "--resume", "--json", *settings())
    assert more.returncode == 0, more.stderr
    summary = json.loads(more.stdout)
    assert summary["resumed_from"] == 4 and summary["steps"] == 6


def test_resume_keeps_the_stored_vocabulary_when_the_captions_change(tmp_path, run_cli):
    """The token ids keep their meaning: --resume trains with the vocabulary in the checkpoint, not the one the
    changed captions would give (a new word is spelt letter by letter)."""
    from genstudio_shapes.dataset import write_captioned_shapes

    data, model = tmp_path / "set", tmp_path / "m"
    write_captioned_shapes(data, 8, 16, seed=3)
    common = ["--data", str(data), "--out", str(model), "--batch-size", "4", "-r", "16", "--json",
              "--checkpoint-every", "1", *settings()]
    first = cli("train", "text2image", "--steps", "1", *common)
    assert first.returncode == 0, first.stderr
    before = json.loads((model / "model.json").read_text())["config"]["vocabulary"]
    for caption in sorted(data.rglob("*.txt"))[:4]:
        caption.write_text("a zorblax quuxish blob\n", encoding="utf-8")
    more = cli("train", "text2image", "--steps", "2", "--resume", *common)
    assert more.returncode == 0, more.stderr
    assert json.loads(more.stdout)["resumed_from"] == 1
    after = json.loads((model / "model.json").read_text())["config"]["vocabulary"]
    assert after == before and "zorblax" not in after.split()
    assert "zorblax" in derive_words(data)  # the changed captions would have given another vocabulary


def derive_words(folder) -> list[str]:
    from genstudio.captions import read_captions
    from genstudio.data import scan_folder

    return read_captions(scan_folder(folder))[1].vocabulary


def test_generate_by_caption_names_files_per_caption_and_records_it(trained, tmp_path, run_cli):
    out = tmp_path / "out"
    result = cli("generate", str(trained), "--caption", CAPTION, "--caption", "a large blue square, top",
                     "--caption", "a large blue square top", "-n", "2", "--out", str(out), "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    files = sorted(summary["files"])
    assert len(files) == 6 == len(set(files)) and summary["written"] == 6  # captions differing by a comma too
    records = {f: read_provenance(f) for f in files}
    assert {r["parameters"]["caption"] for r in records.values()} == {CAPTION, "a large blue square, top",
                                                                      "a large blue square top"}
    by_caption = {}
    for f, record in records.items():
        by_caption.setdefault(record["parameters"]["caption"], {})[record["parameters"]["index"]] = pixels(f)
    assert np.array_equal(by_caption["a large blue square, top"][0], by_caption["a large blue square top"][0])
    again = cli("generate", str(trained), "--caption", CAPTION, "-n", "2", "--out", str(out), "--seed", "3",
                    "--json")
    assert json.loads(again.stdout)["unchanged"] == 2  # up to date: the caption is part of the record
    remade = tmp_path / "again.png"
    first = next(f for f, r in records.items() if r["parameters"]["caption"] == CAPTION)
    reproduced = cli("reproduce", first, "--out", str(remade))
    assert reproduced.returncode == 0 and "identical pixels" in reproduced.stdout, reproduced.stdout
    assert without_time(read_provenance(remade)) == without_time(records[first])


def test_unknown_words_are_spelt_and_said_so_long_and_missing_captions_are_one_line(trained, tmp_path, run_cli):
    spelt = cli("generate", str(trained), "--caption", "a small red circel", "-n", "1", "--out", str(tmp_path))
    assert spelt.returncode == 0, spelt.stderr
    assert "spelt letter by letter (the character fallback): circel" in " ".join(spelt.stderr.split())
    long = run_cli("generate", str(trained), "--caption", "a " + "verylongunknownword " * 2, "-n", "1", "--out",
                   str(tmp_path))
    assert long.returncode == 2 and "the model reads at most 16" in long.stderr
    assert len(long.stderr.strip().splitlines()) <= 2
    missing = cli("generate", str(trained), "-n", "1", "--out", str(tmp_path))
    assert "needs --caption" in missing.stderr and "UserError" in missing.stderr
    other = cli("generate", "shapes", "--caption", "a circle", "-n", "1", "--out", str(tmp_path))
    assert "takes no --caption" in other.stderr and "UserError" in other.stderr


def test_the_job_runner_makes_the_command_lines_pixels_and_records(trained, tmp_path, run_cli):
    from genstudio.jobs.builtin import run_generate

    command = cli("generate", str(trained), "--caption", CAPTION, "-n", "2", "--out", str(tmp_path / "cli"),
                  "--seed", "7", "--json")
    assert command.returncode == 0, command.stderr
    job = run_generate({"model": str(trained), "out": str(tmp_path / "job"), "count": 2, "seed": 7,
                        "caption": CAPTION}, lambda event: None, lambda: False)
    for made, other in zip(sorted(json.loads(command.stdout)["files"]), sorted(job["files"]), strict=True):
        assert np.array_equal(pixels(made), pixels(other))
        assert without_time(read_provenance(made)) == without_time(read_provenance(other))


def test_export_parity_and_generation_on_onnxruntime(trained, tmp_path, run_cli):
    exported = cli("export", str(trained), "--json")
    assert exported.returncode == 0, exported.stderr
    graph = json.loads(exported.stdout)["graphs"]["model"]
    assert graph["inputs"] == ["z", "caption"] and max(graph["max_abs_error"].values()) < 1e-3
    runs = {}
    for runtime in ("torch", "onnx"):
        result = cli("generate", str(trained), "--caption", CAPTION, "--caption", "a large green triangle",
                         "-n", "2", "--out", str(tmp_path / runtime), "--runtime", runtime, "--json")
        assert result.returncode == 0, result.stderr
        runs[runtime] = sorted(json.loads(result.stdout)["files"])
    for a, b in zip(runs["torch"], runs["onnx"], strict=True):
        assert np.abs(pixels(a) - pixels(b)).max() <= 1
    again = cli("reproduce", runs["onnx"][0], "--out", str(tmp_path / "again.png"))
    assert again.returncode == 0 and "identical pixels" in again.stdout and "onnx" in again.stdout


def test_the_text_encoder_ignores_padding_and_the_graph_has_no_random_ops(trained):
    import onnx

    from genstudio.models import load_model

    module = load_model(trained, device="cpu").module.eval()
    tokens = torch.tensor([[40, 41, 42] + [0] * 13])
    with torch.no_grad():
        short = module.text(tokens[:, :3])
        padded = module.text(tokens)
    assert torch.allclose(short, padded, atol=1e-6)
    z = torch.randn(2, module.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the caption changes the image (the untrained one only slightly)
        a = module.generate(z, None, captions=torch.tensor([[40, 41] + [0] * 14] * 2))
        b = module.generate(z, None, captions=torch.tensor([[42, 43, 44] + [0] * 13] * 2))
    assert (a - b).abs().max() > 1e-6
    graph = onnx.load(str(trained / "model.onnx")) if (trained / "model.onnx").exists() else None
    if graph is not None:
        assert not {node.op_type for node in graph.graph.node} & {"RandomNormal", "RandomUniform",
                                                                  "RandomNormalLike", "RandomUniformLike",
                                                                  "Multinomial", "Dropout"}


def test_a_folder_without_any_caption_is_one_line(tmp_path, run_cli):
    for name in ("a", "b"):
        Image.new("RGB", (16, 16), (200, 10, 10)).save(tmp_path / f"{name}.png")
    result = run_cli("train", "text2image", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--steps", "1",
                     "-r", "16", *settings())
    assert result.returncode == 2 and "none of the images" in result.stderr and "has a caption" in result.stderr


def test_choose_captions_draws_only_present_captions():
    from genstudio.captions import choose_captions

    labels = torch.zeros(3, 3, 4, dtype=torch.long)
    labels[0, 0, 0] = 40
    labels[1, 2, :2] = 41
    labels[2, 1, 0], labels[2, 2, 0] = 42, 43
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        picked = choose_captions(labels, generator)
        assert picked[0, 0] == 40 and picked[1, 0] == 41 and picked[2, 0] in (42, 43)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_word_dropout_keeps_order_and_never_empties_a_caption():
    from genstudio_text2image.train import drop_words

    tokens = torch.tensor([[5, 6, 7, 0, 0], [3, 0, 0, 0, 0], [4, 5, 6, 7, 8], [0, 0, 0, 0, 0]])
    assert torch.equal(drop_words(tokens, 0.0), tokens)
    torch.manual_seed(0)
    for _ in range(20):
        dropped = drop_words(tokens, 0.6)
        for row, kept in zip(tokens.tolist(), dropped.tolist(), strict=True):
            words = [t for t in kept if t]
            assert kept == words + [0] * (len(kept) - len(words))  # packed to the left
            assert all(t in row for t in words) and words == [t for t in row if t in words]  # a subsequence
            assert words or not any(row)  # a caption keeps at least one word


def test_the_contrastive_loss_needs_the_projection_discriminator(shapes_set, tmp_path, run_cli):
    result = cli("train", "text2image", "--data", str(shapes_set), "--out", str(tmp_path / "m"), "--steps", "1",
                 "--set", "conditioning=concat")
    assert result.returncode != 0 and "contrastive=0" in result.stderr + result.stdout
