"""The training step of GAN-INT-CLS (Reed et al. 2016, algorithm 1 and section 4.3) on genstudio's runtime.

A batch is (images, labels) with labels N x K x L: each image's captions as token ids (genstudio.captions.
CaptionedDataset). Each step draws one of an image's captions (the right text t) and another image's caption (the
wrong text t^), then

    D: s_r = D(x, t), s_w = D(x, t^), s_f = D(G(z, t), t);  L_D = l_real(s_r) + (l_fake(s_w) + l_fake(s_f)) / 2
    G: L_G = l_real(D(G(z, t), t)) + lambda_int * l_real(D(G(z', t_int), t_int)),  t_int = (t + t'') / 2

(the matching-aware discriminator, GAN-CLS: a real image with the wrong caption is a negative; and GAN-INT:
interpolated caption embeddings, beta = 0.5, fill the space between the training captions). With `contrastive` > 0
(and the projection discriminator) both also get a contrastive matching loss over the batch, as XMC-GAN's
image-sentence term (Zhang et al. 2021, eq. 3): each image's projection score against every caption of the batch,
its own caption the target of a cross-entropy (D on real images, G on its fakes); every other caption of the batch
is a negative, not one, and G is told directly which caption its image must match. l_real / l_fake are
genstudio_gan's losses (non-saturating as in the paper, or hinge). DiffAugment (Zhao et al. 2020) transforms every
image D sees, real and fake alike. G and D each own a text encoder trained by their own loss.
"""

from __future__ import annotations

from typing import Any

import torch
from genstudio_gan.diffaugment import diff_augment, parse_policy
from genstudio_gan.losses import discriminator_loss, generator_loss

from genstudio.captions import PAD, choose_captions
from genstudio_text2image.networks import Discriminator, TextToImage

SAMPLE_CAPTIONS = 64  # captions kept from the first batch for the sample grids


def drop_words(tokens: torch.Tensor, rate: float) -> torch.Tensor:
    """Each token of N x L `tokens` replaced by padding with probability `rate` and the rest moved left (a caption
    that would lose every token is kept whole): the caption embedding learns to rest on each word, not on one
    phrasing (word dropout, Iyyer et al. 2015)."""
    keep = (tokens != PAD) & (torch.rand(tokens.shape, device=tokens.device) >= rate)
    keep[~keep.any(dim=1)] = (tokens != PAD)[~keep.any(dim=1)]
    order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices  # kept tokens first, in order
    return torch.where(keep, tokens, torch.zeros_like(tokens)).gather(1, order)


