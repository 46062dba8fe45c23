"""Evaluate a trained model folder against an image folder: the work behind `genstudio eval`.

Generators are measured on samples (FID, KID, precision, recall on a chosen feature network, and the Inception
Score of the samples: on InceptionV3's logits by default, on a user classifier's outputs with `--features`);
autoencoders
can also report their likelihood on the folder's images: the ELBO and an importance-weighted estimate of
log p(x) (Burda et al. 2016), both in nats per image, when the model provides `elbo` / `iwae_log_likelihood`.
Results are stored in model.json under `metrics`.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.metrics.evaluate import METRICS as SAMPLE_METRICS

LIKELIHOOD_METRICS = ("elbo", "nll")
ALL_METRICS = SAMPLE_METRICS + LIKELIHOOD_METRICS


def parse_metrics(text: str | None, likelihood: bool, features: str = "inception") -> list[str]:
    """"fid,kid" -> ["fid", "kid"]; None -> the defaults for the model (likelihoods first for autoencoders). The
    Inception Score is a default with the Inception network only: a user network counts only when asked for ("is"),
    as it must output class scores for the score to mean anything."""
    if not text:
        defaults = [name for name in SAMPLE_METRICS if name != "is" or str(features) == "inception"]
        return list(LIKELIHOOD_METRICS) + defaults if likelihood else defaults
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in ALL_METRICS:
            raise UserError(f"unknown metric {name!r}; choose from {', '.join(ALL_METRICS)}")
        if name in LIKELIHOOD_METRICS and not likelihood:
            raise UserError(f"metric {name!r} needs an autoencoder model with a likelihood (a VAE)")
    return names


def evaluate_model(
    model_dir: str | Path,
    data_dir: str | Path,
    *,
    metrics: str | None = None,  # comma-separated; None: the model's defaults
    count: int | None = None,  # generated images to compare; None: as many as the folder has
    features: str = "inception",  # "inception" or a TorchScript / ONNX feature network's path
    seed: int = 0,  # the generated images are images 0..count-1 of this seed
    k: int = 100,  # importance samples for "nll"
    batch_size: int = 64,
    device: str = "auto",
    save: bool = True,  # store the results in model.json
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> dict[str, Any]:
    """The metrics asked for, with what they were measured on. UserError for anything the user can fix."""
    import torch

    from genstudio import generation
    from genstudio.data import ImageFolderDataset
    from genstudio.devices import describe_device, resolve_device
    from genstudio.metrics.evaluate import evaluate
    from genstudio.metrics.features import load_features
    from genstudio.models import load_model, update_card

    torch_device = resolve_device(device)
    loaded = load_model(model_dir, device=torch_device)
    module, config = loaded.module, loaded.card.config
    likelihood = loaded.spec.capabilities.likelihood
    names = parse_metrics(metrics, likelihood, features)
    sample_names = [name for name in names if name in SAMPLE_METRICS]
    if sample_names and loaded.spec.kind.value not in ("generator", "autoencoder"):
        raise UserError(f"{loaded.spec.id} models do not generate images, so {', '.join(sample_names)} do not apply")
    if k < 1:
        raise UserError(f"k must be at least 1, got {k}")
    extractor = load_features(features) if sample_names else None  # a missing network fails before any work
    real = ImageFolderDataset(data_dir, config.get("resolution", 64), config.get("channels", 3), progress=progress,
                              abort=abort)
    images = real.images.float() / 255.0  # N x C x H x W in [0, 1]
    labels = real.labels.long()
    count = count or len(images)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    if any(name in LIKELIHOOD_METRICS for name in names):
        results.update(_likelihoods(module, images, labels, names, k, seed, batch_size, torch_device, progress,
                                    abort))
    if sample_names:
        reporter = Progress(progress, f"Generating {count} images", total=count, abort=abort)
        fakes = []
        for sample in generation.generate(module, seed, range(count), batch_size=batch_size, device=torch_device):
            reporter.check_abort()
            fakes.append(sample.image)
            reporter.update(advance=1)
        reporter.finish()
        results.update(evaluate(images, torch.stack(fakes), extractor, sample_names, batch_size=batch_size,
                                seed=seed, sink=progress, abort=abort))
    context = {
        "data": str(Path(data_dir)),
        "real_images": len(images),
        "generated_images": count if sample_names else 0,
        "features": extractor.name if extractor is not None else None,
        "seed": seed,
        "k": k if "nll" in names else None,
        "device": describe_device(torch_device),
        "seconds": round(time.perf_counter() - started, 2),
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    report = {"model": str(loaded.folder), "backend": loaded.spec.id, "metrics": results, **context}
    if save:
        stored = dict(loaded.card.metrics)
        stored.update(_keys_for_card(results, extractor))
        stored.setdefault("evaluations", [])
        stored["evaluations"] = [*stored["evaluations"][-9:], {"metrics": results, **context}]
        update_card(loaded.folder, metrics=stored)
    return report


def _keys_for_card(results: dict[str, float], extractor: Any) -> dict[str, float]:
    """Top-level metric keys: "fid" only for the standard Inception features; other networks' FIDs are not
    comparable with published numbers, so they carry the network's name: "fid@onnx:digits.onnx"."""
    standard = extractor is None or extractor.name.startswith("inception")
    return {(name if standard or name.startswith(("neg_elbo", "nll")) else f"{name}@{extractor.name}"): value
            for name, value in results.items()}


def _likelihoods(module, images, labels, names: Sequence[str], k: int, seed: int, batch_size: int, device,
                 progress: EventSink | None, abort: AbortCheck | None) -> dict[str, float]:
    """Mean ELBO and importance-weighted log-likelihood over the folder's images, reported as positive
    negative-log-likelihoods in nats per image and per dimension."""
    import torch

    conditional = int(module.num_classes or 0) > 0
    generator = torch.Generator(device=device).manual_seed(seed)
    dims = images[0].numel()
    reporter = Progress(progress, "Likelihood of the images", total=len(images), abort=abort)
    elbo_sum, ll_sum = 0.0, 0.0
    step = max(1, batch_size // 4) if "nll" in names else batch_size  # k samples per image multiply the memory
    with torch.no_grad():
        for start in range(0, len(images), step):
            reporter.check_abort()
            x = images[start:start + step].to(device)
            y = labels[start:start + step].to(device) if conditional else None
            if "elbo" in names:
                elbo_sum += float(module.elbo(x, y, generator=generator).sum())  # seeded: the same figure each run
            if "nll" in names:
                ll_sum += float(module.iwae_log_likelihood(x, y, k=k, generator=generator).sum())
            reporter.update(advance=len(x))
    reporter.finish()
    n = len(images)
    out: dict[str, float] = {}
    if "elbo" in names:
        out["neg_elbo"] = -elbo_sum / n  # nats per image: an upper bound on the NLL
        out["neg_elbo_per_dim"] = out["neg_elbo"] / dims
    if "nll" in names:
        out["nll"] = -ll_sum / n
        out["nll_per_dim"] = out["nll"] / dims
    return out
