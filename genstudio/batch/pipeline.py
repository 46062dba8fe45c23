"""The folder batch: decode in threads, run the network batched by image size (tiled when large), encode in
threads; a journal and per-file provenance make a rerun skip everything already done.

Guarantees:
- a bad input costs that input: it is listed with its reason and the batch goes on (exit code 1 at the end);
- so does an error from the processor: a `UserError` keeps its line, running out of memory costs that file (a
  batch of several is retried one image at a time first), and any other exception is the plugin's bug, listed
  as "plugin X (backend Y) failed: Type: message" with its traceback in the entry (printed under --debug);
  `Cancelled` and Ctrl-C still stop the batch;
- a killed run leaves no half-written file (atomic writes) and a rerun redoes nothing that finished: the journal
  (`.genstudio-batch.jsonl` in --out, one line per finished file) says what is done, and an output whose stored
  provenance matches the planned one is up to date even without the journal;
- nothing is written outside --out (see `genstudio.batch.inputs`).

The pipeline is numpy and Pillow only: a processor takes and returns arrays, so a run on onnxruntime never
imports torch. A torch processor converts at its own edge (`genstudio.batch.torch_edge.on_tensors`); a torch
tensor it returns anyway is converted here, without importing torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.batch.inputs import Item, output_path
from genstudio.batch.tiles import as_array, run_tiled
from genstudio.batch.writer import up_to_date, write_result
from genstudio.data import BadFile, open_image
from genstudio.errors import Cancelled, ImageDecodeError, PluginError, UserError
from genstudio.events import LAST_OUTPUT, PREVIEW, AbortCheck, Event, EventSink, Progress
from genstudio.fileio import atomic_write_json, open_append, real_folder, sha256_file
from genstudio.provenance import now_iso, without_time

JOURNAL = ".genstudio-batch.jsonl"


@dataclass
class Processor:
    """What the batch runs: a network over N x 3 x H x W float32 arrays in [0, 1] and the provenance of its
    outputs. `run` returns N x C x H' x W' (values outside [0, 1] are clipped); a numpy array, or anything
    `as_array` takes (a torch tensor)."""

    name: str  # for progress: "Stylizing with fast-style"
    run: Callable[[np.ndarray], Any]  # N x 3 x H x W float32 -> N x C x H' x W' in [0, 1]
    record: Callable[[Item, str], dict[str, Any]]  # (item, input sha256) -> provenance without time
    max_batch: int = 8  # images of equal size run together up to this many
    tileable: bool = True  # fully convolutional and size-preserving: large inputs may be tiled
    owner: tuple[str, str] = ("", "")  # (plugin name, backend id) whose code `run` is: named when it fails
    # per-input planes appended to the decoded image's channels (a restorer's mask): (item, (height, width)) ->
    # H x W x k uint8, so `run` (and each tile) gets N x (3 + k) x H x W; a UserError costs that input
    planes: Callable[[Item, tuple[int, int]], np.ndarray] | None = None
    scale: int = 1  # the output is this many times the input along each side (an upscaler); tiles too
    inner: InnerProgress | None = None  # where `run` reports its own steps (an optimisation): folded into the batch's


class InnerProgress:
    """An event sink for a processor that reports its own steps (Gatys' optimisation): each of its progress events
    becomes the batch's progress at (images before this group + the group's fraction done), with its numbers and
    preview; its begin/end events are dropped and its logs passed on. Before `attach`, events are dropped."""

    SHOWN = ("loss", "size", PREVIEW)

    def __init__(self) -> None:
        self.reporter: Progress | None = None
        self.base, self.span = 0.0, 1

    def attach(self, reporter: Progress) -> None:
        self.reporter = reporter

    def start(self, images: int) -> None:
        """A group of `images` images starts now."""
        if self.reporter is not None:
            self.base, self.span = self.reporter.done, images

    def __call__(self, event: Event) -> None:
        if self.reporter is None:
            return
        if event.kind == "log":
            self.reporter.log(event.message, event.level)
        elif event.kind == "progress" and event.total:
            fraction = max(0.0, min(1.0, event.done / event.total))
            stats = {key: value for key, value in event.stats.items() if key in self.SHOWN}
            self.reporter.update(self.base + self.span * fraction, **stats)


@dataclass
class BatchSummary:
    out: str
    total: int = 0  # inputs considered
    written: int = 0
    up_to_date: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"[, "traceback"]}
    passed_over: list[dict[str, str]] = field(default_factory=list)  # not images / unsafe links
    seconds: float = 0.0
    images_per_second: float = 0.0
    cancelled: bool = False
    report: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.passed_over else 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code}


@dataclass
class _Prepared:
    item: Item
    target: Path
    record: dict[str, Any]
    key: str
    pixels: np.ndarray | None = None  # H x W x 3 uint8; None when skipped or failed
    skip: bool = False
    error: str | None = None


def record_key(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(without_time(record), sort_keys=True).encode()).hexdigest()  # ASCII-escaped


class Journal:
    """Append-only record of finished outputs; thread-safe; tolerant of a torn last line."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / JOURNAL
        self.done: dict[str, tuple[str, int]] = {}  # output relative path -> (record key, size)
        self._lock = threading.Lock()
        if not self.path.is_symlink() and self.path.is_dir():
            raise UserError(f"{self.path} is a folder; genstudio keeps its batch journal under that name: move it")
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            # never read or append through a link (or into a FIFO): drop it, outputs are rechecked by provenance
            self.path.unlink()
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["output"]] = (entry["key"], int(entry["size"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill

    def finished(self, relative: str, key: str, target: Path) -> bool:
        entry = self.done.get(relative)
        return bool(entry and entry[0] == key and target.is_file() and target.stat().st_size == entry[1])

    def add(self, relative: str, key: str, target: Path) -> None:
        line = json.dumps({"output": relative, "key": key, "size": target.stat().st_size}) + "\n"
        with self._lock, open_append(self.path) as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def _fit(image, max_size: int | None):
    from PIL import Image

    if max_size and max(image.size) > max_size:
        scale = max_size / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def run_batch(
    items: list[Item],
    processor: Processor,
    out_dir: str | os.PathLike[str],
    *,
    passed_over: list[BadFile] = (),  # inputs already rejected while collecting (reported, exit code 1)
    fmt: str = "png",  # png | jpg | webp
    quality: int = 92,  # jpg / webp quality
    overwrite: bool = False,  # redo outputs that are up to date
    max_size: int | None = None,  # downscale inputs whose longer side exceeds this
    tile: int | None = None,  # process images larger than this in tiles of this size
    overlap: int = 32,  # tile overlap in pixels
    workers: int = 2,  # decoding / encoding threads
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
    report_file: str | os.PathLike[str] | None = None,
) -> BatchSummary:
    out = real_folder(Path(out_dir).expanduser().resolve())  # one line when it is a file or cannot be made
    if tile is not None and tile < 64:
        raise UserError(f"--tile must be at least 64 pixels, got {tile}")
    if tile is not None and not 0 <= overlap < tile // 2:
        raise UserError(f"--overlap must be between 0 and half the tile ({tile // 2}), got {overlap}")
    if not 1 <= quality <= 100:
        raise UserError(f"--quality must be between 1 and 100, got {quality}")
    journal = Journal(out)
    settings = {"max_size": max_size, "tile": tile, "overlap": overlap if tile is not None else None, "format": fmt,
                "quality": quality if fmt != "png" else None}
    summary = BatchSummary(str(out), total=len(items), passed_over=[asdict(b) for b in passed_over])
    reporter = Progress(progress, processor.name, total=len(items), abort=abort)
    if processor.inner is not None:
        processor.inner.attach(reporter)
    started, computed = time.perf_counter(), 0

    def prepare(item: Item) -> _Prepared:
        try:
            target = output_path(out, item, fmt)
        except UserError as exc:  # e.g. a linked output subfolder: costs this file
            return _Prepared(item, out / item.relative, {}, "", error=str(exc))
        relative = str(target.relative_to(out))
        try:
            digest = sha256_file(item.source)
        except OSError as exc:
            return _Prepared(item, target, {}, "", error=f"cannot read: {exc.strerror or exc}")
        record = processor.record(item, digest)
        record["input"] = str(item.source)  # for `genstudio reproduce`; not part of the up-to-date key
        record["batch"] = settings  # what besides the network decides the pixels (and the file's bytes)
        record["time"] = now_iso()
        key = record_key(record)
        prepared = _Prepared(item, target, record, key)
        if not overwrite and (journal.finished(relative, key, target) or up_to_date(target, record, fmt)):
            prepared.skip = True
            return prepared
        try:
            image = _fit(open_image(item.source, "RGB"), max_size)
            if image.width == 0 or image.height == 0:
                raise ImageDecodeError(f"{item.source}: zero-size image")
            prepared.pixels = np.asarray(image, dtype=np.uint8)
            if processor.planes is not None:
                planes = processor.planes(item, prepared.pixels.shape[:2])
                prepared.pixels = np.concatenate([prepared.pixels, planes], axis=2)
        except ImageDecodeError as exc:
            prepared.error = str(exc).split(": ", 1)[-1] if str(exc).startswith(str(item.source)) else str(exc)
        except UserError as exc:  # the input's own planes (a missing or mismatched mask)
            prepared.pixels, prepared.error = None, str(exc)
        except MemoryError:
            prepared.error = "not enough memory to decode"
        return prepared

    def finish(prepared: _Prepared, result: np.ndarray) -> None:
        write_result(prepared.target, result, prepared.record, fmt, quality)
        journal.add(str(prepared.target.relative_to(out)), prepared.key, prepared.target)

    def fail(prepared: _Prepared, reason: str, traceback: str | None = None) -> None:
        entry = {"path": str(prepared.item.source), "reason": reason}
        if traceback is not None:  # a plugin's bug: its traceback goes in the report (and on stderr with --debug)
            entry["traceback"] = traceback
        summary.failed.append(entry)

    decode_pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="decode")
    encode_pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="encode")
    window = max(2, workers * 2 + processor.max_batch)  # decoded / encoding images held at once: bounded memory
    writes: deque[tuple[_Prepared, Future]] = deque()

    def collect_writes(keep: int) -> None:
        """Wait for finished writes (all but `keep` outstanding) and count them."""
        while len(writes) > keep or (writes and writes[0][1].done()):
            prepared, future = writes.popleft()
            try:
                future.result()
                summary.written += 1
                reporter.stats[LAST_OUTPUT] = str(prepared.target)  # the app shows it with the next update
            except OSError as exc:
                fail(prepared, f"cannot write {prepared.target}: {exc.strerror or exc}")
            except UserError as exc:  # a write refused (a link put in the way while running)
                fail(prepared, str(exc))

    def submit(prepared: _Prepared, result: np.ndarray) -> None:
        prepared.pixels = None
        writes.append((prepared, encode_pool.submit(finish, prepared, result)))
        collect_writes(keep=window)

    def flush(group: list[_Prepared]) -> None:
        nonlocal computed
        if group:
            base = reporter.done
            if processor.inner is not None:
                processor.inner.start(len(group))
            computed += _run_group(group, processor, submit, fail)
            reporter.update(base + len(group), **_speed(computed, started))
            group.clear()

    group: list[_Prepared] = []
    try:
        for ready in _in_order(items, prepare, decode_pool, window):
            reporter.check_abort()
            if ready.error is not None or ready.skip:
                if ready.error is not None:
                    fail(ready, ready.error)
                else:
                    summary.up_to_date += 1
                reporter.update(advance=1)
                continue
            if tile is not None and processor.tileable and max(ready.pixels.shape[:2]) > tile:
                flush(group)
                if processor.inner is not None:
                    processor.inner.start(1)
                base = reporter.done
                try:
                    result = run_tiled(ready.pixels, processor.run, tile, overlap, abort, scale=processor.scale)
                except Cancelled:
                    raise
                except Exception as exc:  # whatever the plugin raises costs this file only
                    fail(ready, *_failure(exc, processor))
                else:
                    submit(ready, result)
                    computed += 1
                reporter.update(base + 1, **_speed(computed, started))
                continue
            if group and (ready.pixels.shape != group[0].pixels.shape or len(group) >= processor.max_batch):
                flush(group)
            group.append(ready)
        flush(group)
    except BaseException as exc:
        summary.cancelled = isinstance(exc, (Cancelled, KeyboardInterrupt))
        if not summary.cancelled:
            raise
    finally:
        decode_pool.shutdown(wait=True, cancel_futures=True)
        collect_writes(keep=0)  # what was computed is written, even when cancelled
        encode_pool.shutdown(wait=True)
    if LAST_OUTPUT in reporter.stats:
        reporter.update(**_speed(computed, started))  # the last output written after the last update
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.images_per_second = _rate(computed, started)
    if report_file is not None:
        summary.report = str(report_file)
        atomic_write_json(report_file, summary.to_dict())
    reporter.finish(f"{summary.written} written, {summary.up_to_date} up to date, {len(summary.failed)} failed")
    return summary


def _rate(count: int, started: float) -> float:
    """Images per second, to 3 significant figures (a slow optimisation's 0.0019 is not 0)."""
    elapsed = time.perf_counter() - started
    return float(f"{count / elapsed:.3g}") if elapsed > 0 else 0.0


def _speed(count: int, started: float) -> dict[str, float]:
    """images_per_s, and s_per_image when images take longer than a second each; {} before the first image."""
    if not count:
        return {}
    rate = _rate(count, started)
    return {"images_per_s": rate, **({"s_per_image": float(f"{1 / rate:.3g}")} if 0 < rate < 1 else {})}


def _in_order(items: list[Item], prepare, pool: ThreadPoolExecutor, window: int):
    """`prepare(item)` for each item, run ahead in `pool` at most `window` items, yielded in input order."""
    pending: deque[Future] = deque()
    queue = iter(items)
    try:
        for item in queue:
            pending.append(pool.submit(prepare, item))
            if len(pending) >= window:
                break
        while pending:
            ready = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(prepare, following))
            yield ready
    finally:
        for future in pending:
            future.cancel()


