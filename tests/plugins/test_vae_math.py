"""The VAE's objective: the density terms against hand-computed values and torch.distributions, the ELBO against
its definition, and the importance-weighted estimate (Burda et al. 2016) against the ELBO."""

from __future__ import annotations

import math

import pytest
import torch
from genstudio_vae.likelihood import bernoulli_log_likelihood, gaussian_log_likelihood, kl_standard_normal, log_normal
from genstudio_vae.model import ConvVAE
from torch.distributions import Bernoulli, Normal, kl_divergence


def tiny(**settings) -> ConvVAE:
    torch.manual_seed(0)
    return ConvVAE(**{"latent_dim": 3, "channels": 1, "resolution": 32, "width": 2, **settings}).eval()


# -- the terms, by hand ------------------------------------------------------------------------------------------


def test_bernoulli_by_hand():
    x = torch.tensor([[[[1.0, 0.0], [0.5, 1.0]]]])  # 1 image, 4 pixels
    logits = torch.tensor([[[[0.0, 0.0], [0.0, math.log(3.0)]]]])  # p = 0.5, 0.5, 0.5, 0.75
    # log 0.5 + log 0.5 + (0.5 log 0.5 + 0.5 log 0.5) + log 0.75
    expected = 3 * math.log(0.5) + math.log(0.75)
    assert bernoulli_log_likelihood(logits, x).item() == pytest.approx(expected, rel=1e-6)


def test_gaussian_by_hand():
    x = torch.tensor([[[[0.3, 0.9]]]])
    mean = torch.tensor([[[[0.3, 0.5]]]])
    # sigma = 0.5: each pixel -log(2 pi)/2 - log 0.5, the second one - 0.4^2 / (2 * 0.25) more
    expected = 2 * (-0.5 * math.log(2 * math.pi) - math.log(0.5)) - 0.16 / 0.5
    assert gaussian_log_likelihood(mean, torch.tensor(math.log(0.5)), x).item() == pytest.approx(expected, rel=1e-6)


def test_kl_and_log_normal_by_hand():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    # KL per dimension: (mu^2 + var - 1 - log var) / 2 = 0.5 and (4 - 1 - log 4) / 2
    assert kl_standard_normal(mu, logvar).item() == pytest.approx(0.5 + (3 - math.log(4)) / 2, rel=1e-6)
    z = torch.tensor([[1.0, 2.0]])
    assert log_normal(z).item() == pytest.approx(-math.log(2 * math.pi) - 2.5, rel=1e-6)
    # N(2; 0, 4) in the second dimension: -log(2 pi)/2 - log 2 - 4/8
    assert log_normal(z, mu, logvar).item() == pytest.approx(-math.log(2 * math.pi) - math.log(2) - 0.5, rel=1e-6)


def test_terms_match_torch_distributions():
    generator = torch.Generator().manual_seed(3)
    x, logits = torch.rand(4, 1, 5, 5, generator=generator), torch.randn(4, 1, 5, 5, generator=generator)
    mu, logvar = torch.randn(4, 7, generator=generator), torch.randn(4, 7, generator=generator)
    bern = Bernoulli(logits=logits, validate_args=False).log_prob(x).flatten(1).sum(1)  # BCE on grey levels
    assert torch.allclose(bernoulli_log_likelihood(logits, x), bern, atol=1e-4)
    gauss = Normal(torch.sigmoid(logits), 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_log_likelihood(torch.sigmoid(logits), torch.tensor(math.log(0.3)), x), gauss,
                          atol=1e-4)
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    assert torch.allclose(kl_standard_normal(mu, logvar), kl_divergence(posterior, Normal(0.0, 1.0)).sum(1), atol=1e-4)
    z = torch.randn(4, 7, generator=generator)
    assert torch.allclose(log_normal(z, mu, logvar), posterior.log_prob(z).sum(1), atol=1e-4)


# -- the model's ELBO and IWAE -----------------------------------------------------------------------------------


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_is_its_definition(likelihood):
    """ELBO = log p(x|z) at z = mu + sigma * eps, minus the closed-form KL, with the same eps."""
    model = tiny(likelihood=likelihood, gaussian_std=0.25)
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        elbo = model.elbo(x, generator=torch.Generator().manual_seed(9))
        mu, logvar = model.encode(x)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(9))
        mean = model.decode(mu + torch.exp(0.5 * logvar) * eps)
        if likelihood == "bernoulli":
            log_px_z = Bernoulli(probs=mean.clamp(1e-6, 1 - 1e-6), validate_args=False).log_prob(x).flatten(1).sum(1)
        else:
            log_px_z = Normal(mean, 0.25).log_prob(x).flatten(1).sum(1)
        kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(elbo, log_px_z - kl, rtol=1e-4)


def sharp() -> ConvVAE:
    """A tiny model whose decoder depends strongly on z, so posterior samples disagree and importance weights
    vary (a freshly initialised decoder barely looks at z)."""
    model = tiny()
    with torch.no_grad():
        model.decoder.project[0].weight.mul_(30)
    return model


def test_iwae_k1_equals_the_elbo_in_expectation_and_larger_k_is_tighter():
    model = sharp()
    x = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=generator) for _ in range(300)])  # 300 x 4
        iwae1 = torch.stack([model.iwae_log_likelihood(x, k=1, generator=generator) for _ in range(300)])
        iwae50 = torch.stack([model.iwae_log_likelihood(x, k=50, generator=generator) for _ in range(20)])
    stderr = torch.sqrt(elbo.var(0) / 300 + iwae1.var(0) / 300)
    assert ((elbo.mean(0) - iwae1.mean(0)).abs() < 4 * stderr).all()  # the same expectation
    gap = iwae50.mean(0) - elbo.mean(0)
    assert (gap > 4 * stderr).all()  # the bound tightens with k (Burda et al. 2016, theorem 1)
    assert (iwae50.std(0) < iwae1.std(0)).all()


def test_iwae_by_hand_and_in_chunks(monkeypatch):
    """log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) from the same noise, whatever the chunk size."""
    import genstudio_vae.model as model_module

    model, k = sharp(), 7
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(4))
    noise = torch.randn(k, 2, 3, generator=torch.Generator().manual_seed(0))  # k x N x D
    with torch.no_grad():
        mu, logvar = model.encode(x)
        log_w = []
        for eps in noise:
            z = mu + torch.exp(0.5 * logvar) * eps
            log_px_z = Bernoulli(probs=model.decode(z).clamp(1e-6, 1 - 1e-6), validate_args=False).log_prob(x)
            posterior = Normal(mu, torch.exp(0.5 * logvar))
            log_pz, log_qz = Normal(0.0, 1.0).log_prob(z).sum(1), posterior.log_prob(z).sum(1)
            log_w.append(log_px_z.flatten(1).sum(1) + log_pz - log_qz)
        expected = torch.logsumexp(torch.stack(log_w), 0) - math.log(k)

        for max_decoded in (1000, 6, 1):  # one chunk; chunks of 3, 3, 1 samples; one sample at a time
            served = iter(noise.split(max(1, max_decoded // 2)))
            monkeypatch.setattr(model_module, "normal_noise", lambda *args, served=served: next(served))
            assert torch.allclose(model.iwae_log_likelihood(x, k=k, max_decoded=max_decoded), expected, rtol=1e-5)
