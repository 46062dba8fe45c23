"""Every built-in backend passes `genstudio backends check` with small settings. Two (a procedural generator and
an exportable translator, which go through every check but the pipeline's and the batch's) run by default; the whole
table, about three minutes on two cores, with GENSTUDIO_CHECK_ALL_BUILTINS=1."""

from __future__ import annotations

import json
import os

import pytest

SMALL = {  # settings that make each backend's check quick; the same command line a plugin author runs
    "shapes": [],
    "cyclegan": ["ngf=4", "ndf=4", "blocks=1", "resolution=32"],
    "gan": ["ngf=16", "ndf=16", "resolution=8"],
    "dcgan": ["resolution=32", "ngf=8", "ndf=8"],
    "cgan": ["ngf=8", "ndf=8", "resolution=32", "num_classes=2"],
    "vae": ["width=8"],
    "cvae": ["width=8", "num_classes=2"],
    "progan": ["ngf=8", "ndf=8", "resolution=8"],
    "text2image": ["resolution=16", "ngf=8", "ndf=8", "latent_dim=8", "word_dim=8", "text_width=16", "embed_dim=16"],
    "draw": ["steps=3", "z_size=2", "enc_size=8", "dec_size=8", "resolution=16", "read_n=2", "write_n=3",
             "channels=1"],
    "stylegan2": ["resolution=8", "channel_base=64", "channel_max=16", "latent_dim=16", "w_dim=16",
                  "mapping_layers=1"],
    "gatys": ["features=random", "steps=2", "max_size=32"],
    "fast-style": ["features=random", "size=lite"],
    "adain": ["features=random", "resolution=16", "style_size=16"],
    "restore": ["size=lite", "width=4", "ndf=4", "d_layers=1", "perceptual=off"],
    "latent-inpaint": None,  # needs a trained source model folder: tests/restore/test_conformance.py checks it
}
DEFAULT = ("shapes", "cyclegan")
ALL = os.environ.get("GENSTUDIO_CHECK_ALL_BUILTINS", "").strip() not in ("", "0")


def test_the_table_covers_every_builtin_backend():
    from genstudio.plugins import discover

    builtin = {spec.id for spec in discover(disabled=set()).backends.values()}
    assert builtin == set(SMALL), builtin ^ set(SMALL)


@pytest.mark.parametrize("backend", [name for name in SMALL if (ALL or name in DEFAULT) and SMALL[name] is not None])
def test_a_builtin_backend_conforms(run_cli, backend):
    args = [part for value in SMALL[backend] for part in ("--set", value)]
    result = run_cli("backends", "check", backend, *args, "--json", timeout=600)
    report = json.loads(result.stdout)
    failed = {check["name"]: check["detail"] for check in report["checks"] if check["status"] == "fail"}
    assert result.returncode == 0 and report["passed"] and not failed, failed


def test_a_grey_generator_passes_the_app_check(run_cli):
    """The app hands H x W x 1 pixels for a grey generator; the check compared them with files read as RGB and
    failed every grey model (draw's row above once had to say channels=3)."""
    result = run_cli("backends", "check", "dcgan", "--set", "channels=1", *[part for value in SMALL["dcgan"]
                                                                            for part in ("--set", value)],
                     "--json", timeout=600)
    report = json.loads(result.stdout)
    checks = {check["name"]: check["status"] for check in report["checks"]}
    assert checks["app"] == "pass" and checks["job"] == "pass", report
