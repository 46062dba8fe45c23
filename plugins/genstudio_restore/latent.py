"""latent-inpaint: inpainting with no restoration training, by projecting the visible pixels into a trained
generator or VAE (Bora, Jalal, Price & Dimakis 2017, "Compressed Sensing using Generative Models", eq. 2):

    z* = argmin_z || (1 - m) * (G(z) - x) ||^2 / |1 - m| + prior * ||z||^2 / d

over `restarts` random starts (seeded), `steps` of Adam each; the hole is then filled with G(z*), blended into
the picture over `feather` pixels outside the hole's edge (0 by default: only the hole changes, as the restorer
contract asks). The image and mask are resized to the model's side for the
projection and the fill back to the image's size (the generator makes images of one size), so the fill is as
sharp as the model is large. A conditional model tries its classes across the restarts.

Settings, not a model folder: `--set source=MODEL_FOLDER` names the generator or VAE (a trained model folder).
The source decides the pixels, so its weights' sha256 is recorded with each output (`model_extra`, capability
`records_extra`: provenance's `extra`), and `genstudio reproduce` refuses a source whose weights changed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from genstudio.errors import UserError


def source_card(config: dict[str, Any]) -> Any:
    """The source model folder's card, checked to be a generator's or an autoencoder's (no torch)."""
    from genstudio.backends import BackendKind
    from genstudio.models import read_checked_card

    if not config["source"]:
        raise UserError("latent-inpaint projects into a trained generator or VAE: pass --set source=MODEL_FOLDER")
    card, spec = read_checked_card(config["source"])
    if spec.kind not in (BackendKind.GENERATOR, BackendKind.AUTOENCODER):
        raise UserError(f"latent-inpaint: {config['source']} is a {spec.kind.value}; it needs a generator or an "
                        "autoencoder (VAE)")
    return card


class LatentInpainter(nn.Module):
    def __init__(self, config: dict[str, Any]):
        super().__init__()
        from genstudio.backends import BackendKind
        from genstudio.models import load_model

        card = source_card(config)
        loaded = load_model(config["source"], device="cpu")  # checks the weights against the card's sha256
        if loaded.card.weights_sha256 != card.weights_sha256:
            raise UserError(f"latent-inpaint: {config['source']} changed while it was being opened; try again")
        self.source = loaded.module.eval().requires_grad_(False)
        self.decode = self.source.decode if loaded.spec.kind == BackendKind.AUTOENCODER else self.source.generate
        self.config = dict(config)

    def _fit(self, target: torch.Tensor, keep: torch.Tensor, reporter: Any) -> torch.Tensor:
        """The best of `restarts` projections of `target` (1 x C x R x R) seen through `keep` (1 x 1 x R x R)."""
        config, source = self.config, self.source
        restarts, latent = int(config["restarts"]), int(source.latent_dim)
        generator = torch.Generator().manual_seed(int(config["seed"]))
        z = torch.randn(restarts, latent, generator=generator).to(target.device).requires_grad_(True)
        classes = int(source.num_classes or 0)
        labels = (torch.arange(restarts) % classes).to(target.device) if classes else None
        optimizer = torch.optim.Adam([z], lr=float(config["lr"]))
        visible = keep.sum().clamp_min(1)

        def losses() -> torch.Tensor:
            made = self.decode(z, labels)
            fit = (((made - target) * keep) ** 2).sum(dim=(1, 2, 3)) / (visible * made.shape[1])
            return fit + float(config["prior"]) * (z ** 2).mean(dim=1)

        for _ in range(int(config["steps"])):
            reporter.check_abort()
            optimizer.zero_grad()
            with torch.enable_grad():
                total = losses()
                total.sum().backward()
            optimizer.step()
            reporter.update(advance=1, loss=round(float(total.min()), 5))
        with torch.no_grad():
            best = int(losses().argmin())
            return self.decode(z[best:best + 1], labels[best:best + 1] if labels is not None else None)

    def restore(self, x: torch.Tensor, mask: torch.Tensor | None = None, task: str | None = None,
                progress: Any = None, abort: Any = None) -> torch.Tensor:
        """1 x 3 x H x W in [0, 1] and its mask 1 x 1 x H x W -> the image with the hole filled from the model."""
        from genstudio.events import Progress

        if task not in (None, "inpaint"):
            raise UserError(f"latent-inpaint only inpaints, not --task {task}")
        if mask is None:
            raise UserError("latent-inpaint needs a mask: --mask FILE or --mask-dir DIR")
        with torch.no_grad():
            probe = self.decode(torch.zeros(1, int(self.source.latent_dim), device=x.device),
                                torch.zeros(1, dtype=torch.long, device=x.device) if self.source.num_classes else None)
        channels, side = probe.shape[1], probe.shape[-1]
        small = F.interpolate(x, size=probe.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
        small = small.mean(dim=1, keepdim=True) if channels == 1 else small[:, :channels]
        keep = (F.interpolate(1 - mask, size=probe.shape[-2:], mode="area") > 0.999).float()
        reporter = Progress(progress, f"Projecting into {side} px latent space", total=int(self.config["steps"]),
                            abort=abort)
        fill = self._fit(small, keep, reporter)
        reporter.finish()
        with torch.no_grad():
            fill = F.interpolate(fill, size=x.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1)
            fill = fill.expand(-1, 3, -1, -1) if fill.shape[1] == 1 else fill
            feather = int(self.config["feather"])
            soft = mask
            if feather:
                size = 2 * feather + 1
                soft = F.avg_pool2d(F.max_pool2d(mask, size, 1, feather), size, 1, feather, count_include_pad=False)
            return soft * fill + (1 - soft) * x


class LatentInpaintBackend:
    @staticmethod
    def build(config: dict[str, Any]) -> LatentInpainter:
        return LatentInpainter(config)

    @staticmethod
    def model_extra(config: dict[str, Any]) -> dict[str, Any]:
        """What decides the pixels besides the settings: the source model, by its weights' sha256."""
        card = source_card(config)
        return {"source_backend": card.backend, "source_sha256": card.weights_sha256}
