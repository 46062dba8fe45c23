"""A tiny trainable backend for the training-runtime tests (imported by name through a BackendSpec loader).

An encoder E maps an image to a latent and a generator G maps a latent back to the image; E and G have
optimizers of their own, and G's step adds noise from torch's global generator, so an exact resume needs the
RNG state back as well as weights, optimizer moments and the data position.
"""

from __future__ import annotations

import torch
from torch import nn


class ToyGenerator(nn.Module):
    """z (N x latent) -> N x C x R x R images through a 2-layer MLP."""

    def __init__(self, latent_dim: int, hidden: int, channels: int, resolution: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = 0
        self.shape = (channels, resolution, resolution)
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels * resolution**2))

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.net(z)).view(-1, *self.shape)

    forward = generate


class ToyTask:
    """The TrainingTask: E and G, two Adam optimizers, EMA of G."""

    ema_module = "G"

    def __init__(self, config: dict, channels: int, resolution: int, device: torch.device):
        self.latent_dim = config["latent_dim"]
        generator = ToyGenerator(config["latent_dim"], config["hidden"], channels, resolution)
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(channels * resolution**2, config["latent_dim"]))
        self.modules = {"G": generator.to(device), "E": encoder.to(device)}
        self.optimizers = {
            "G": torch.optim.Adam(generator.parameters(), lr=config["lr"], betas=(0.5, 0.99)),
            "E": torch.optim.Adam(encoder.parameters(), lr=config["lr"]),
        }

    def train_step(self, batch, ctx) -> dict[str, float]:
        images, _labels = batch
        G, E = self.modules["G"], self.modules["E"]
        with ctx.autocast():
            loss_e = torch.nn.functional.mse_loss(G(E(images)), images)
        ctx.backward_and_step(loss_e, "E")
        with ctx.autocast():
            z = E(images).detach() + 0.1 * torch.randn(len(images), self.latent_dim, device=images.device)
            loss_g = torch.nn.functional.mse_loss(G(z), images)
        ctx.backward_and_step(loss_g, "G")
        return {"loss_e": loss_e.item(), "loss_g": loss_g.item()}

    def sample(self, module, count: int, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(count, self.latent_dim, generator=generator, device=generator.device)
        return module.generate(z)

    def model_module(self, ema):
        return ema if ema is not None else self.modules["G"]


class ToyTrainer:
    """What the BackendSpec's loader names: build(config) and create_training(config, data, device)."""

    last_task: ToyTask | None = None  # the newest task, so the multi-process test can compare ranks' weights

    @staticmethod
    def build(config: dict) -> ToyGenerator:
        return ToyGenerator(config["latent_dim"], config["hidden"], config["channels"], config["resolution"])

    @staticmethod
    def create_training(config: dict, data, device) -> ToyTask:
        assert (data.channels, data.resolution) == (config["channels"], config["resolution"])
        ToyTrainer.last_task = ToyTask(config, data.channels, data.resolution, device)
        return ToyTrainer.last_task
