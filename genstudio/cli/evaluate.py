"""`genstudio eval MODEL --data DIR ...`: measure a trained model against a folder of real images."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, print_json, shown
from genstudio.cli.progress import ProgressBar


def evaluate(
    model: Path = typer.Argument(..., help="A trained model folder."),
    data: Path = typer.Option(..., "--data", help="Folder of real images to compare with (e.g. a test split)."),
    count: int | None = typer.Option(None, "--count", "-n", min=2, help="Generated images to compare "
                                     "(default: as many as --data has)."),
    metrics: str | None = typer.Option(None, "--metrics", help="Comma-separated: fid, kid, precision, recall, is "
                                       "(Inception Score); elbo, nll for VAEs. Default: all that apply (is only "
                                       "with inception)."),
    features: str = typer.Option("inception", "--features", help="Feature network: inception (weights from the "
                                 "torch cache or the setting weights.inception) or a TorchScript/ONNX file (for "
                                 "`is`, a classifier: the score reads its class scores)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the generated images."),
    k: int = typer.Option(100, "--k", min=1, help="Importance samples per image for nll."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Images per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the results in the model's model.json."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate a model: FID, KID, precision, recall and the Inception Score of its samples; likelihoods for
    VAEs."""
    from genstudio.metrics.model_eval import evaluate_model

    with ProgressBar(enabled=not as_json) as bar:
        report = evaluate_model(model, data, metrics=metrics, count=count, features=features, seed=seed, k=k,
                                batch_size=batch_size, device=device, save=save, progress=bar)
    if as_json:
        print_json(report)
        return
    from rich.table import Table

    table = Table(title=f"{report['backend']} model {report['model']}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        table.add_row(name, f"{value:.4g}")
    console.print(table)
    measured = f"features {report['features']}, " if report["features"] else ""
    console.print(f"{report['real_images']} real images from {shown(report['data'])}, {report['generated_images']} "
                  f"generated (seed {report['seed']}); {measured}{report['seconds']:.1f}s on {report['device']}"
                  + ("; saved in model.json" if save else ""), highlight=False)