def _run_group(group: list[_Prepared], processor: Processor, submit, fail) -> int:
    """Run equal-size images as one batch; hand each result to the encoder pool. Returns images computed."""
    stacked = np.stack([p.pixels for p in group])  # N x H x W x 3 uint8
    # one pass to N x 3 x H x W float32 in [0, 1] (a division, so the same values as torch's .float() / 255)
    n, h, w, c = stacked.shape
    batch = np.empty((n, c, h, w), dtype=np.float32)
    np.divide(stacked.transpose(0, 3, 1, 2), np.float32(255), out=batch)
    failed = False
    try:
        pixels = to_pixels(as_array(processor.run(batch)))
        if len(pixels) != len(group):
            raise ValueError(f"returned {len(pixels)} images for a batch of {len(group)}")
    except Cancelled:
        raise
    except Exception as exc:  # whatever the plugin raises costs its files, not the batch
        failed = True
        if len(group) == 1:
            fail(group[0], *_failure(exc, processor))
    if failed:  # here the exception, and the frames its traceback held on to, are gone
        del batch, stacked
        _release_cuda_cache()  # after an out-of-memory error the next attempt needs what the cache holds
        # one bad image (or a batch too large for memory) should not sink its batch-mates: retry one by one
        return sum(_run_group([p], processor, submit, fail) for p in group) if len(group) > 1 else 0
    for prepared, result in zip(group, pixels, strict=True):
        submit(prepared, result)
    return len(group)


