"""Options are honoured or refused, never silently ignored: `--set` on a backend id, `--runtime`, `--provider`,
`--tile`. Each test is a bug that once shipped:
  * gatys ignored `--set strength=0` (only --strength reached the module) and provenance recorded strength 1;
  * the CLI and the direct call disagreed on the settings of a backend id;
  * `--runtime onnx` / `--provider cpu` on a torch run were dropped without a word (stylize and generate);
  * `--tile` on gatys styled each tile on its own;
  * generate with a backend id ignored `--set`, or did not record the settings, so reproduce drew other pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genstudio.batch.stylize import stylize_folder
from genstudio.errors import UserError
from genstudio.generate_folder import generate_to_folder
from genstudio.provenance import read_provenance
from genstudio.reproduce import reproduce

GATYS = ["features=random", "steps=2", "max_size=32"]  # a random VGG19, two steps: a fraction of a second
SHAPES = ["resolution=16"]


@pytest.fixture(autouse=True)
def one_thread(single_torch_thread):
    """Tiny networks: one torch thread each."""


@pytest.fixture
def images(tmp_path) -> tuple[Path, Path]:
    """A folder with one 24 x 24 noise content image, and a 24 x 24 style image."""
    rng = np.random.default_rng(0)
    content = tmp_path / "in"
    content.mkdir()
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(content / "photo.png")
    style = tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(style)
    return content, style


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def gatys(images, out: Path, *extra: str, **options):
    content, style = images
    summary = stylize_folder("gatys", [content], out, style=style, assignments=[*GATYS, *extra], device="cpu",
                             **options)
    assert summary.written == 1 and not summary.failed, summary.failed
    return out / "photo.png"


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, message
    return message


def test_set_strength_reaches_gatys_and_its_provenance(images, tmp_path):
    default = gatys(images, tmp_path / "default")
    zero = gatys(images, tmp_path / "zero", "strength=0")
    assert np.abs(pixels(default) - pixels(zero)).max() > 0  # --set strength=0 changed the image
    record = read_provenance(zero)
    assert record["parameters"]["strength"] == 0.0 and record["parameters"]["config"]["strength"] == 0.0
    assert read_provenance(default)["parameters"]["strength"] == 1.0

    explicit = gatys(images, tmp_path / "explicit", "strength=0", strength=1.0)  # --strength wins over --set
    assert read_provenance(explicit)["parameters"]["strength"] == 1.0
    assert np.array_equal(pixels(explicit), pixels(default))


def test_cli_set_gives_the_direct_call_s_pixels(images, tmp_path):
    from genstudio.cli import app

    content, style = images
    direct = gatys(images, tmp_path / "direct", "strength=0")
    args = ["stylize", "gatys", str(content), "--out", str(tmp_path / "cli"), "--style", str(style), "--device",
            "cpu", "--workers", "1"]
    for assignment in [*GATYS, "strength=0"]:
        args += ["--set", assignment]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, (done.output, done.exception)
    made = tmp_path / "cli" / "photo.png"
    assert np.array_equal(pixels(made), pixels(direct))
    assert read_provenance(made)["parameters"] == read_provenance(direct)["parameters"]


@pytest.mark.parametrize("option, value, named", [("runtime", "onnx", "--runtime onnx"),
                                                   ("provider", "cpu", "--provider cpu")])
def test_stylize_refuses_a_runtime_or_provider_it_cannot_honour(images, tmp_path, option, value, named):
    content, style = images
    out = tmp_path / "out"
    with pytest.raises(UserError) as caught:
        stylize_folder("gatys", [content], out, style=style, assignments=GATYS, device="cpu", **{option: value})
    assert named in one_line(caught.value) and "gatys" in str(caught.value)
    assert not out.exists() or not list(out.rglob("*.png"))  # refused before any work


@pytest.mark.parametrize("option, value, named", [("runtime", "onnx", "--runtime onnx"),
                                                   ("provider", "cpu", "--provider cpu")])
def test_generate_refuses_a_runtime_or_provider_it_cannot_honour(tmp_path, option, value, named):
    out = tmp_path / "out"
    with pytest.raises(UserError) as caught:
        generate_to_folder("shapes", out, count=2, assignments=SHAPES, **{option: value})
    assert named in one_line(caught.value) and "shapes" in str(caught.value)
    assert not out.exists()
    generate_to_folder("shapes", out, count=2, assignments=SHAPES, device="cpu", **{option: "auto"})  # auto runs


def test_tiles_are_refused_for_a_backend_that_is_not_tile_safe(images, tmp_path):
    content, style = images
    with pytest.raises(UserError) as caught:
        stylize_folder("gatys", [content], tmp_path / "out", style=style, assignments=GATYS, device="cpu", tile=64)
    message = one_line(caught.value)
    assert "gatys" in message and "tile" in message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.png"))


def test_generate_with_a_backend_id_honours_set_records_it_and_reproduces(tmp_path):
    plain = generate_to_folder("shapes", tmp_path / "plain", count=2, assignments=SHAPES, device="cpu")
    mono = generate_to_folder("shapes", tmp_path / "mono", count=2, assignments=[*SHAPES, "palette=mono",
                                                                                  "background=black"], device="cpu")
    assert plain.written == 2 and mono.written == 2
    for first, second in zip(plain.files, mono.files, strict=True):
        assert Path(first).name == Path(second).name
        assert pixels(Path(first)).shape == (16, 16, 3)
        assert not np.array_equal(pixels(Path(first)), pixels(Path(second)))  # the setting changed the images
    record = read_provenance(mono.files[1])
    assert record["backend"] == "shapes" and record["model"] == "shapes"
    assert record["config"]["palette"] == "mono" and record["config"]["background"] == "black"
    assert record["config"]["resolution"] == 16

    again = reproduce(mono.files[1], tmp_path / "again.png")
    assert again.identical and again.max_difference == 0
    assert np.array_equal(pixels(tmp_path / "again.png"), pixels(Path(mono.files[1])))

    # the settings are part of the up-to-date key: other settings into the same folder redraw every file
    redone = generate_to_folder("shapes", tmp_path / "mono", count=2, assignments=SHAPES, device="cpu")
    assert redone.written == 2 and redone.unchanged == 0
    assert np.array_equal(pixels(Path(redone.files[0])), pixels(Path(plain.files[0])))
    unchanged = generate_to_folder("shapes", tmp_path / "mono", count=2, assignments=SHAPES, device="cpu")
    assert unchanged.written == 0 and unchanged.unchanged == 2
