"""Built-in plugin: DRAW, the Deep Recurrent Attentive Writer (Gregor et al. 2015).

A recurrent variational autoencoder: an LSTM encoder reads the image (and the error of the canvas so far) through
a grid of Gaussian filters, an LSTM decoder writes a patch onto a canvas through another grid, and after `steps`
writes the canvas is the image. It trains on the ELBO like the VAE family (Bernoulli or Gaussian likelihood), reports
its held-out negative ELBO and importance-weighted NLL through `genstudio eval`, samples from the prior like every
generator, and shows how it draws: the canvas after each step (`genstudio animate`, the app's steps player).

This module is imported whenever plugins are listed, so it only describes the backend; the torch code lives in
`genstudio_draw.attention`, `.model` and `.train`, reached through `genstudio_draw.backend` on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, hookimpl

__version__ = "0.1.0"

LIKELIHOODS = ("bernoulli", "gaussian")
VARIANCES = ("learned", "fixed")

DRAW_SCHEMA = ConfigSchema([
    ConfigField("resolution", "int", 32, "Width and height of the images in pixels.", min=8, max=128),
    ConfigField("channels", "int", 1, "Colour channels: 1 (grayscale) or 3 (RGB); set from the data.", min=1, max=3),
    ConfigField("steps", "int", 16,
                "Drawing steps T: how many times the decoder writes onto the canvas (the paper uses 64 for MNIST; "
                "fewer train faster on a CPU).", min=1, max=256, label="drawing steps"),
    ConfigField("z_size", "int", 10, "Latent variables drawn per step; the whole latent is steps x z_size.", min=1,
                max=512, label="latent per step"),
    ConfigField("enc_size", "int", 128, "Units of the encoder LSTM.", min=4, max=2048, label="encoder units"),
    ConfigField("dec_size", "int", 128, "Units of the decoder LSTM.", min=4, max=2048, label="decoder units"),
    ConfigField("attention", "bool", True,
                "Read and write through grids of Gaussian filters placed by the decoder (section 3.2); off: read "
                "the whole image and write a whole canvas update at every step (section 3.1)."),
    ConfigField("read_n", "int", 4, "Read grid: read_n x read_n Gaussian filters (the paper: 2 for MNIST).", min=2,
                max=64, label="read grid"),
    ConfigField("write_n", "int", 5, "Write grid: write_n x write_n Gaussian filters (the paper: 5 for MNIST).",
                min=2, max=64, label="write grid"),
    ConfigField("likelihood", "choice", "bernoulli",
                "The distribution of the pixels given the final canvas: Bernoulli on intensities in [0, 1] (binary "
                "cross entropy, the paper's MNIST loss) or Gaussian.", choices=LIKELIHOODS),
    ConfigField("gaussian_variance", "choice", "learned",
                "Gaussian likelihood only: one learned variance shared by all pixels, or a fixed one.",
                choices=VARIANCES, label="Gaussian variance"),
    ConfigField("gaussian_std", "float", 0.1,
                "Gaussian likelihood only: the fixed standard deviation, or the learned one's start value.",
                min=0.001, max=10.0, label="Gaussian std"),
    ConfigField("lr", "float", 1e-3, "Adam learning rate.", min=0.0, max=1.0, label="learning rate"),
    ConfigField("validation_fraction", "float", 0.1,
                "Share of the images held out of training; the negative ELBO on them is measured at the end and "
                "stored in model.json. 0 holds none out.", min=0.0, max=0.5, label="validation share"),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="draw",
            kind=BackendKind.AUTOENCODER,
            name="DRAW",
            description=(
                "Deep Recurrent Attentive Writer (Gregor et al. 2015): a recurrent VAE whose LSTM decoder draws "
                "the image in steps on a canvas, reading and writing through Gaussian attention grids; trained on "
                "the ELBO, its drawing steps play as an animation."
            ),
            loader="genstudio_draw.backend:DRAW",
            schema=DRAW_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, likelihood=True,
                                      drawing_steps=True),
        ),
    ]