def to_pixels(images: np.ndarray) -> np.ndarray:
    """N x C x H x W float in [0, 1] -> N x H x W x C uint8: clipped, scaled and rounded half to even in float32,
    the same steps (and so the same pixels) as torch's clamp_(0, 1).mul_(255).round_()."""
    if images.ndim != 4:
        raise ValueError(f"returned an array of shape {images.shape}, not N x C x H x W")
    values = np.clip(images, 0, 1, dtype=np.float32)
    np.multiply(values, np.float32(255), out=values)
    np.rint(values, out=values)
    return np.ascontiguousarray(values.astype(np.uint8).transpose(0, 2, 3, 1))


def out_of_memory(exc: BaseException) -> bool:
    """MemoryError, torch.cuda.OutOfMemoryError, or a RuntimeError saying "out of memory" (MPS, older CUDA,
    onnxruntime's allocators). torch is consulted only when something already imported it."""
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    cuda_oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if cuda_oom is not None and isinstance(exc, cuda_oom):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _release_cuda_cache() -> None:
    """Hand cached blocks back after an out-of-memory error, so the next (smaller) attempt can have them. Only
    where torch already runs: an onnxruntime batch never imports it."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        with contextlib.suppress(RuntimeError):  # a broken CUDA context: the next attempt reports it
            torch.cuda.empty_cache()


def _failure(exc: Exception, processor: Processor) -> tuple[str, str | None]:
    """(reason, traceback or None) for an exception from the processor's run function."""
    if isinstance(exc, UserError):
        return str(exc), None  # its own clear line
    if out_of_memory(exc):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = f": {lines[0]}" if lines else ""
        return f"out of memory (try --tile or --max-size){detail}", None
    error = PluginError.from_exception(exc, *processor.owner)
    return str(error), error.traceback
