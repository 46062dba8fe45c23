"""The networks of GAN-INT-CLS (Reed et al. 2016) at DCGAN scale: a recurrent text encoder, a generator and a
matching-aware discriminator.

Text encoder: token ids (genstudio.captions: words, or a spelt word's letters) -> embedding -> GRU; the mean of
its outputs over the caption's tokens and the mean of the word vectors themselves (padding masked) -> linear ->
LeakyReLU: one vector per caption (Reed et al. use a char-CNN-RNN; a GRU over words with a letter fallback keeps
the vocabulary open at a fraction of the cost). Means rather than the last state make every word count alike,
whatever its place; the word vectors' mean beside the GRU's lets a known word keep its meaning in a phrasing never
seen in training (GRU outputs alone: 0.63 judge accuracy on held-out phrasings of captioned digits against 0.97 on
the training ones, bench/text2image.py).

Generator (Reed et al. 2016, section 4.1, figure 2): z and the caption embedding concatenated, projected to
(ngf*4) x 4 x 4, then DCGAN up-stages (transposed convolution, batch norm, ReLU) to C x R x R, tanh.

    z (latent) + e (embed) -> (ngf*4) x 4 x 4 -> (ngf*2) x 8 x 8 -> ngf x 16 x 16 [-> ... x R x R] -> C x R x R

Discriminator: DCGAN down-stages (spectral norm, LeakyReLU 0.2) to (ndf*4) x 4 x 4, then by default a projection
head (Miyato & Koyama 2018): logit = psi(phi(x)) + <V e, phi(x)>, with e its own text encoder's embedding. Reed et
al.'s concatenation (e compressed, replicated spatially, concatenated depth-wise, a 1 x 1 and a 4 x 4 convolution)
is conditioning=concat; on captioned digits it never learnt to reject a wrong caption (judge accuracy at chance
after 1500 steps). Generator and discriminator each own a text encoder, each trained by its own loss; the exported
generator carries its encoder, so the ONNX graph takes token ids.

Everything is deterministic given its inputs (no dropout, no sampling), so the exported graph has no random ops.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genstudio.captions import PAD


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al. 2016, section 4) for the image networks: N(0, 0.02) weights, N(1, 0.02)
    batch-norm scales. Not for the text encoder: word vectors of N(0, 0.02) make every caption's embedding nearly
    the same, and the conditioning signal vanishes (PyTorch's own defaults are kept there)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def stages(resolution: int) -> int:
    """x2 stages from 4 x 4 to `resolution`: 16 -> 2, 32 -> 3, 64 -> 4."""
    count = int(math.log2(resolution)) - 2
    if resolution < 8 or 4 * 2**count != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return count


class TextEncoder(nn.Module):
    """N x L token ids -> N x embed_dim caption embeddings (an all-padding caption gives the bias alone)."""

    def __init__(self, vocab_size: int, word_dim: int, width: int, embed_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=PAD)
        self.gru = nn.GRU(word_dim, width, batch_first=True)
        self.project = nn.Linear(width + word_dim, embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != PAD).unsqueeze(-1).float()  # N x L x 1
        count = mask.sum(1).clamp(min=1.0)  # N x 1
        words = self.embedding(tokens)  # N x L x word_dim
        outputs, _ = self.gru(words)  # N x L x width
        pooled = torch.cat([(outputs * mask).sum(1), (words * mask).sum(1)], dim=1) / count  # N x (width + word_dim)
        return nn.functional.leaky_relu(self.project(pooled), 0.2)


class Generator(nn.Module):
    """(z, caption embedding) -> images in [-1, 1]."""

    def __init__(self, latent_dim: int, embed_dim: int, channels: int, resolution: int, ngf: int):
        super().__init__()
        count = stages(resolution)
        top = ngf * 2 ** (count - 1)
        self.top = top
        self.project = nn.Sequential(nn.Linear(latent_dim + embed_dim, top * 16), nn.BatchNorm1d(top * 16),
                                     nn.ReLU(True))  # -> top x 4 x 4
        layers: list[nn.Module] = []
        width = top
        for _ in range(count - 1):  # each: x2 size, /2 width
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]  # C x R x R
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        x = self.project(torch.cat([z, embedding], dim=1)).view(-1, self.top, 4, 4)
        return self.body(x)


class TextToImage(nn.Module):
    """What `build(config)` returns and a model folder holds: the generator with its text encoder.

    Generator contract: `latent_dim`, `num_classes` (0), `generate(z, labels=None, captions=None)` -> N x C x R x R
    in [0, 1], `captions` being N x max_tokens token ids (genstudio.captions.Tokenizer)."""

    num_classes = 0

    def __init__(self, vocab_size: int, max_tokens: int, latent_dim: int, word_dim: int, text_width: int,
                 embed_dim: int, channels: int, resolution: int, ngf: int):
        super().__init__()
        self.latent_dim, self.max_tokens, self.vocab_size = latent_dim, max_tokens, vocab_size
        self.text = TextEncoder(vocab_size, word_dim, text_width, embed_dim)
        self.generator = Generator(latent_dim, embed_dim, channels, resolution, ngf)
        self.generator.apply(init_weights)

    def synthesize(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from z and caption embeddings (what training and interpolation use)."""
        return self.generator(z, embedding)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                 captions: torch.Tensor | None = None) -> torch.Tensor:
        if captions is None:  # no caption: the empty one (the sampler asks for a caption before this)
            captions = torch.zeros(z.shape[0], self.max_tokens, dtype=torch.long, device=z.device)
        return (self.synthesize(z, self.text(captions)) + 1) / 2

    def forward(self, z: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        return self.generate(z, None, captions)

    def export_graphs(self):
        """One graph: (z, caption token ids) -> images; the text encoder is inside it."""
        from genstudio.export import ExportGraph, GraphInput

        return [ExportGraph("model", _Forward(self), [
            GraphInput("z", ("batch", self.latent_dim)),
            GraphInput("caption", ("batch", self.max_tokens), "int64", high=self.vocab_size),
        ], ["images"], {"images": {0: "batch"}})]


class _Forward(nn.Module):
    def __init__(self, model: TextToImage):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        return self.model.generate(z, None, captions)


class Discriminator(nn.Module):
    """(images in [-1, 1], caption embedding from `embed`) -> N logits: real and matching, or not.

    conditioning "projection" (Miyato & Koyama 2018, eq. 3, with the caption embedding in place of a class's):
    logit = psi(phi(x)) + <V e, phi(x)>, phi(x) the 4 x 4 features summed over space, V a linear map of the
    caption embedding e. "concat" (Reed et al. 2016, section 4.1): e compressed, replicated spatially and
    concatenated depth-wise to the 4 x 4 features, then a 1 x 1 and a 4 x 4 convolution."""

    def __init__(self, vocab_size: int, word_dim: int, text_width: int, embed_dim: int, channels: int,
                 resolution: int, ndf: int, conditioning: str = "projection"):
        super().__init__()
        if conditioning not in ("projection", "concat"):
            raise ValueError(f"conditioning must be projection or concat, got {conditioning!r}")
        self.conditioning = conditioning
        self.text = TextEncoder(vocab_size, word_dim, text_width, embed_dim)
        count = stages(resolution)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        width = ndf
        for _ in range(count - 1):  # down to 4 x 4, doubling the width
            layers += [spectral_norm(nn.Conv2d(width, width * 2, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            width *= 2
        self.body = nn.Sequential(*layers)  # -> width x 4 x 4
        if conditioning == "projection":
            self.head = spectral_norm(nn.Conv2d(width, 1, 4))  # psi: -> 1 x 1 x 1
            self.project = spectral_norm(nn.Linear(embed_dim, width, bias=False))  # V
        else:
            self.compress = nn.Sequential(spectral_norm(nn.Linear(embed_dim, min(embed_dim, 128))),
                                          nn.LeakyReLU(0.2, True))
            joint = width + min(embed_dim, 128)
            self.head = nn.Sequential(spectral_norm(nn.Conv2d(joint, width, 1)), nn.LeakyReLU(0.2, True),
                                      spectral_norm(nn.Conv2d(width, 1, 4)))  # -> 1 x 1 x 1

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text(tokens)

    def parts(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(psi(phi(x)), phi(x)) of the projection discriminator: the unconditional logits (N) and the pooled
        features (N x width)."""
        features = self.body(images)  # N x width x 4 x 4
        return self.head(features).flatten(), features.sum(dim=(2, 3))

    def match(self, phi: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """The projection term of every image with every caption: N x M, [i, j] = <V e_j, phi(x_i)>."""
        return phi @ self.project(embedding).t()

    def forward(self, images: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        if self.conditioning == "projection":
            psi, phi = self.parts(images)
            return psi + (self.project(embedding) * phi).sum(dim=1)
        features = self.body(images)  # N x width x 4 x 4
        text = self.compress(embedding)[:, :, None, None].expand(-1, -1, *features.shape[2:])  # replicated
        return self.head(torch.cat([features, text], dim=1)).flatten()
