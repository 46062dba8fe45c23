"""DRAW's networks against the paper's equations (Gregor et al. 2015): the Gaussian filterbanks of read and write
(eqs. 19-29), the recurrences, the ELBO and its importance-weighted tightening, and the declared contracts."""

from __future__ import annotations

import math

import pytest
import torch
from genstudio_draw.attention import AttentiveReader, AttentiveWriter, Filterbank
from genstudio_draw.model import DRAW


def placed(bank: Filterbank, gx: float, gy: float, delta: float, var: float, gamma: float = 1.0) -> torch.Tensor:
    """Set the bank's linear layer so that every h_dec gives grid centre (gx, gy) in pixels (1-based), stride
    delta, variance var and intensity gamma; returns an h_dec to feed it."""
    width, height, n = bank.width, bank.height, bank.n
    with torch.no_grad():
        bank.params.weight.zero_()
        bank.params.bias.copy_(torch.tensor([2 * gx / (width + 1) - 1, 2 * gy / (height + 1) - 1, math.log(var),
                                             math.log(delta * (n - 1) / (max(width, height) - 1)),
                                             math.log(gamma)]))
    return torch.zeros(2, bank.params.in_features)


def test_filterbank_rows_are_normalised_gaussians_at_the_grid_points():
    bank = Filterbank(dec_size=5, n=3, width=12, height=10)
    f_x, f_y, gamma = bank(placed(bank, gx=6.0, gy=4.0, delta=2.0, var=1.5, gamma=0.5))
    assert f_x.shape == (2, 3, 12) and f_y.shape == (2, 3, 10) and gamma.shape == (2, 1, 1, 1)
    torch.testing.assert_close(f_x.sum(-1), torch.ones(2, 3))
    torch.testing.assert_close(gamma.flatten(), torch.full((2,), 0.5))
    # eq. 19: mu_X^i = g_X + (i - N/2 - 0.5) delta -> 4, 6, 8; eq. 25 over columns a = 1 .. A
    for i, mu in enumerate((4.0, 6.0, 8.0)):
        a = torch.arange(1, 13, dtype=torch.float32)
        expected = torch.exp(-(a - mu) ** 2 / (2 * 1.5))
        torch.testing.assert_close(f_x[0, i], expected / expected.sum())
    assert f_y[0].argmax(dim=1).tolist() == [1, 3, 5]  # rows 2, 4, 6 (1-based): g_Y = 4, delta = 2


def test_a_sharp_read_is_the_pixels_under_the_grid_and_a_sharp_write_puts_the_patch_back():
    torch.manual_seed(0)
    reader = AttentiveReader(dec_size=4, n=2, channels=3, resolution=8)
    h = placed(reader.filters, gx=4.5, gy=2.5, delta=1.0, var=1e-3, gamma=2.0)  # pixels 4, 5 x rows 2, 3 (1-based)
    x, x_hat = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    r = reader(x, x_hat, h)  # eq. 27
    assert r.shape == (2, 2 * 3 * 2 * 2)
    glimpse, error = r.view(2, 2, 3, 2, 2).unbind(1)
    torch.testing.assert_close(glimpse, 2.0 * x[:, :, 1:3, 3:5], atol=1e-4, rtol=0)
    torch.testing.assert_close(error, 2.0 * x_hat[:, :, 1:3, 3:5], atol=1e-4, rtol=0)

    writer = AttentiveWriter(dec_size=4, n=2, channels=3, resolution=8)
    h = placed(writer.filters, gx=4.5, gy=2.5, delta=1.0, var=1e-3, gamma=4.0)
    with torch.no_grad():
        writer.patch.weight.zero_()
        writer.patch.bias.copy_(torch.arange(12, dtype=torch.float32))
    canvas = writer(h)  # eq. 29: 1/gamma F_Y^T w F_X
    expected = torch.zeros(2, 3, 8, 8)
    expected[:, :, 1:3, 3:5] = torch.arange(12, dtype=torch.float32).view(3, 2, 2) / 4.0
    torch.testing.assert_close(canvas, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("attention", [True, False])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_the_contracts_hold_and_the_last_step_is_the_generated_image(attention, likelihood):
    torch.manual_seed(0)
    draw = DRAW(channels=3, resolution=8, steps=5, z_size=2, enc_size=8, dec_size=8, attention=attention, read_n=2,
                write_n=3, likelihood=likelihood).eval()
    assert draw.latent_dim == 10 and draw.num_classes == 0 and draw.steps == 5
    z = torch.randn(3, 10)
    steps = draw.drawing_steps(z)
    assert steps.shape == (3, 5, 3, 8, 8) and steps.min() >= 0 and steps.max() <= 1
    torch.testing.assert_close(steps[:, -1], draw.generate(z))
    assert not torch.equal(steps[:, 0], steps[:, -1])  # the canvas changes as it is drawn
    x = torch.rand(3, 3, 8, 8)
    mu, logvar = draw.encode(x)
    assert mu.shape == logvar.shape == (3, 10)
    torch.testing.assert_close(draw.reconstruct(x), draw.decode(mu))
    # one image's result does not depend on its batch
    torch.testing.assert_close(draw.generate(z[1:2]), draw.generate(z)[1:2])


def test_the_elbo_is_the_likelihood_minus_the_summed_kl_and_iwae_tightens_it():
    torch.manual_seed(0)
    draw = DRAW(channels=1, resolution=8, steps=3, z_size=2, enc_size=8, dec_size=8, read_n=2, write_n=2).eval()
    with torch.no_grad():  # narrow posteriors: a loose ELBO that importance sampling tightens visibly
        draw.posterior.bias[2:] = -3.0
    x = (torch.rand(4, 1, 8, 8) > 0.5).float()
    generator = torch.Generator().manual_seed(1)
    noise = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(1))
    canvas, mu, logvar, z = draw.infer(x, noise)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * noise)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(dim=(1, 2))  # eq. 11 summed over the steps
    bce = torch.nn.functional.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(1)
    with torch.no_grad():
        elbo = draw.elbo(x, generator=generator)
    torch.testing.assert_close(elbo, -bce - kl)
    with torch.no_grad():
        many = torch.stack([draw.elbo(x, generator=generator) for _ in range(64)]).mean(0)
        iwae = draw.iwae_log_likelihood(x, k=64, generator=generator)
    assert (iwae > many).all()  # Burda et al. 2016: the k-sample bound is at least the ELBO in expectation
    with torch.no_grad():  # k = 1 is a single-sample ELBO estimate, not a tighter one
        one = torch.stack([draw.iwae_log_likelihood(x, k=1, generator=generator) for _ in range(64)]).mean(0)
    assert (one - many).abs().max() < 0.1 * many.abs().max()


def test_backend_builds_from_its_schema_and_refuses_a_grid_larger_than_the_image():
    from genstudio_draw import DRAW_SCHEMA
    from genstudio_draw.backend import DRAW as backend

    from genstudio.errors import UserError

    config = DRAW_SCHEMA.resolve({"resolution": 8, "read_n": 3, "steps": 2, "enc_size": 8, "dec_size": 8})
    module = backend.build(config)
    assert module.image_shape == (1, 8, 8) and module.latent_dim == 2 * config["z_size"]
    with pytest.raises(UserError, match="read_n=9"):
        backend.build({**config, "read_n": 9})
