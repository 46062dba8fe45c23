"""Built-in plugin: progressive growing of GANs (`progan`, Karras et al. 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation").

Generator and discriminator grow together from 4 x 4 to the dataset's size, one x2 stage at a time; each new
stage is faded in (alpha from 0 to 1) and then stabilised. This module is imported whenever plugins are listed, so
it only describes the backend; the torch code lives in `genstudio_progan.networks`, `.schedule` and `.train`,
reached through the loader in `genstudio_progan.backend` on first use.
"""

from genstudio_gan import LOSSES

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, hookimpl

__version__ = "0.1.0"

MIN_RESOLUTION, MAX_RESOLUTION = 8, 256  # powers of two; 32 to 256 is the intended range, 8 and 16 for tests

PROGAN_SCHEMA = ConfigSchema([
    ConfigField("resolution", "int", 32,
                "Final width and height in pixels, a power of two (32 to 256); set from the dataset.",
                min=MIN_RESOLUTION, max=MAX_RESOLUTION),
    ConfigField("channels", "int", 3, "Colour channels: 1 (grayscale) or 3 (RGB); set from the dataset.",
                min=1, max=3),
    ConfigField("latent_dim", "int", 128, "Length of the noise vector z (512 in the paper).", min=1, max=1024),
    ConfigField("ngf", "int", 128,
                "Generator width at 4 x 4 and 8 x 8; halved at each larger stage, down to ngf/8 (512 in the paper).",
                min=1, max=1024),
    ConfigField("ndf", "int", 128, "Discriminator width, the mirror of ngf.", min=1, max=1024),
    # the growth schedule (section 3 and appendix A.1 of the paper; the defaults are for folders of ~1000 images)
    ConfigField("stage_images", "int", 4000,
                "Real images shown per resolution stage, fade-in and stabilisation together (800k in the "
                "paper); the last stage lasts until the run ends.", min=1, max=10**9, label="images per stage"),
    ConfigField("fade_fraction", "float", 0.5,
                "Share of each new stage spent fading its layers in (alpha 0 -> 1); the rest stabilises.",
                min=0.0, max=1.0, label="fade fraction"),
    ConfigField("stage_batch", "str", "",
                "Batch size per stage from 4 x 4 up, comma-separated (e.g. 64,64,32,16; the last repeats), each "
                "at most the run's batch size; empty: the run's batch size at every stage.", label="batch per stage"),
    ConfigField("reset_optimizer", "bool", True,
                "Start each stage with fresh Adam moments, as the paper's official code does.",
                label="reset optimizer per stage"),
    # the training recipe
    ConfigField("loss", "choice", "wgan-gp",
                "Adversarial loss: Wasserstein with gradient penalty (Gulrajani 2017, the paper's), "
                "non-saturating (Goodfellow 2014), least squares (Mao 2017) or hinge (Lim & Ye 2017).",
                choices=LOSSES),
    ConfigField("drift", "float", 0.001,
                "Weight of the drift term eps * E[D(x)^2] that keeps the critic's output near 0 (appendix A.1); "
                "0 turns it off.", min=0.0, max=1.0, label="epsilon drift"),
    ConfigField("minibatch_std", "bool", True,
                "Minibatch standard deviation before the discriminator's last block (section 3).",
                label="minibatch std"),
    ConfigField("n_critic", "int", 1, "Discriminator updates per generator update (1 in the paper).", min=1, max=20,
                label="D steps per G step"),
    ConfigField("lr", "float", 1e-3, "Adam learning rate of both networks (0.001 in the paper).", min=0.0, max=1.0,
                label="learning rate"),
    ConfigField("beta1", "float", 0.0, "Adam's first moment decay (0 in the paper).", min=0.0, max=0.9999),
    ConfigField("beta2", "float", 0.99, "Adam's second moment decay (0.99 in the paper).", min=0.0, max=0.9999),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="progan",
            kind=BackendKind.GENERATOR,
            name="Progressive GAN",
            description=(
                "Progressive growing of GANs (Karras et al. 2018): generator and discriminator grow from 4 x 4 to "
                "the full size, each new resolution faded in; equalized learning rate, pixelwise feature "
                "normalisation, minibatch standard deviation and WGAN-GP with a drift term. Resumes exactly, "
                "also in the middle of a fade-in."
            ),
            loader="genstudio_progan.backend:PROGAN",
            schema=PROGAN_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True),
        ),
    ]
