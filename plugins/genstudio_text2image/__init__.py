"""Built-in plugin: `text2image`, a caption-conditioned GAN with a recurrent text encoder.

GAN-INT-CLS (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis"): a GRU reads the caption's words
(unknown words spelt letter by letter: genstudio.captions), a DCGAN-like generator draws from noise and the caption
embedding, and a matching-aware discriminator learns to reject real images with a wrong caption as well as fakes;
the generator also learns from interpolated caption embeddings. DiffAugment (Zhao et al. 2020) for small sets.
Trains on any captioned folder (image.txt beside each image, captions.jsonl, or class names as captions).

This module is imported whenever plugins are listed, so it only describes the backend; the torch code lives in
`genstudio_text2image.networks`, `.train` and `.backend`, loaded on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.2.0"

RESOLUTIONS = (16, 32, 64)
AUGMENTATIONS = ("none", "translation", "translation,cutout", "color,translation")

SCHEMA = ConfigSchema([
    ConfigField("resolution", "int", 32, "Width and height of the images in pixels; set from the dataset.",
                min=16, max=64, allowed=RESOLUTIONS),
    ConfigField("channels", "int", 3, "Colour channels: 1 (grayscale) or 3 (RGB); set from the dataset.", min=1,
                max=3),
    ConfigField("vocabulary", "str", "",
                "The words the text encoder knows, separated by spaces; set from the dataset's captions (other "
                "words are spelt letter by letter)."),
    ConfigField("max_words", "int", 2000, "Largest vocabulary taken from the captions (most frequent words first).",
                min=1, max=100000, label="max words"),
    ConfigField("min_word_count", "int", 1, "A word joins the vocabulary when the captions use it this often.",
                min=1, max=1000, label="min word count"),
    ConfigField("max_tokens", "int", 24, "Longest caption in tokens (a word, or a spelt word's letters + 1).",
                min=4, max=256, label="max tokens"),
    ConfigField("latent_dim", "int", 64, "Length of the noise vector z.", min=1, max=1024),
    ConfigField("word_dim", "int", 64, "Size of a word's (or letter's) embedding.", min=4, max=1024,
                label="word size"),
    ConfigField("text_width", "int", 128, "Hidden units of the GRU that reads the caption.", min=4, max=2048,
                label="text encoder width"),
    ConfigField("embed_dim", "int", 128, "Size of the caption embedding the generator and discriminator see.",
                min=4, max=1024, label="caption embedding"),
    ConfigField("ngf", "int", 64, "Generator width (channels of the widest-resolution layer).", min=1, max=1024),
    ConfigField("ndf", "int", 64, "Discriminator width (channels of the widest-resolution layer).", min=1, max=1024),
    ConfigField("loss", "choice", "nonsaturating",
                "Adversarial loss: non-saturating (Goodfellow 2014, as in Reed 2016) or hinge (Lim & Ye 2017).",
                choices=("nonsaturating", "hinge")),
    ConfigField("conditioning", "choice", "projection",
                "How the discriminator sees the caption: projection (Miyato & Koyama 2018) or the embedding "
                "concatenated to its features (Reed et al. 2016).", choices=("projection", "concat")),
    ConfigField("contrastive", "float", 1.0,
                "Weight of the contrastive image-caption matching loss on the discriminator's projection (XMC-GAN, "
                "Zhang et al. 2021); needs conditioning=projection; 0 turns it off.", min=0.0, max=10.0),
    ConfigField("word_dropout", "float", 0.25,
                "Share of a training caption's words dropped at each step (word dropout, Iyyer et al. 2015), so "
                "each word carries its meaning alone and a new phrasing of known words is followed; 0 turns it "
                "off.", min=0.0, max=0.9, label="word dropout"),
    ConfigField("interpolation", "float", 1.0,
                "Weight of the generator's loss on interpolated caption embeddings (GAN-INT, Reed 2016, sec. "
                "4.3); 0 turns it off.", min=0.0, max=10.0),
    ConfigField("diffaugment", "choice", "translation",
                "Differentiable augmentations before the discriminator (Zhao 2020); colour jitter is off by default "
                "because captions often name colours.", choices=AUGMENTATIONS, label="DiffAugment"),
    ConfigField("lr_g", "float", 4e-4, "Generator (and its text encoder) learning rate.", min=0.0, max=1.0,
                label="G learning rate"),
    ConfigField("lr_d", "float", 8e-4,
                "Discriminator (and its text encoder) learning rate; twice G's (two time-scale update rule, Heusel "
                "et al. 2017): at 2e-4 the caption was still ignored after 1200 steps.", min=0.0, max=1.0,
                label="D learning rate"),
    ConfigField("beta1", "float", 0.5, "Adam's first moment decay (0.5 as in DCGAN).", min=0.0, max=0.9999),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="text2image",
            kind=BackendKind.GENERATOR,
            name="Text to image (GAN-INT-CLS)",
            description=(
                "A caption-conditioned DCGAN (Reed et al. 2016): a GRU text encoder with a letter-by-letter "
                "fallback for unknown words, a matching-aware discriminator (real image + wrong caption is a "
                "negative) and interpolated caption embeddings; trains on any captioned image folder."
            ),
            loader="genstudio_text2image.backend:TextToImageBackend",
            schema=SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True),
            inputs=(InputSpec(InputKind.CAPTION,
                              help="What to draw, in words; unknown words are spelt letter by letter."),),
        )
    ]
