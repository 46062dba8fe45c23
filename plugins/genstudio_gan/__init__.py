"""Built-in plugin: the GAN family, a fully-connected GAN, DCGAN and a class-conditional DCGAN.

All three share one set of training options (loss, spectral norm, R1, TTUR learning rates, minibatch standard
deviation, DiffAugment). This module is imported whenever plugins are listed, so it only describes the backends;
the torch code lives in `genstudio_gan.networks`, `.losses`, `.diffaugment` and `.train`, reached through the
loaders in `genstudio_gan.backend` on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.1.0"

LOSSES = ("nonsaturating", "lsgan", "hinge", "wgan-gp")
AUGMENTATIONS = ("none", "color", "translation", "cutout", "color,translation", "color,translation,cutout")
CONV_RESOLUTIONS = (32, 64, 128)  # the convolutional backends double the size from 4 x 4 up to one of these


def _training_fields(ngf: int, ndf: int, width_help: str) -> list[ConfigField]:
    """The options every GAN backend shares (generator shape first, then the training recipe)."""
    return [
        ConfigField("latent_dim", "int", 100, "Length of the noise vector z the generator starts from.", min=1,
                    max=1024),
        ConfigField("ngf", "int", ngf, f"Generator width ({width_help}).", min=1, max=1024),
        ConfigField("ndf", "int", ndf, f"Discriminator width ({width_help}).", min=1, max=1024),
        ConfigField("loss", "choice", "nonsaturating",
                    "Adversarial loss: non-saturating (Goodfellow 2014), least squares (Mao 2017), hinge "
                    "(Lim & Ye 2017) or Wasserstein with gradient penalty (Gulrajani 2017).", choices=LOSSES),
        ConfigField("spectral_norm", "bool", True,
                    "Spectral normalisation of the discriminator's layers (Miyato 2018); replaces its batch norm.",
                    label="spectral norm"),
        ConfigField("r1_gamma", "float", 0.0,
                    "Weight of the R1 penalty on the discriminator's gradient at real images (Mescheder 2018); "
                    "0 turns it off.", min=0.0, max=1000.0, label="R1 gamma"),
        ConfigField("minibatch_std", "bool", False,
                    "Append the batch's standard deviation as a feature before the discriminator's last layer "
                    "(Karras 2018); fights mode collapse.", label="minibatch std"),
        ConfigField("diffaugment", "choice", "color,translation,cutout",
                    "Differentiable augmentations applied to real and generated images before the discriminator "
                    "(Zhao 2020); helps with small datasets.", choices=AUGMENTATIONS, label="DiffAugment"),
        ConfigField("n_critic", "int", 1,
                    "Discriminator updates per generator update (5 is usual with wgan-gp).", min=1, max=20,
                    label="D steps per G step"),
        ConfigField("optimizer", "choice", "adam", "Optimizer for both networks.", choices=("adam", "rmsprop")),
        ConfigField("lr_g", "float", 2e-4, "Generator learning rate.", min=0.0, max=1.0, label="G learning rate"),
        ConfigField("lr_d", "float", 2e-4,
                    "Discriminator learning rate; a larger one than G's is the two time-scale rule (Heusel 2017).",
                    min=0.0, max=1.0, label="D learning rate"),
        ConfigField("beta1", "float", 0.5, "Adam's first moment decay (0.5 as in DCGAN; 0 is usual with wgan-gp).",
                    min=0.0, max=0.9999),
        ConfigField("beta2", "float", 0.999, "Adam's second moment decay.", min=0.0, max=0.9999),
    ]


def _image_fields(resolution: int, min_resolution: int, resolution_help: str,
                  allowed: tuple[int, ...] = ()) -> list[ConfigField]:
    """Image size and channels: set from the dataset when training, saved so the model can be rebuilt alone."""
    return [
        ConfigField("resolution", "int", resolution, resolution_help, min=min_resolution, max=128, allowed=allowed),
        ConfigField("channels", "int", 3, "Colour channels: 1 (grayscale) or 3 (RGB); set from the dataset.",
                    min=1, max=3),
    ]


GAN_SCHEMA = ConfigSchema(
    _image_fields(32, 8, "Width and height of the images in pixels; set from the dataset.")
    + [ConfigField("hidden_layers", "int", 2, "Hidden layers in each of the two networks.", min=1, max=8,
                   label="hidden layers")]
    + _training_fields(512, 512, "units per hidden layer")
)

DCGAN_SCHEMA = ConfigSchema(
    _image_fields(64, 32, "Width and height of the images in pixels: 32, 64 or 128; set from the dataset.",
                  CONV_RESOLUTIONS)
    + _training_fields(64, 64, "channels of the widest-resolution layer")
)

CGAN_SCHEMA = ConfigSchema(
    _image_fields(64, 32, "Width and height of the images in pixels: 32, 64 or 128; set from the dataset.",
                  CONV_RESOLUTIONS)
    + [
        ConfigField("num_classes", "int", 10, "Number of classes (the dataset's subfolders); set from the dataset.",
                    min=2, max=10000, label="classes"),
        ConfigField("conditioning", "choice", "projection",
                    "How the discriminator sees the label: projection (Miyato & Koyama 2018) or label maps "
                    "concatenated to the image (Mirza & Osindero 2014).", choices=("projection", "concat")),
    ]
    + _training_fields(64, 64, "channels of the widest-resolution layer")
)


@hookimpl
def register_backends() -> list[BackendSpec]:
    trainable = Capabilities(trainable=True, exportable=True)
    return [
        BackendSpec(
            id="gan",
            kind=BackendKind.GENERATOR,
            name="GAN (fully connected)",
            description=(
                "The original generative adversarial network (Goodfellow et al. 2014): a multilayer perceptron "
                "generator against a multilayer perceptron discriminator. Best for small grayscale images."
            ),
            loader="genstudio_gan.backend:GAN",
            schema=GAN_SCHEMA,
            capabilities=trainable,
        ),
        BackendSpec(
            id="dcgan",
            kind=BackendKind.GENERATOR,
            name="DCGAN",
            description=(
                "Deep convolutional GAN (Radford et al. 2016): transposed convolutions with batch norm up from "
                "4 x 4 to 32, 64 or 128 pixels, against a strided convolutional discriminator."
            ),
            loader="genstudio_gan.backend:DCGAN",
            schema=DCGAN_SCHEMA,
            capabilities=trainable,
        ),
        BackendSpec(
            id="cgan",
            kind=BackendKind.GENERATOR,
            name="Conditional DCGAN",
            description=(
                "Class-conditional DCGAN (Mirza & Osindero 2014): the generator sees a label embedding next to "
                "z; the discriminator a projection of it (Miyato & Koyama 2018) or label maps. Classes are the "
                "dataset's subfolders."
            ),
            loader="genstudio_gan.backend:CGAN",
            schema=CGAN_SCHEMA,
            capabilities=trainable,
            inputs=(InputSpec(InputKind.LABEL, required=False,
                              help="Class name or number; default: cycle through the classes."),),
        ),
    ]
