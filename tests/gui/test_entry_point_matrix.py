"""The same action gives the same result from every entry point: for each built-in backend that generates or
stylizes, the command line (`genstudio generate` / `genstudio stylize`), the job runner and the app's code path
(genstudio.gui.sampling, what its Generate and Stylize actions run) make identical pixels and identical provenance
(time aside) from the same request, on tiny untrained models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from genstudio.provenance import read_provenance, without_time

SEED, COUNT = 5, 3
GENERATORS = {  # backend -> tiny settings (None: a backend that needs no training, run from its id)
    "gan": {"resolution": 8, "channels": 1, "ngf": 8, "ndf": 8, "latent_dim": 4, "hidden_layers": 1},
    "dcgan": {"resolution": 32, "channels": 1, "ngf": 4, "ndf": 4, "latent_dim": 4},
    "cgan": {"resolution": 32, "channels": 3, "ngf": 4, "ndf": 4, "latent_dim": 4, "num_classes": 3},
    "progan": {"resolution": 16, "channels": 3, "ngf": 8, "ndf": 8, "latent_dim": 4},
    "stylegan2": {"resolution": 8, "channels": 3, "latent_dim": 4, "w_dim": 4, "channel_base": 32, "channel_max": 4,
                  "mapping_layers": 2},
    "draw": {"resolution": 16, "channels": 1, "steps": 3, "z_size": 2, "enc_size": 8, "dec_size": 8, "read_n": 2,
             "write_n": 3},
    "vae": {"resolution": 32, "channels": 1, "width": 4, "latent_dim": 4},
    "cvae": {"resolution": 32, "channels": 3, "width": 4, "latent_dim": 4, "num_classes": 3},
    "shapes": None,
}
STYLIZERS = {  # backend -> (settings, whether it takes a style image, whether it needs a model folder)
    "fast-style": ({"size": "lite", "features": "random"}, False, True),
    "adain": ({"decoder": "lite", "features": "random"}, True, True),
    "gatys": ({"features": "random", "steps": 2, "max_size": 32}, True, False),
}
QUIET, NEVER = (lambda event: None), (lambda: False)


def model_folder(registry, backend: str, settings: dict, folder):
    from genstudio.models import save_model

    spec = registry.backend(backend)
    config = spec.schema.resolve(settings)
    torch.manual_seed(0)
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    return folder


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        array = np.asarray(image)
    return array if array.ndim == 3 else array[:, :, None]


def invoke(*args: str) -> None:
    from genstudio.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(autouse=True)
def fresh_sampler_cache():
    from genstudio.gui import sampling

    yield
    sampling._cache.clear()


@pytest.mark.parametrize("backend", sorted(GENERATORS))
def test_generate_is_the_same_from_cli_job_and_app(backend, registry, tmp_path, single_torch_thread):
    from genstudio.gui.sampling import Source, generate
    from genstudio.jobs.builtin import run_generate

    settings = GENERATORS[backend]
    target = backend if settings is None else str(model_folder(registry, backend, settings, tmp_path / "model"))
    invoke("generate", target, "--count", str(COUNT), "--seed", str(SEED), "--out", str(tmp_path / "cli"),
           "--device", "cpu")
    job = run_generate({"model": target, "out": str(tmp_path / "job"), "count": COUNT, "seed": SEED,
                        "device": "cpu"}, QUIET, NEVER)
    source = Source(backend) if settings is None else Source(backend, tmp_path / "model")
    app = list(generate(source, seed=SEED, count=COUNT))
    assert len(job["files"]) == len(app) == COUNT
    for made, queued in zip(app, job["files"], strict=True):
        cli = tmp_path / "cli" / queued.rsplit("/", 1)[-1]
        assert np.array_equal(pixels(cli), pixels(queued)) and np.array_equal(pixels(cli), made.pixels)
        assert without_time(read_provenance(cli)) == without_time(read_provenance(queued)) == without_time(
            made.record)
        assert made.record["operation"] == "generate" and made.record["model"] == (
            target if settings is None else str((tmp_path / "model").resolve()))


@pytest.mark.parametrize("backend", sorted(STYLIZERS))
def test_stylize_is_the_same_from_cli_job_and_app(backend, registry, tmp_path, single_torch_thread):
    from genstudio.gui.sampling import Source, stylize
    from genstudio.jobs.builtin import run_stylize_folder

    settings, takes_style, needs_model = STYLIZERS[backend]
    photos = tmp_path / "photos"
    photos.mkdir()
    gradient = np.linspace(0, 255, 28 * 36 * 3).reshape(28, 36, 3).astype(np.uint8)
    Image.fromarray(gradient).save(photos / "photo.png")
    style = tmp_path / "style.png"
    Image.fromarray(gradient[::-1, ::-1].copy()).save(style)
    if needs_model:
        target = str(model_folder(registry, backend, settings, tmp_path / "model"))
        source, options, params = Source(backend, tmp_path / "model"), [], {}
    else:
        target, source = backend, Source(backend, None, dict(settings))
        options = [part for key, value in settings.items() for part in ("--set", f"{key}={value}")]
        params = {"set": [f"{key}={value}" for key, value in settings.items()]}
    style_options = ["--style", str(style)] if takes_style else []
    invoke("stylize", target, str(photos / "photo.png"), "--out", str(tmp_path / "cli"), "--device", "cpu",
           *style_options, *options)
    run_stylize_folder({"model": target, "inputs": [str(photos / "photo.png")], "out": str(tmp_path / "job"),
                        "device": "cpu", **({"style": str(style)} if takes_style else {}), **params}, QUIET, NEVER)
    made = stylize(source, photos / "photo.png", style if takes_style else None)
    cli, queued = tmp_path / "cli" / "photo.png", tmp_path / "job" / "photo.png"
    assert np.array_equal(pixels(cli), pixels(queued)) and np.array_equal(pixels(cli), made.pixels)
    records = [without_time(read_provenance(cli)), without_time(read_provenance(queued)), without_time(made.record)]
    assert records[0] == records[1] == records[2]
    assert records[0]["operation"] == "stylize" and records[0]["input_sha256"]
    assert (records[0].get("style_sha256") is not None) == takes_style
