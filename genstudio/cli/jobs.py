"""`genstudio jobs ...`: the persistent job queue (list, show, add, cancel, retry, reorder, pause, worker).

A thin layer over genstudio.jobs: the app calls the same JobQueue / Worker. `add` only queues; a worker
(`genstudio jobs worker`, or the app) runs the jobs. Everything printed that came from the queue (kinds, parameters,
errors, logs) goes through `shown`: text, never Rich markup or terminal escape codes.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import typer
from rich.table import Table

from genstudio.cli.output import JSON_OPTION, console, console_err, print_json, shown
from genstudio.errors import UserError

app = typer.Typer(help="The persistent job queue shared by the CLI and the app.", no_args_is_help=True)

_STATUS_STYLE = {"queued": "cyan", "running": "bold blue", "paused": "yellow", "done": "green", "failed": "bold red",
                 "cancelled": "magenta", "interrupted": "yellow"}
JOB_ID = typer.Argument(..., help="Job id, as in `genstudio jobs list`.")


def _queue():
    """The user's queue, after marking jobs of a vanished worker interrupted (every command is a start-up)."""
    from genstudio.cli.progress import ProgressBar
    from genstudio.jobs import JobQueue

    queue = JobQueue(events=ProgressBar(enabled=False))  # a damaged queue file is moved aside with a warning
    queue.recover()
    return queue


