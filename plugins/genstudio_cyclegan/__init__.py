"""Built-in plugin: CycleGAN (Zhu et al. 2017), unpaired image-to-image translation between two image folders.

This module is imported whenever plugins are listed, so it only describes the backend; the torch code lives in
`genstudio_cyclegan.networks`, `.train`, `.export` and `.backend`, loaded on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.1.0"

AUGMENTATIONS = ("none", "color", "translation", "cutout", "color,translation", "color,translation,cutout")

CYCLEGAN_SCHEMA = ConfigSchema([
    ConfigField("data_b", "str", "",
                "Folder of domain B's images (--data-b); empty: the --data folder's subfolders A/ and B/.",
                label="domain B folder"),
    ConfigField("resolution", "int", 64,
                "Side the training images are resized to (the paper loads 286 and crops 256).", min=8, max=1024),
    ConfigField("crop", "int", 0, "Side of the random training crops; 0: resolution * 256 / 286.", min=0,
                max=1024),
    ConfigField("generator", "choice", "resnet",
                "resnet: the paper's ResNet generator; lite: half as wide with depthwise-separable residual "
                "blocks (GAN Compression's mobile generator, Li et al. 2020), about a tenth of the MACs.",
                choices=("resnet", "lite")),
    ConfigField("ngf", "int", 64, "Generator width (channels of its first layer).", min=1, max=256),
    ConfigField("blocks", "int", 0, "Residual blocks per generator; 0: 9 at 256 px and above, 6 below.", min=0,
                max=32, label="residual blocks"),
    ConfigField("ndf", "int", 64, "Discriminator width (channels of its first layer).", min=1, max=256),
    ConfigField("d_layers", "int", 3, "Strided layers of the PatchGAN discriminator; 3 gives 70 x 70 patches.",
                min=1, max=6, label="D layers"),
    ConfigField("lambda_cycle", "float", 10.0, "Weight of the cycle-consistency loss (the paper's lambda).",
                min=0.0, max=1000.0, label="cycle weight"),
    ConfigField("lambda_identity", "float", 0.5,
                "Weight of the identity loss, as a fraction of the cycle weight (0 turns it off).", min=0.0,
                max=10.0, label="identity weight"),
    ConfigField("pool_size", "int", 50, "Generated images in each discriminator's history buffer; 0: none.",
                min=0, max=1000, label="history buffer"),
    ConfigField("lr", "float", 2e-4, "Adam learning rate of all four networks.", min=0.0, max=1.0,
                label="learning rate"),
    ConfigField("beta1", "float", 0.5, "Adam's first moment decay.", min=0.0, max=0.9999),
    ConfigField("beta2", "float", 0.999, "Adam's second moment decay.", min=0.0, max=0.9999),
    ConfigField("lr_constant", "int", 100000, "Steps at the full learning rate.", min=0, max=10**9,
                label="constant LR steps"),
    ConfigField("lr_decay", "int", 100000, "Steps over which the learning rate then falls linearly to 0.",
                min=0, max=10**9, label="LR decay steps"),
    ConfigField("diffaugment", "choice", "none",
                "Differentiable augmentations of what the discriminators see (Zhao et al. 2020); helps with "
                "small folders.", choices=AUGMENTATIONS, label="DiffAugment"),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="cyclegan",
            kind=BackendKind.TRANSLATOR,
            name="CycleGAN",
            description=(
                "Unpaired image-to-image translation (Zhu et al. 2017): two ResNet generators and two 70 x 70 "
                "PatchGAN discriminators trained with least-squares, cycle-consistency and identity losses on two "
                "image folders; translates either way at any size."
            ),
            loader="genstudio_cyclegan.backend:CycleGANBackend",
            schema=CYCLEGAN_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, tile_safe=False),
            inputs=(InputSpec(InputKind.DIRECTION, choices=("a2b", "b2a"),
                              help="a2b: domain A to B (--data to --data-b); b2a: back."),),
        ),
    ]
