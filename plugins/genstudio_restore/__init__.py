"""Built-in plugin: restoration (inpainting, denoising, upscaling) of the designer's own images.

Two backends of the `restorer` kind (image, optional mask -> image; `genstudio restore`):

  restore         a U-Net with gated convolutions (Yu et al. 2019) trained on the user's folder with self-made
                  degradations (free-form and box holes, noise and JPEG artefacts, 2x/4x down-sampling): one model
                  learns several tasks, chosen at use time with --task. PatchGAN discriminator (Isola et al. 2017),
                  L1 + adversarial (+ VGG perceptual when the weights are found). No FFT: it exports to ONNX.
  latent-inpaint  needs no restoration training: the visible part of an image is projected into a trained
                  generator's or VAE's latent space (Bora et al. 2017), and the hole is filled from the projection.

This module only describes the backends (no torch); the code lives in `.networks`, `.degrade`, `.train`,
`.backend` and `.latent`, reached through the loaders on first use.
"""

from __future__ import annotations

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.3.0"  # 0.3: task_balance (older models read as "pixels"); 0.2: a pull-push fill (0.1: black)

TASKS = ("inpaint", "denoise", "upscale")  # the order is the graph's task index: never reorder


def _inputs(tasks: tuple[str, ...]) -> tuple[InputSpec, ...]:
    return (
        InputSpec(InputKind.IMAGE, help="The image to restore."),
        InputSpec(InputKind.MASK, required=False,
                  help="White where the picture is to be filled (inpaint): --mask FILE or --mask-dir DIR."),
        InputSpec(InputKind.CHOICE, name="task", choices=tasks, help=f"What to do: {', '.join(tasks)}."),
    )


RESTORE_SCHEMA = ConfigSchema([
    ConfigField("resolution", "int", 64, "Side the training images are resized to (square).", min=16, max=1024),
    ConfigField("tasks", "str", ",".join(TASKS),
                "The tasks the model learns, comma-separated (inpaint, denoise, upscale); the others are refused "
                "at use time."),
    ConfigField("scale", "int", 2, "The upscale factor it learns and applies (2 or 4).", min=2, max=4),
    ConfigField("size", "choice", "standard",
                "standard: width 32, 4 levels; lite: width 16, 3 levels (about a tenth of the work, for CPUs).",
                choices=("standard", "lite")),
    ConfigField("width", "int", 0, "Channels of the first level; 0: the size's (32 standard, 16 lite).", min=0,
                max=256),
    ConfigField("ndf", "int", 32, "PatchGAN discriminator width.", min=4, max=256),
    ConfigField("d_layers", "int", 2, "Strided layers of the PatchGAN (3: 70 x 70 patches at 256 px).", min=1,
                max=5, label="D layers"),
    ConfigField("lambda_hole", "float", 6.0, "Extra L1 weight inside the holes (Liu et al. 2018 use 6).", min=0.0,
                max=100.0, label="hole weight"),
    ConfigField("task_balance", "choice", "scale",
                "How the tasks share the reconstruction loss: scale (each task's L1 divided by its running mean, "
                "Kendall et al. 2018, so upscaling's small residual is not drowned by the holes' large errors) or "
                "pixels (one mean over every pixel of the batch, as 0.2 trained).",
                choices=("scale", "pixels"), label="task balance"),
    ConfigField("lambda_adv", "float", 0.01, "Weight of the least-squares adversarial loss; 0 turns D off.",
                min=0.0, max=10.0, label="adversarial weight"),
    ConfigField("adv_warmup", "int", 1000, "Steps of L1 (and perceptual) loss alone before the adversarial loss and "
                "D's training start: a PatchGAN judging the first blurry fills swamps L1.", min=0, max=10**8,
                label="adversarial warm-up"),
    ConfigField("adv_tasks", "str", "inpaint",
                "The tasks the adversarial loss applies to, comma-separated (empty: none). On upscale and denoise it "
                "trades fidelity for texture (Ledig et al. 2017): below bicubic's PSNR in bench/restore.py.",
                label="adversarial tasks"),
    ConfigField("perceptual", "choice", "auto",
                "VGG19 perceptual loss: auto (ImageNet weights when found, else none), imagenet (required), "
                "random (a seeded random VGG19: a lower-quality offline mode) or off.",
                choices=("auto", "imagenet", "random", "off")),
    ConfigField("lambda_perceptual", "float", 0.05, "Weight of the perceptual loss.", min=0.0, max=100.0,
                label="perceptual weight"),
    ConfigField("vgg_weights", "str", "",
                "Path of vgg19-dcbb9e9d.pth; empty: the setting weights.vgg19, then the torch hub cache.",
                label="VGG weights"),
    ConfigField("noise_max", "float", 0.1, "Largest noise standard deviation of the denoise degradation.",
                min=0.0, max=1.0),
    ConfigField("jpeg_min", "int", 20, "Lowest JPEG quality of the denoise degradation (100: no JPEG).", min=1,
                max=100),
    ConfigField("lr", "float", 1e-3, "Adam learning rate (both networks).", min=0.0, max=1.0,
                label="learning rate"),
])

