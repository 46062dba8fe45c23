"""Benchmark: the `vae` backend against the PyTorch examples' MLP VAE on the shared digits, on the CPU.

    python bench/vae.py [--steps N] [--batch-size B] [--k K] [--threads T]

Both models train for the same steps on the same batches (genstudio's seeded data order over digits/train at
32 x 32 grayscale, intensities in [0, 1]) with Adam at 1e-3 and the Bernoulli likelihood (binary cross entropy on
grey levels, as the PyTorch example does; not a normalised density on [0, 1], so the figures compare the two
models, not other papers). Scored on digits/test: the negative ELBO (one posterior sample per image) and the
negative log-likelihood from k importance samples (Burda et al. 2016), in nats per image and per dimension
(1024 dimensions). Prints one JSON object.

The reference is pytorch/examples vae/main.py's network, 784-400-20, with its input widened to the 32 x 32 =
1024 pixels of these images: 1024-400-20 encoder, 20-400-1024 decoder, ReLU, sigmoid output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch
from genstudio_vae.likelihood import bernoulli_log_likelihood, kl_standard_normal
from genstudio_vae.model import ConvVAE
from torch import nn

from genstudio.data import ImageFolderDataset
from genstudio.plugins import get_registry
from genstudio.training import fit
from genstudio.training.order import DataOrder, gather_batch

DIGITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "digits"
RESOLUTION, CHANNELS = 32, 1
DIMS = CHANNELS * RESOLUTION * RESOLUTION
OURS = {"channels": CHANNELS, "resolution": RESOLUTION, "latent_dim": 32, "width": 32, "likelihood": "bernoulli",
        "beta": 1.0, "kl_warmup_steps": 0, "lr": 1e-3, "validation_fraction": 0.0}


class MLPVAE(nn.Module):
    """pytorch/examples vae/main.py's VAE on 1024 inputs: fc1 1024-400, fc21/fc22 400-20, fc3 20-400, fc4 400-1024.

    It borrows ConvVAE's estimators (`elbo`, `iwae_log_likelihood`), which only call the methods below, so both
    models are scored by the same code."""

    def __init__(self, inputs: int = DIMS, hidden: int = 400, latent_dim: int = 20):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, 0
        self.fc1, self.fc21, self.fc22 = nn.Linear(inputs, hidden), nn.Linear(hidden, latent_dim), nn.Linear(hidden,
                                                                                                             latent_dim)
        self.fc3, self.fc4 = nn.Linear(latent_dim, hidden), nn.Linear(hidden, inputs)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.fc1(x.flatten(1)))  # N x 400
        return self.fc21(h), self.fc22(h)  # N x 20 each

    def decoder_output(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.fc4(torch.relu(self.fc3(z))).view(-1, CHANNELS, RESOLUTION, RESOLUTION)  # logits, 1 x 32 x 32

    def log_likelihood(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_likelihood(output, x)

    sample_posterior = ConvVAE.sample_posterior
    elbo = ConvVAE.elbo
    iwae_log_likelihood = ConvVAE.iwae_log_likelihood


def train_mlp(dataset: ImageFolderDataset, steps: int, batch_size: int, seed: int) -> tuple[MLPVAE, float]:
    """The reference, trained on the batches genstudio's runtime would read; returns (model, seconds)."""
    torch.manual_seed(seed)
    model = MLPVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = DataOrder(len(dataset), batch_size, seed)
    epoch = index = 0
    start = time.perf_counter()
    for _ in range(steps):
        images, _ = gather_batch(dataset, order.batch(epoch, index))
        epoch, index = order.advance(epoch, index)
        mu, logvar = model.encode(images)
        z = model.sample_posterior(mu, logvar)
        loss = (kl_standard_normal(mu, logvar) - model.log_likelihood(images, model.decoder_output(z))).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval(), time.perf_counter() - start


@torch.no_grad()
def score(model: nn.Module, images: torch.Tensor, k: int, seed: int) -> dict[str, float]:
    """Held-out negative ELBO and importance-weighted NLL, in nats per image and per dimension."""
    generator = torch.Generator().manual_seed(seed)
    neg_elbo, nll = [], []
    for start in range(0, len(images), 64):
        x = images[start:start + 64]
        neg_elbo.append(-model.elbo(x, generator=generator))
        nll.append(-model.iwae_log_likelihood(x, k=k, generator=generator))
    elbo_nats, nll_nats = float(torch.cat(neg_elbo).mean()), float(torch.cat(nll).mean())
    return {"neg_elbo_nats": elbo_nats, "neg_elbo_nats_per_dim": elbo_nats / DIMS,
            f"nll_k{k}_nats": nll_nats, f"nll_k{k}_nats_per_dim": nll_nats / DIMS,
            f"nll_k{k}_bits_per_dim": nll_nats / DIMS / math.log(2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps for each model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--k", type=int, default=100, help="importance samples for the NLL")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    train = ImageFolderDataset(DIGITS / "train", RESOLUTION, CHANNELS)
    test = ImageFolderDataset(DIGITS / "test", RESOLUTION, CHANNELS)
    test_images = test.images.float() / 255.0
    spec = get_registry().backend("vae")
    with tempfile.TemporaryDirectory() as folder:
        summary = fit(spec, OURS, train, Path(folder) / "vae", steps=args.steps, batch_size=args.batch_size,
                      seed=args.seed, device="cpu", sample_count=0, checkpoint_every=10**9, log_every=100)
        from genstudio.models import load_model

        ours = load_model(Path(folder) / "vae").module
    reference, reference_seconds = train_mlp(train, args.steps, args.batch_size, args.seed)
    ours_scores = score(ours, test_images, args.k, args.seed)
    reference_scores = score(reference, test_images, args.k, args.seed)
    images = args.steps * args.batch_size
    result = {
        "data": {"train": len(train), "test": len(test), "resolution": RESOLUTION, "channels": CHANNELS},
        "steps": args.steps, "batch_size": args.batch_size, "k": args.k, "threads": args.threads,
        "vae": {"config": OURS, "parameters": sum(p.numel() for p in ours.parameters()), **ours_scores,
                "train_seconds": summary.seconds, "images_per_second": summary.images_per_second},
        "mlp_reference": {"architecture": "1024-400-20 / 20-400-1024 (pytorch/examples vae, input widened)",
                          "parameters": sum(p.numel() for p in reference.parameters()), **reference_scores,
                          "train_seconds": reference_seconds, "images_per_second": images / reference_seconds},
    }
    key = f"nll_k{args.k}_nats"
    result["target_met"] = ours_scores[key] < reference_scores[key]  # ours has the lower held-out NLL
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