def parse_params(assignments: list[str], params_json: str | None) -> dict[str, Any]:
    """--params-json, then each --param key=value (value parsed as JSON when it is JSON, else kept as text).

    A dotted key sets a nested field (config.ngf=8); a key given twice collects its values in a list.
    """
    params: dict[str, Any] = {}
    if params_json:
        try:
            params = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise UserError(f"--params-json is not valid JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise UserError("--params-json must be a JSON object")
    seen: set[str] = set()
    for text in assignments:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param expects key=value, got {text!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, name = key.strip().split(".")
        target = params
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise UserError(f"--param {key}: {part!r} is not an object")
        if key in seen:
            previous = target[name]
            target[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            target[name] = value
        seen.add(key)
    return params


def _status(status: str) -> str:
    """A status as markup: its colour, the text itself escaped (a tampered row may hold anything)."""
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{shown(status)}[/]" if style else shown(status)


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else ""


def _percent(job) -> str:
    fraction = job.fraction
    return "" if fraction is None else f"{100 * fraction:.0f}%"


@app.command("list")
def list_jobs(
    status: list[str] = typer.Option([], "--status", "-s", help="Only jobs with this status (repeatable)."),
    kind: str | None = typer.Option(None, "--kind", help="Only jobs of this kind."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the jobs: id, kind, status, progress, created, summary."""
    queue = _queue()
    jobs = queue.list(status or None, kind)
    if as_json:
        print_json({"paused": queue.paused, "worker_pid": queue.worker_pid(), "jobs": [job.to_dict() for job in jobs]})
        return
    table = Table(title=f"jobs ({shown(queue.path)})", title_justify="left")
    for column in ("id", "kind", "status", "progress", "created", "summary"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(str(job.id), shown(job.kind), _status(job.status), _percent(job), _when(job.created_at),
                      shown(job.summary))
    console.print(table)
    if queue.paused:
        console.print("[yellow]the queue is paused[/] (`genstudio jobs resume` lets new jobs start)")
    worker_pid = queue.worker_pid()
    if worker_pid is None and any(job.status == "queued" for job in jobs):
        console.print("no worker is running: start one with `genstudio jobs worker` (or open the app)")


@app.command("show")
def show(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Show one job: parameters, progress, result, error and the tail of its log."""
    job = _queue().get(job_id)
    if as_json:
        print_json(job.to_dict())
        return
    console.print(f"job {job.id}: {shown(job.kind)} {_status(job.status)}  {shown(job.summary)}", highlight=False)
    lines = [("params", json.dumps(job.params)), ("priority", str(job.priority)), ("uses gpu", str(job.uses_gpu)),
             ("attempts", str(job.attempts)), ("created", _when(job.created_at)), ("started", _when(job.started_at)),
             ("finished", _when(job.finished_at))]
    if job.task or job.total:
        total = f"/{job.total:g}" if job.total else ""
        lines.append(("progress", f"{job.task} {job.done:g}{total} {_percent(job)}"))
    if job.stats:
        lines.append(("stats", "  ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                                         for key, value in job.stats.items())))
    if job.result is not None:
        lines.append(("result", json.dumps(job.result)))
    if job.error:
        lines.append(("error", job.error))
    if job.log_path:
        lines.append(("log", job.log_path))
    for name, value in lines:
        console.print(f"  {name:<9} {shown(value)}", highlight=False)
    if job.log_tail:
        console.print("  --- log tail ---", highlight=False)
        console.print(shown(job.log_tail), highlight=False)
    if job.status in ("interrupted", "cancelled", "failed"):
        console.print(f"  (run again with `genstudio jobs retry {job.id}`)", highlight=False)


@app.command("add")
def add(
    kind: str = typer.Argument(..., help="train, generate, plugin-install, stylize-folder, export or eval."),
    params: list[str] = typer.Option([], "--param", "-p", metavar="KEY=VALUE",
                                     help="A job parameter (repeatable); values are JSON or text; a.b=1 nests."),
    params_json: str | None = typer.Option(None, "--params-json", help="All parameters as one JSON object."),
    priority: int = typer.Option(0, "--priority", help="Higher runs first."),
    gpu: bool | None = typer.Option(None, "--gpu/--no-gpu", help="Whether it uses the GPU (default: by kind)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Queue a job; a worker (`genstudio jobs worker` or the app) runs it."""
    queue = _queue()
    job = queue.get(queue.add(kind, parse_params(params, params_json), priority=priority, uses_gpu=gpu))
    if as_json:
        print_json(job.to_dict())
    else:
        console.print(f"queued job {job.id}: {shown(job.kind)} {shown(job.summary)}", highlight=False)


def _report(job, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(job.to_dict())
    else:
        console.print(f"job {job.id} {verb} (now {shown(job.status)})", highlight=False)


@app.command("cancel")
def cancel(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Cancel a job: a waiting one at once; a running one is asked to stop, then terminated after a grace period."""
    job = _queue().cancel(job_id)
    _report(job, "cancel requested" if job.status == "running" else "cancelled", as_json)


@app.command("retry")
def retry(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Queue a failed, cancelled or interrupted job again (training continues from its last checkpoint)."""
    _report(_queue().retry(job_id), "queued again", as_json)


@app.command("resume-job")
def resume_job(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Resume an interrupted or cancelled job (the same as retry)."""
    _report(_queue().retry(job_id), "queued to resume", as_json)


@app.command("hold")
def hold(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Hold a queued job back (status paused) until `release`."""
    _report(_queue().hold(job_id), "held", as_json)


@app.command("release")
def release(job_id: int = JOB_ID, as_json: bool = JSON_OPTION) -> None:
    """Let a held job run again."""
    _report(_queue().release(job_id), "released", as_json)


@app.command("move")
def move(
    job_id: int = JOB_ID,
    to: int | None = typer.Option(None, "--to", min=1, help="New place among waiting jobs (1 = next to run)."),
    priority: int | None = typer.Option(None, "--priority", help="New priority (higher runs first)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Reorder a waiting job."""
    if to is None and priority is None:
        raise UserError("give --to N and/or --priority P")
    _report(_queue().move(job_id, to, priority=priority), "moved", as_json)


@app.command("remove")
def remove(job_id: int = JOB_ID) -> None:
    """Delete a job that is not running from the queue."""
    _queue().remove(job_id)
    console.print(f"job {job_id} removed", highlight=False)


@app.command("clear")
def clear() -> None:
    """Delete every finished job (done, failed, cancelled, interrupted)."""
    console.print(f"removed {_queue().clear_finished()} finished job(s)", highlight=False)


@app.command("pause")
def pause() -> None:
    """Pause the queue: running jobs finish, no new job starts (persisted)."""
    _queue().pause()
    console.print("queue paused")


@app.command("resume")
def resume() -> None:
    """Resume the queue after `pause`."""
    _queue().resume()
    console.print("queue resumed")


@app.command("kinds")
def kinds(as_json: bool = JSON_OPTION) -> None:
    """List the job kinds: whether they have a runner yet, and the parameters they need."""
    from genstudio.jobs import runner_specs

    specs = runner_specs()
    if as_json:
        print_json({"kinds": [{"kind": spec.kind, "runner": spec.target, "required": list(spec.required),
                               "uses_gpu": spec.uses_gpu, "resumable": spec.resumable,
                               "description": spec.description} for spec in specs]})
        return
    table = Table(title="job kinds", title_justify="left")
    for column in ("kind", "runs", "needs", "description"):
        table.add_column(column)
    for spec in specs:
        table.add_row(shown(spec.kind), "yes" if spec.target else "[yellow]not yet[/]",
                      shown(", ".join(spec.required)), shown(spec.description))
    console.print(table)


@app.command("worker")
def worker(
    once: bool = typer.Option(False, "--once", help="Exit when no job is queued or running, instead of waiting."),
    poll: float = typer.Option(1.0, "--poll", min=0.05, help="Seconds between looks at an idle queue."),
    max_jobs: int = typer.Option(1, "--max-jobs", min=1, help="Jobs running at once."),
    max_gpu_jobs: int = typer.Option(1, "--max-gpu-jobs", min=0, help="Of which at most this many use the GPU."),
    grace: float = typer.Option(10.0, "--grace", min=0.0, help="Seconds a cancelled job gets before termination."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run queued jobs, each in its own process. Ctrl-C stops; running jobs become interrupted (retry resumes)."""
    from genstudio.jobs import Worker

    def on_job(job) -> None:
        if as_json:
            return
        detail = f": {shown(job.error)}" if job.error else ""
        console_err.print(f"job {job.id} ({shown(job.kind)}) {_status(job.status)}{detail}", highlight=False)

    runner = Worker(_queue(), max_jobs=max_jobs, max_gpu_jobs=max_gpu_jobs, poll_interval=poll, grace=grace,
                    on_job=on_job)

    def request_stop(signum, frame) -> None:
        if runner.stopping:
            raise KeyboardInterrupt
        console_err.print("stopping: running jobs will be interrupted (Ctrl-C again to kill them)")
        runner.stop(wait=False)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        finished = runner.run(once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        print_json({"recovered": runner.recovered, "jobs": [job.to_dict() for job in finished]})
    elif runner.recovered:
        console_err.print(f"marked interrupted (their worker had gone): {runner.recovered}")
    if any(job.status == "failed" for job in finished):
        raise typer.Exit(1)
