"""`genstudio export MODEL`: write model.onnx (checked against PyTorch) into a model folder."""

from __future__ import annotations

from pathlib import Path

import typer

from genstudio.cli.output import JSON_OPTION, console, print_json, shown
from genstudio.cli.progress import ProgressBar


def export(
    model: Path = typer.Argument(..., help="A trained model folder."),
    out: Path | None = typer.Option(None, "--out", help="The .onnx file to write (default: MODEL/model.onnx)."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset version."),
    fp16: bool = typer.Option(False, "--fp16", help="Half-precision weights inside; inputs and outputs stay float32."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare with PyTorch on random inputs (CPU, and "
                               "CUDA when present); a mismatch is an error."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export a model to ONNX for fast inference with onnxruntime (`generate --runtime onnx`)."""
    from genstudio.export import export_model

    with ProgressBar(enabled=not as_json) as bar:
        record = export_model(model, out=out, opset=opset, fp16=fp16, check=check, progress=bar)
    if as_json:
        print_json(record)
        return
    for name, graph in record["graphs"].items():
        errors = ", ".join(f"{p} {e:.2g}" for p, e in graph["max_abs_error"].items()) or "not checked"
        console.print(f"{shown(graph['file'])}: {name} graph, inputs {', '.join(graph['inputs'])}; "
                      f"max abs error vs PyTorch: {errors}", highlight=False)
