"""`genstudio backends check` on restorers: the restore plugin (each task through the command line, the job runner,
the app's restore_image, the pipeline, reproduce and ONNX), latent-inpaint with a VAE source, and a restorer that
breaks the contract (changes pixels outside the hole) failing in one line."""

from __future__ import annotations

import pytest

from .test_latent_inpaint import vae_folder

TINY = ["size=lite", "width=4", "ndf=4", "d_layers=1", "perceptual=off"]


def outcomes(report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


@pytest.mark.parametrize("tasks", ["inpaint,denoise,upscale", "upscale"])
def test_the_restore_backend_conforms(tasks):
    from genstudio.conformance import check_backend

    report = check_backend("restore", assignments=[*TINY, f"tasks={tasks}"])
    assert report.passed, [(c.name, c.detail) for c in report.failed]
    status = outcomes(report)
    assert {name for name, value in status.items() if value == "pass"} >= \
        {"shapes", "cli", "job", "app", "pipeline", "reproduce", "onnx parity"}
    assert status["hole"] == ("pass" if "inpaint" in tasks else "skip")


def test_latent_inpaint_conforms_and_a_feathered_fill_is_reported(tmp_path):
    from genstudio.conformance import check_backend

    vae_folder(tmp_path / "vae", seed=0)
    sets = [f"source={tmp_path / 'vae'}", "steps=2", "restarts=1"]
    report = check_backend("latent-inpaint", assignments=sets)
    assert report.passed, [(c.name, c.detail) for c in report.failed]
    assert outcomes(report)["hole"] == "pass"
    feathered = check_backend("latent-inpaint", assignments=[*sets, "feather=2"])
    (failed,) = feathered.failed
    assert failed.name == "hole" and "outside the mask" in failed.detail and "\n" not in failed.detail