class TextToImageTask:
    """G (with its text encoder) and D (with its own) and their Adam optimizers; the runtime keeps G's EMA."""

    ema_module = "G"

    def __init__(self, generator: TextToImage, discriminator: Discriminator, config: dict[str, Any]):
        betas = (config["beta1"], 0.999)
        self.modules: dict[str, torch.nn.Module] = {"G": generator, "D": discriminator}
        self.optimizers = {"G": torch.optim.Adam(generator.parameters(), lr=config["lr_g"], betas=betas),
                           "D": torch.optim.Adam(discriminator.parameters(), lr=config["lr_d"], betas=betas)}
        self.loss = config["loss"]
        self.interpolation = float(config["interpolation"])
        self.contrastive = float(config["contrastive"])
        self.word_dropout = float(config["word_dropout"])
        self.augment = parse_policy(config["diffaugment"])
        self.latent_dim = generator.latent_dim
        self.sample_captions: torch.Tensor | None = None

    @property
    def G(self) -> torch.nn.Module:
        return self.modules["G"]

    @property
    def D(self) -> torch.nn.Module:
        return self.modules["D"]

    def _judge(self, images: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.D(diff_augment(images, self.augment), embedding).float()

    def _judge_all(self, images: torch.Tensor, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits of each image with its own caption (N) and the contrastive matching loss over the batch:
        each image's projection scores against every caption of the batch, its own the target (a cross-entropy
        as XMC-GAN's image-sentence loss, Zhang et al. 2021, eq. 3, with the projection term as the score)."""
        psi, phi = self.D.parts(diff_augment(images, self.augment))
        scores = self.D.match(phi, embedding).float()  # N x N
        logits = psi.float() + scores.diagonal()
        target = torch.arange(len(scores), device=scores.device)
        return logits, torch.nn.functional.cross_entropy(scores, target)

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx) -> dict[str, float]:
        images, labels = batch
        real = images * 2 - 1  # [0, 1] -> [-1, 1]
        right = choose_captions(labels.long())  # N x L
        longest = int((right != 0).sum(1).max().clamp(min=1))
        right = right[:, :longest]  # padding past the longest caption changes nothing (a causal GRU, masked mean)
        if self.word_dropout > 0:
            right = drop_words(right, self.word_dropout)
        if self.sample_captions is None:
            self.sample_captions = labels[:SAMPLE_CAPTIONS, 0].detach().cpu()  # each image's first caption
        count = real.shape[0]
        shift = int(torch.randint(1, max(2, count), ()).item()) if count > 1 else 0
        wrong = right.roll(shift, 0)  # another image's caption (GAN-CLS's mismatched text)
        self.G.train()
        self.D.train()
        with ctx.autocast():
            z = torch.randn(count, self.latent_dim, device=real.device)
            g_text = self.G.text(right)
            fake = self.G.synthesize(z, g_text)
            d_right, d_wrong = self.D.embed(right), self.D.embed(wrong)
            if self.contrastive > 0:
                s_real, match_real = self._judge_all(real, d_right)
            else:
                s_real = self._judge(real, d_right)
            s_wrong = self._judge(real, d_wrong)
            s_fake = self._judge(fake.detach(), d_right)
            loss_d = 0.5 * (discriminator_loss(self.loss, s_real, s_wrong)
                            + discriminator_loss(self.loss, s_real, s_fake))
            if self.contrastive > 0:
                loss_d = loss_d + self.contrastive * match_real
        ctx.backward_and_step(loss_d, "D")
        self.D.requires_grad_(False)
        try:
            with ctx.autocast():
                d_right = self.D.embed(right)
                logs = {"loss_d": loss_d.detach(), "d_real": s_real.mean().detach(),
                        "d_wrong": s_wrong.mean().detach(), "d_fake": s_fake.mean().detach()}
                if self.contrastive > 0:
                    s_gen, match_fake = self._judge_all(fake, d_right)
                    loss_g = generator_loss(self.loss, s_gen)
                    logs.update(loss_g_cls=loss_g.detach(), match_real=match_real.detach(),
                                match_fake=match_fake.detach())
                    loss_g = loss_g + self.contrastive * match_fake
                else:
                    loss_g = generator_loss(self.loss, self._judge(fake, d_right))
                    logs["loss_g_cls"] = loss_g.detach()
                if self.interpolation > 0 and count > 1:
                    other = right.roll(1, 0)
                    g_mix = 0.5 * (g_text + self.G.text(other))  # beta = 0.5 (Reed et al. 2016, sec. 4.3)
                    d_mix = 0.5 * (d_right + self.D.embed(other))
                    z_int = torch.randn(count, self.latent_dim, device=real.device)
                    loss_int = generator_loss(self.loss, self._judge(self.G.synthesize(z_int, g_mix), d_mix))
                    loss_g = loss_g + self.interpolation * loss_int
                    logs["loss_g_int"] = loss_int.detach()
            ctx.backward_and_step(loss_g, "G")
        finally:
            self.D.requires_grad_(True)
        logs["loss_g"] = loss_g.detach()
        return {name: float(value) for name, value in logs.items()}

    @torch.no_grad()
    def sample(self, module: torch.nn.Module, count: int, generator: torch.Generator) -> torch.Tensor:
        """Latents from `generator` with the first batch's captions in turn (empty captions before any batch)."""
        device = next(module.parameters()).device
        z = torch.randn(count, module.latent_dim, generator=generator, device=generator.device).to(device)
        if self.sample_captions is None:
            captions = torch.zeros(count, module.max_tokens, dtype=torch.long)
        else:
            captions = self.sample_captions[torch.arange(count) % len(self.sample_captions)]
        was_training = module.training
        module.eval()
        try:
            return module.generate(z, None, captions.to(device)).float().clamp(0, 1)
        finally:
            module.train(was_training)

    def model_module(self, ema: torch.nn.Module | None) -> torch.nn.Module:
        return ema if ema is not None else self.G
