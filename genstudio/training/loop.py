"""`fit`: train a backend on a dataset into a model folder, with checkpoints, exact resume and progress events.

The layout of OUT after a run::

    model.json, weights.safetensors    the trained model (the EMA copy when there is one)
    samples.png, samples/step-N.png    the newest sample grid and every earlier one
    metrics.jsonl                      one record per `log_every` steps (tensorboard/ too, when installed)
    checkpoints/step-N/                the newest `keep_checkpoints` checkpoints

The loop follows StyleGAN2-ADA's training_loop: options are keywords, progress goes to an event sink, and an
abort check is polled between steps; a cancelled run writes a checkpoint and a model and returns normally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genstudio.backends import BackendSpec
from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.fileio import real_folder
from genstudio.models import CARD_FILE, save_model
from genstudio.training.checkpoints import (
    CHECKPOINTS_DIR,
    discard_after,
    list_checkpoints,
    prune_checkpoints,
    write_checkpoint,
)
from genstudio.training.distributed import World, any_rank, barrier, join_world, leave_world
from genstudio.training.ema import update_ema
from genstudio.training.meter import Meter
from genstudio.training.metrics import TENSORBOARD_DIR, MetricsLog
from genstudio.training.options import FitOptions
from genstudio.training.order import gather_batch
from genstudio.training.run import Run, build_run, determinism, load_trainer, run_device
from genstudio.training.samples import SAMPLES_DIR, SampleSchedule, draw_samples, write_samples
from genstudio.training.snapshot import capture, newest_state, restore
from genstudio.training.split import evaluate_held_out
from genstudio.training.task import TrainingSummary


def fit(
    spec: BackendSpec,
    config: dict[str, Any],
    dataset: Any,  # map-style: (float image C x H x W in [0, 1], int label), with len(); e.g. ImageFolderDataset
    out_dir: str | Path,
    *,
    steps: int | None = None,  # stop after this global step (mutually exclusive with epochs)
    epochs: int | None = None,  # or after this many passes over the data
    batch_size: int = 64,  # images per step (per process under torchrun)
    seed: int = 0,  # seeds the weights, the data order, the noise and the sample grid
    device: str = "auto",  # auto | cpu | cuda | cuda:N | mps
    resume: bool = False,  # continue from out_dir/checkpoints' newest checkpoint
    checkpoint_every: int = 500,  # steps between checkpoints (always one at the end and on cancel)
    keep_checkpoints: int = 3,  # how many recent checkpoints to keep
    sample_every: int | str = "auto",  # N steps, "Ns"/"Nm" of wall time, or auto (see samples.SampleSchedule)
    sample_count: int = 64,  # images per sample grid; 0 draws none
    ema_decay: float = 0.999,  # weight of the old average per step; 0 disables EMA
    grad_clip: float | None = None,  # max grad norm per optimizer, None = off
    amp: str = "auto",  # auto | off | bf16 | fp16; auto: bf16 on CUDA if supported else fp16; fp32 on the CPU
    channels_last: bool | str = "auto",  # auto: on for CUDA conv nets
    log_every: int = 10,  # steps between metrics records and progress events
    deterministic: bool = False,  # deterministic kernels; with them a resumed CPU run repeats the original exactly
    progress: EventSink | None = None,  # receives begin / progress / log / end events
    abort: AbortCheck | None = None,  # polled between steps; True writes a checkpoint and returns cancelled=True
    extra: dict[str, Any] | None = None,  # the backend's model_extra(config) when the caller has it; else computed
) -> TrainingSummary:
    """Train `spec`'s backend with `config` on `dataset`, writing everything into `out_dir`."""
    options = FitOptions(steps, epochs, batch_size, seed, device, resume, checkpoint_every, keep_checkpoints,
                         sample_every, sample_count, ema_decay, grad_clip, amp, channels_last, log_every,
                         deterministic)
    out_dir = Path(out_dir)
    config = spec.schema.resolve(config)
    load_trainer(spec)  # not trainable: fail before touching the folder
    if not options.resume and (list_checkpoints(out_dir) or (out_dir / CARD_FILE).exists()):
        raise UserError(f"{out_dir} already holds a training run; pass --resume to continue it, "
                        "or choose another folder")
    if options.resume and not list_checkpoints(out_dir) and (out_dir / CARD_FILE).exists():
        _refuse_to_replace(out_dir)
    for folder in (CHECKPOINTS_DIR, SAMPLES_DIR, TENSORBOARD_DIR):  # before any work: writes stay in out_dir
        real_folder(out_dir, folder, make=False)
    from genstudio.devices import resolve_device

    world = join_world(resolve_device(options.device).type)
    try:
        train_device = run_device(options.device, world)
        with determinism(options.deterministic, train_device):
            return _fit(spec, config, dataset, out_dir, options, world, train_device, progress, abort, extra)
    finally:
        leave_world(world)


def _refuse_to_replace(out_dir: Path) -> None:
    """--resume without a checkpoint to resume from, in a folder that holds a finished model: refuse."""
    raise UserError(f"{out_dir} holds a finished model and no checkpoint to resume from; --resume will not start "
                    "a new run over it: train into another folder")


