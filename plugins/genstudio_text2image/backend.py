"""The implementation `genstudio_text2image.backend:TextToImageBackend` names: the model from a config, and its
training task."""

from __future__ import annotations

from typing import Any

import torch

from genstudio.captions import Tokenizer
from genstudio.errors import UserError
from genstudio_text2image.networks import Discriminator, TextToImage
from genstudio_text2image.train import TextToImageTask


def tokenizer(config: dict[str, Any]) -> Tokenizer:
    """The config's vocabulary and caption length; a malformed vocabulary is one line."""
    return Tokenizer(config["vocabulary"], config["max_tokens"])


class TextToImageBackend:
    @staticmethod
    def check_config(config: dict[str, Any]) -> None:
        if config["channels"] not in (1, 3):
            raise UserError(f"text2image: channels must be 1 (grayscale) or 3 (RGB), got {config['channels']}")
        if config["contrastive"] > 0 and config["conditioning"] != "projection":
            raise UserError("text2image: the contrastive loss scores the discriminator's projection; set "
                            "contrastive=0 with conditioning=concat")

    @staticmethod
    def build(config: dict[str, Any]) -> TextToImage:
        TextToImageBackend.check_config(config)
        return TextToImage(tokenizer(config).size, config["max_tokens"], config["latent_dim"], config["word_dim"],
                           config["text_width"], config["embed_dim"], config["channels"], config["resolution"],
                           config["ngf"])

    @staticmethod
    def create_training(config: dict[str, Any], data, device: torch.device) -> TextToImageTask:
        data.check_config("text2image", config)
        generator = TextToImageBackend.build(config).to(device)
        discriminator = Discriminator(tokenizer(config).size, config["word_dim"], config["text_width"],
                                      config["embed_dim"], config["channels"], config["resolution"],
                                      config["ndf"], config["conditioning"]).to(device)
        return TextToImageTask(generator, discriminator, config)
