"""Built-in plugin: StyleGAN2 (`stylegan2`; Karras et al. 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks"; Karras et al. 2020a, "Analyzing and Improving the Image Quality of StyleGAN";
Karras et al. 2020b, "Training Generative Adversarial Networks with Limited Data").

A mapping network turns z into a style vector w; a synthesis network with modulated, demodulated convolutions,
per-layer noise and a skip (ToRGB) output draws the image; a residual discriminator with minibatch standard
deviation judges it. Trained with the non-saturating logistic loss, lazy R1 and path-length regularisation,
style-mixing regularisation, an EMA of G and adaptive discriminator augmentation (ADA) for small datasets. All in
plain PyTorch: no custom CUDA ops, no compiler, exportable to ONNX. Truncation (toward the tracked mean style
w_avg) and style mixing are graph inputs of the export.

Defaults for short runs on a workstation (bench/stylegan2.py: 32 px digits, 1500 images, a shared CPU): the paper's
recipe (config F) with path length regularisation off (pl_weight 0, as StyleGAN2-ADA's small-image "cifar" config), a
learning rate of 0.001 instead of 0.0025 and ADA adapting 100x faster than in the paper (p can move 0 -> 1 over 5k
images instead of 500k, in proportion to runs of tens of thousands of images, not tens of millions). Judge-FID after
300 steps of batch 32, one seed each: the paper's recipe 278; without path length 209; without style mixing as well
194 (lr 0.001: 177; 0.0005: 226; both regularisers at 0.001: 204); augmentation off 208, ADA over 50k images 177,
over 5k 161. Not the cause: the EMA (off: 218), R1 gamma (0.05: 186). Style mixing regularisation stays on (0.9):
the mixing grid and --mix-with rely on it. The paper's recipe is `--set pl_weight=2 --set lr=0.0025 --set
ada_images=500000`.

This module is imported whenever plugins are listed, so it only describes the backend; the torch code lives in
`genstudio_stylegan2.layers`, `.networks`, `.augment`, `.train` and `.graphs`, reached through the loader in
`genstudio_stylegan2.backend` on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.1.0"

MIN_RESOLUTION, MAX_RESOLUTION = 8, 512  # powers of two; 32 to 256 (512 where memory allows), 8 and 16 for tests
AUGMENTS = ("auto", "ada", "fixed", "off")
ASPECTS = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "2:1", "1:2")  # W:H
ASPECT_FITS = ("crop", "pad")
AUTO_ADA_BELOW = 50_000  # `augment=auto` switches ADA on for datasets with fewer training images than this

STYLEGAN2_SCHEMA = ConfigSchema([
    ConfigField("resolution", "int", 32,
                "Width and height in pixels, a power of two (32 to 256, 512 where memory allows); set from the "
                "dataset.", min=MIN_RESOLUTION, max=MAX_RESOLUTION),
    ConfigField("aspect", "choice", "1:1",
                "Width:height of the images; the longer side is the resolution (16:9 at 64 px: 64 x 36). A non-square "
                "model draws the centred window of its square synthesis.", choices=ASPECTS),
    ConfigField("aspect_fit", "choice", "crop",
                "How a training image becomes the aspect: crop (its centred window of that aspect) or pad (all of "
                "it, scaled to fit, the rest white).", choices=ASPECT_FITS, label="aspect fit"),
    ConfigField("channels", "int", 3, "Colour channels: 1 (grayscale) or 3 (RGB); set from the dataset.",
                min=1, max=3),
    ConfigField("conditional", "bool", False,
                "Condition G and D on the class subfolders (StyleGAN2-ADA's class embedding and projection "
                "discriminator); generate then takes --label.", label="class-conditional"),
    ConfigField("num_classes", "int", 0,
                "Number of classes (the dataset's subfolders); set from the dataset, used when conditional.",
                min=0, max=10000, label="classes"),
    # networks (Karras et al. 2020a, table 1 config F; the paper's widths are 512 throughout)
    ConfigField("latent_dim", "int", 256, "Length of z (512 in the paper).", min=1, max=1024),
    ConfigField("w_dim", "int", 256, "Length of the style vector w (512 in the paper).", min=1, max=1024),
    ConfigField("mapping_layers", "int", 8,
                "Fully connected layers of the mapping network z -> w (8 in the paper; 2 suffices for small "
                "datasets, as StyleGAN2-ADA's CIFAR-10 setup).", min=1, max=8, label="mapping layers"),
    ConfigField("channel_base", "int", 16384,
                "Feature maps at resolution r are min(channel_base / r, channel_max), in G and D.", min=4,
                max=65536, label="channel base"),
    ConfigField("channel_max", "int", 128,
                "Most feature maps of any layer (512 in the paper; 64 trains 32 px faster on a CPU).", min=1,
                max=1024, label="channel max"),
    ConfigField("mbstd_group", "int", 4,
                "Group size of the discriminator's minibatch standard deviation (4 in the paper).", min=1,
                max=64, label="minibatch std group"),
    # the training recipe (Karras et al. 2020a, appendix B; Karras et al. 2020b, appendix B)
    ConfigField("r1_gamma", "float", 0.0,
                "Weight gamma of the R1 penalty gamma/2 E||grad D(x)||^2 (Mescheder 2018); 0 = StyleGAN2-ADA's "
                "heuristic 0.0002 * resolution^2 / batch size.", min=0.0, max=1000.0, label="R1 gamma"),
    ConfigField("r1_interval", "int", 16, "Discriminator steps between lazy R1 updates (16 in the paper).",
                min=1, max=1000, label="R1 interval"),
    ConfigField("pl_weight", "float", 0.0,
                "Weight of the path length regulariser; 0 = off (2 in the paper, for long runs at 128 px and up; "
                "off like StyleGAN2-ADA's small-image config, it slows the start of short runs a lot).", min=0.0,
                max=100.0, label="path length weight"),
    ConfigField("pl_interval", "int", 4, "Generator steps between lazy path length updates (4 in the paper).",
                min=1, max=1000, label="path length interval"),
    ConfigField("style_mixing", "float", 0.9,
                "Probability of style mixing regularisation: two latents, one crossover layer (0.9 in the paper).",
                min=0.0, max=1.0, label="style mixing probability"),
    ConfigField("augment", "choice", "auto",
                "Discriminator augmentation: ada (its strength p follows the overfitting heuristic r_t), fixed "
                f"(p = augment_p throughout), off; auto = ada for datasets under {AUTO_ADA_BELOW:,} images, "
                "else off.", choices=AUGMENTS),
    ConfigField("augment_p", "float", 0.0, "Augmentation probability p to start from (ada) or to keep (fixed).",
                min=0.0, max=1.0, label="augment p"),
    ConfigField("ada_target", "float", 0.6,
                "ADA's target for r_t, the mean sign of D's output on real images (0.6 in the paper).", min=0.0,
                max=1.0, label="ADA target"),
    ConfigField("ada_images", "int", 5_000,
                "Images over which ADA can move p from 0 to 1 (500k in the paper, for runs of millions of images; "
                "5k suits workstation-length runs).", min=1, max=10**9, label="ADA speed (images)"),
    ConfigField("lr", "float", 0.001,
                "Adam learning rate of both networks (0.0025 in the paper, for its 512-wide networks; 0.001 learns "
                "faster at the narrow default widths).", min=0.0, max=1.0, label="learning rate"),
    ConfigField("beta1", "float", 0.0, "Adam's first moment decay (0 in the paper).", min=0.0, max=0.9999),
    ConfigField("beta2", "float", 0.99, "Adam's second moment decay (0.99 in the paper).", min=0.0, max=0.9999),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="stylegan2",
            kind=BackendKind.GENERATOR,
            name="StyleGAN2",
            description=(
                "Style-based generator (Karras et al. 2019, 2020): mapping network, modulated convolutions with "
                "weight demodulation, noise inputs, skip generator, residual discriminator; lazy R1 and path "
                "length regularisation, style mixing, adaptive augmentation for small datasets. Truncation "
                "toward the mean style and style mixing at generation, in PyTorch and in the ONNX export."
            ),
            loader="genstudio_stylegan2.backend:STYLEGAN2",
            schema=STYLEGAN2_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, truncation="own",
                                      style_mixing=True, aspect=True),
            inputs=(InputSpec(InputKind.LABEL, required=False,
                              help="Class name or number (a conditional model); default: cycle through the "
                                   "classes."),),
        ),
    ]