def _fit(spec: BackendSpec, config: dict[str, Any], dataset: Any, out_dir: Path, options: FitOptions,
         world: World, device: Any, progress: EventSink | None, abort: AbortCheck | None,
         extra: dict[str, Any] | None) -> TrainingSummary:
    pending: list[tuple[str, str]] = []  # log lines from before the Progress exists

    def early_log(message: str, level: str = "info") -> None:
        pending.append((message, level))

    run = build_run(spec, config, dataset, out_dir, options, world, device, early_log, extra)
    if options.resume:
        state = newest_state(out_dir, early_log)
        if state is None:
            if (out_dir / CARD_FILE).exists():  # every checkpoint was damaged: never train over a finished model
                _refuse_to_replace(out_dir)
            early_log(f"no checkpoint in {out_dir / 'checkpoints'}; starting a new run")
        else:
            restore(run, state)
            early_log(f"resuming from step {run.step}")
    barrier(world)  # every rank has read the checkpoint before rank 0 writes or prunes any
    reporter = Progress(progress if world.is_main else None, f"Training {spec.id}", total=run.total_steps,
                        abort=abort if world.is_main else None, done=run.step)
    for message, level in pending:
        reporter.log(message, level)
    if world.is_main:
        for folder in discard_after(out_dir, run.step):
            reporter.log(f"removed checkpoint {folder.name}, which could not be resumed from", "warning")
    metrics = MetricsLog(out_dir, run.step) if world.is_main else None
    meter = Meter(run.ctx.optimizers)
    schedule = SampleSchedule(options.sample_every)
    cancelled = False
    try:
        _train_steps(run, reporter, metrics, meter, schedule)
    except Cancelled:
        cancelled = True
        reporter.log(f"cancelled at step {run.step}; writing a checkpoint and the model")
    finally:
        if metrics is not None:
            metrics.close()
    held_out_metrics = _finish(run, meter)
    if held_out_metrics:
        reporter.log("held-out: " + ", ".join(f"{name} {value:.6g}" for name, value in held_out_metrics.items()))
    summary = _summary(run, meter, cancelled, held_out_metrics)
    reporter.finish("cancelled" if cancelled else f"trained {run.step} steps")
    return summary


def _train_steps(run: Run, reporter: Progress, metrics: MetricsLog | None, meter: Meter,
                 schedule: SampleSchedule) -> None:
    import torch

    source = run.live_ema_source
    while run.step < run.total_steps:
        if any_rank(run.world, reporter.abort(), run.device):
            raise Cancelled(reporter.task)
        images, labels = gather_batch(run.dataset, run.order.batch(run.epoch, run.index))
        images = images.to(run.device, non_blocking=True)
        if run.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        run.ctx.step = run.step
        losses = run.task.train_step((images, labels.to(run.device, non_blocking=True)), run.ctx)
        if run.ema is not None and source is not None:
            update_ema(run.ema, source, run.options.ema_decay, step=run.step)
        run.step += 1
        run.epoch, run.index = run.order.advance(run.epoch, run.index)
        meter.add(losses, len(images) * run.world.world_size)
        _after_step(run, reporter, metrics, meter, schedule)


def _after_step(run: Run, reporter: Progress, metrics: MetricsLog | None, meter: Meter,
                schedule: SampleSchedule) -> None:
    options, step = run.options, run.step
    if step % options.log_every == 0 or step == run.total_steps:
        record = meter.record(step, run.elapsed_before)
        reporter.update(step, **{key: value for key, value in record.items() if key not in ("step", "lr")})
        if metrics is not None:
            metrics.write(record)
    if run.world.is_main and options.sample_count and schedule.due(step):
        _samples(run, meter, schedule)
    if step % options.checkpoint_every == 0 and step < run.total_steps:
        _checkpoint(run, meter)


def _samples(run: Run, meter: Meter, schedule: SampleSchedule | None = None) -> None:
    started = schedule.clock() if schedule is not None else 0.0
    module = run.ema if run.ema is not None else run.task.model_module(None)
    images = draw_samples(run.task, module, run.options.sample_count, run.options.seed, run.device)
    write_samples(run.out_dir, run.step, images)
    meter.sampled_at = run.step
    if schedule is not None:
        schedule.drawn(run.step, schedule.clock() - started)


def _checkpoint(run: Run, meter: Meter) -> None:
    """Rank 0 writes the checkpoint and drops old ones; every rank waits for it."""
    if run.world.is_main:
        write_checkpoint(run.out_dir, run.step, capture(run, run.elapsed_before + meter.seconds()))
        prune_checkpoints(run.out_dir, run.options.keep_checkpoints)
    barrier(run.world)


def _finish(run: Run, meter: Meter) -> dict[str, Any]:
    """The final checkpoint, sample grid, held-out metrics and model (also after a cancel); returns the metrics."""
    _checkpoint(run, meter)
    if not run.world.is_main:
        return {}
    if run.options.sample_count and meter.sampled_at != run.step:
        _samples(run, meter)
    module = run.task.model_module(run.ema)
    held_out_metrics = evaluate_held_out(run.task, module, run.held_out, run.options.seed, run.device)
    report = getattr(run.dataset, "report", None)
    save_model(
        run.out_dir, run.spec, run.config, module.state_dict(),
        data=report.to_dict() if hasattr(report, "to_dict") else None,
        metrics=held_out_metrics,
        extra={"class_names": list(run.data.class_names), "steps": run.step,
               **run.extra},
    )
    return held_out_metrics


def _summary(run: Run, meter: Meter, cancelled: bool, metrics: dict[str, Any] | None = None) -> TrainingSummary:
    from genstudio.devices import describe_device

    seconds = meter.seconds()
    return TrainingSummary(
        model_dir=str(run.out_dir),
        steps=run.step,
        seconds=seconds,
        images_per_second=meter.images / seconds if seconds > 0 else 0.0,
        final_losses=dict(meter.last),
        resumed_from=run.resumed_from,
        cancelled=cancelled,
        device=describe_device(run.device),
        metrics=dict(metrics or {}),
    )

