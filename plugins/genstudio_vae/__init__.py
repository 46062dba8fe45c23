"""Built-in plugin: the VAE family, a convolutional variational autoencoder and its class-conditional variant.

Both share one set of options: the latent size and network width, the likelihood of the decoder (Bernoulli or
Gaussian with a learned or fixed variance), the KL weight beta (Higgins et al. 2017) and its warm-up, and the
share of the images held out to measure the negative ELBO at the end of training. This module is imported
whenever plugins are listed, so it only describes the backends; the torch code lives in `genstudio_vae.networks`,
`.likelihood`, `.model` and `.train`, reached through the loaders in `genstudio_vae.backend` on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.1.0"

LIKELIHOODS = ("bernoulli", "gaussian")
VARIANCES = ("learned", "fixed")
CONV_RESOLUTIONS = (32, 64, 128)  # the networks halve the size down to 4 x 4 (and double it back) from these


def _fields() -> list[ConfigField]:
    """The options both backends share: image shape, networks, likelihood, then the training recipe."""
    return [
        ConfigField("resolution", "int", 32, "Width and height of the images in pixels: 32, 64 or 128.", min=32,
                    max=128, allowed=CONV_RESOLUTIONS),
        ConfigField("channels", "int", 3, "Colour channels: 1 (grayscale) or 3 (RGB).", min=1, max=3),
        ConfigField("latent_dim", "int", 32, "Length of the latent vector z.", min=1, max=1024),
        ConfigField("width", "int", 32,
                    "Channels of the full-resolution layers; they double at each halving, up to 8 times this.",
                    min=1, max=512),
        ConfigField("likelihood", "choice", "bernoulli",
                    "The decoder's distribution over pixels: Bernoulli on intensities in [0, 1] (binary cross "
                    "entropy, as in the PyTorch VAE example) or Gaussian.", choices=LIKELIHOODS),
        ConfigField("gaussian_variance", "choice", "learned",
                    "Gaussian likelihood only: one learned variance shared by all pixels (Rybkin et al. 2021) or a "
                    "fixed one.", choices=VARIANCES, label="Gaussian variance"),
        ConfigField("gaussian_std", "float", 0.1,
                    "Gaussian likelihood only: the fixed standard deviation, or the learned one's start value.",
                    min=0.001, max=10.0, label="Gaussian std"),
        ConfigField("beta", "float", 1.0,
                    "Weight of the KL term in the training loss (Higgins et al. 2017); 1 is the plain ELBO, more "
                    "gives smoother, more disentangled latents and blurrier images.", min=0.0, max=1000.0),
        ConfigField("kl_warmup_steps", "int", 0,
                    "Steps over which the KL weight rises linearly from 0 to beta (Bowman et al. 2016; Sonderby "
                    "et al. 2016); 0 starts at beta.", min=0, max=10_000_000, label="KL warm-up steps"),
        ConfigField("lr", "float", 1e-3, "Adam learning rate.", min=0.0, max=1.0, label="learning rate"),
        ConfigField("validation_fraction", "float", 0.1,
                    "Share of the images held out of training; the negative ELBO on them is measured at the end "
                    "and stored in model.json. 0 holds none out.", min=0.0, max=0.5, label="validation share"),
    ]


VAE_SCHEMA = ConfigSchema(_fields())

CVAE_SCHEMA = ConfigSchema(
    _fields()
    + [ConfigField("num_classes", "int", 10, "Number of classes (the dataset's subfolders); must match the data.",
                   min=2, max=10000, label="classes")]
)


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="vae",
            kind=BackendKind.AUTOENCODER,
            name="VAE",
            description=(
                "Convolutional variational autoencoder (Kingma & Welling 2014): a strided convolutional encoder "
                "to a Gaussian posterior, a transposed convolutional decoder back to 32, 64 or 128 pixels, "
                "trained on the ELBO with an optional KL weight (beta-VAE, Higgins et al. 2017)."
            ),
            loader="genstudio_vae.backend:VAE",
            schema=VAE_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, likelihood=True),
        ),
        BackendSpec(
            id="cvae",
            kind=BackendKind.AUTOENCODER,
            name="Conditional VAE",
            description=(
                "Class-conditional VAE (Sohn et al. 2015; Kingma et al. 2014): encoder and decoder both see the "
                "label, so new images are sampled per class. Classes are the dataset's subfolders."
            ),
            loader="genstudio_vae.backend:CVAE",
            schema=CVAE_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, likelihood=True),
            inputs=(InputSpec(InputKind.LABEL, required=False,
                              help="Class name or number; default: cycle through the classes."),),
        ),
    ]
