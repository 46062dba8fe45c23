"""The restorer's coarse fill (pull-push, Gortler et al. 1996) and its starting point: known pixels unchanged, a flat
picture filled exactly, a smooth one closely, odd sizes; an untrained restorer inpaints with that fill and upscales
as bicubic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.batch.restore import enlarge


@pytest.mark.parametrize("size", [(16, 16), (23, 37)])
def test_pull_push_keeps_the_known_pixels_and_fills_smooth_pictures(size):
    from genstudio_restore.networks import pull_push

    height, width = size
    hole = torch.zeros(1, 1, height, width)
    hole[..., 4:11, 5:13] = 1
    flat = torch.full((1, 3, height, width), 0.3)
    assert torch.allclose(pull_push(flat * (1 - hole), hole), flat, atol=1e-6)
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    ramp = torch.stack([x, y, (x + y) / 2])[None]
    filled = pull_push(ramp * (1 - hole), hole)
    assert torch.equal(filled[..., hole[0, 0] == 0], ramp[..., hole[0, 0] == 0])
    error = (filled - ramp).abs()[..., hole[0, 0] == 1]
    zero_fill = ramp[..., hole[0, 0] == 1]
    assert error.mean() < 0.1 * zero_fill.mean()  # far nearer the picture than a black hole


def test_an_untrained_restorer_starts_from_the_coarse_fill_and_bicubic():
    from genstudio_restore.networks import Restorer, pull_push

    model = Restorer(4, 3, ("inpaint", "upscale")).eval()
    image = torch.rand(1, 3, 20, 24)
    hole = torch.zeros(1, 1, 20, 24)
    hole[..., 5:12, 6:15] = 1
    with torch.no_grad():
        assert torch.allclose(model.restore(image, hole, "inpaint"), pull_push(image * (1 - hole), hole).clamp(0, 1))
        small = image[..., ::2, ::2].numpy()
        enlarged = torch.from_numpy(enlarge(small, 2))
        assert torch.allclose(model.restore(enlarged, None, "upscale"), enlarged.clamp(0, 1))
        assert np.isfinite(model.restore(image, torch.ones_like(hole), "inpaint").numpy()).all()  # all hole: no NaN


def test_the_adversarial_loss_applies_to_the_declared_tasks_only():
    from genstudio_restore.backend import RestoreBackend
    from genstudio_restore.train import RestoreTask

    from genstudio.errors import UserError
    from genstudio.plugins import get_registry

    spec = get_registry().backend("restore")

    def task(**settings):
        config = spec.schema.resolve({"size": "lite", "width": 4, "perceptual": "off", **settings})
        return RestoreTask(RestoreBackend.build(config), config, None)

    assert task().adv_tasks == ("inpaint",) and "D" in task().modules
    assert "D" not in task(adv_tasks="").modules  # no task judged: no discriminator to train
    assert "D" not in task(tasks="upscale").modules  # inpaint is not learnt
    assert task(adv_tasks="upscale,inpaint").adv_tasks == ("inpaint", "upscale")
    with pytest.raises(UserError, match="adv_tasks must be a comma-separated list"):
        task(adv_tasks="sharpen")