LATENT_SCHEMA = ConfigSchema([
    ConfigField("source", "str", "", "The trained generator or VAE model folder to project into (required)."),
    ConfigField("steps", "int", 200, "Optimisation steps of the projection.", min=1, max=100000),
    ConfigField("lr", "float", 0.05, "Adam learning rate of the latent.", min=0.0, max=10.0,
                label="learning rate"),
    ConfigField("restarts", "int", 2, "Random starting latents tried; the best fit is kept.", min=1, max=64),
    ConfigField("prior", "float", 0.001, "Weight of the ||z||^2 prior that keeps the latent plausible (Bora et "
                "al. 2017, section 4).", min=0.0, max=10.0),
    ConfigField("feather", "int", 0, "Pixels outside the hole over which the fill is blended into the picture "
                "(softens the seam, but changes those pixels; 0: only the hole changes).", min=0, max=64),
    ConfigField("seed", "int", 0, "Seed of the starting latents.", min=0, max=2**31 - 1),
])


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="restore",
            kind=BackendKind.RESTORER,
            name="Restore (gated U-Net)",
            description=(
                "Inpainting, denoising and 2x/4x upscaling learnt from your own images with self-made "
                "degradations: a U-Net with gated convolutions (Yu et al. 2019), a PatchGAN discriminator "
                "(Isola et al. 2017), L1 + adversarial (+ VGG perceptual) losses; one model, several tasks."
            ),
            loader="genstudio_restore.backend:RestoreBackend",
            schema=RESTORE_SCHEMA,
            capabilities=Capabilities(trainable=True, exportable=True, export_recipe=True, records_extra=True),
            inputs=_inputs(TASKS),
        ),
        BackendSpec(
            id="latent-inpaint",
            kind=BackendKind.RESTORER,
            name="Latent inpainting (projection)",
            description=(
                "Fills holes with no restoration training: finds the latent of a trained generator or VAE whose "
                "image best matches the visible pixels (Bora et al. 2017, compressed sensing with generative "
                "models) and blends its image into the hole. Images are resized to the model's size."
            ),
            loader="genstudio_restore.latent:LatentInpaintBackend",
            schema=LATENT_SCHEMA,
            # records_extra: model_extra(config) names the source by its weights' sha256 in each output's record
            capabilities=Capabilities(tile_safe=False, reports_progress=True, records_extra=True),
            inputs=_inputs(("inpaint",)),
        ),
    ]


@hookimpl
def upgrade_model_config(backend: str, plugin_version: str, config: dict) -> dict | None:
    """Models saved before task_balance (0.2) were trained on one pixel mean over every task: they say so."""
    if backend != "restore" or "task_balance" in config:
        return None
    return {**config, "task_balance": "pixels"}
