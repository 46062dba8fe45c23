"""`genstudio backends check ID`: a backend through every operation and entry point it declares, on tiny data.

The conformance run a plugin author does before publishing. Each check passes, fails with one line saying what is
wrong, or is skipped with the reason; nothing stops at the first failure (a failed load skips what needs it).

  load         the loader imports, and the object it names has what the declared capabilities promise
  build        (torch) build(config) gives the kind's contract; (ONNX-only) the graph is found, its sha256 checked
  shapes       the network's output on tiny inputs: N x C x H x W, C in 1, 3 or 4 (a tile-safe image-to-image
               network keeps H x W, a restorer keeps it for every task it can be asked for); an autoencoder's
               encode gives N x latent_dim twice
  range        every value finite and within [0, 1] (a network in [-1, 1] or 0..255 fails here)
  determinism  the same inputs twice give the same output
  hole         (restorers that inpaint) the pixels outside the mask come back unchanged, and the hole does not
  batch        (generators, ONNX graphs) an image computed alone equals it computed in a batch
  cli          `genstudio generate|stylize|translate|restore` writes the images, with provenance naming the
               backend (a restorer with its first task, and a mask when that is inpaint)
  job          the job runner writes the same pixels and records (time aside)
  app          the app's action (genstudio.gui.sampling, Qt-free) gives the same pixels and records
  pipeline     (image kinds) the pixels the command line writes are the network's own output for that image
  reproduce    `genstudio reproduce` remakes the command line's image with identical pixels
  onnx parity  (exportable) `genstudio export` passes its parity check, and the ONNX runtime's images are within
               2/255 of the torch runtime's

A trainable backend is checked on an untrained model folder (its initial weights, saved as `genstudio train`
would): shapes, ranges and the entry points do not need trained weights. Everything runs on the CPU, in a temporary
folder. `--set key=value` makes the config small where the defaults are large.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genstudio.conformance.common import Check, CheckReport, Fail, Skip
from genstudio.conformance.network import network_checks
from genstudio.conformance.paths import path_checks
from genstudio.errors import PluginError, UserError, one_line

__all__ = ["Check", "CheckReport", "check_backend"]


def check_backend(target: str, *, assignments: list[str] | tuple[str, ...] = (),
                  progress: Callable[[Check], None] | None = None) -> CheckReport:
    """Run every check for `target` (a backend id, or a model folder) and return the report; `progress` gets each
    check as it finishes. UserError when the target itself cannot be found."""
    from genstudio.backends import IMAGE_KINDS, BackendKind
    from genstudio.models import is_folder_target, resolve_target

    if is_folder_target(target):
        resolved = resolve_target(target, tuple(BackendKind), "a backend")
    else:
        resolved = _backend_target(target, assignments)
    spec = resolved.spec
    report = CheckReport(spec.id, spec.plugin, spec.kind.value)
    state: dict[str, Any] = {"target": resolved, "assignments": list(assignments)}

    def run(name: str, function: Callable[[], str], needs: tuple[str, ...] = ()) -> None:
        missing = [need for need in needs if need not in state]
        started = time.perf_counter()
        if missing:
            check = Check(name, "skip", f"needs {', '.join(missing)}, which failed")
        else:
            try:
                check = Check(name, "pass", function() or "")
            except Skip as exc:
                check = Check(name, "skip", str(exc))
            except (Fail, PluginError, UserError) as exc:
                check = Check(name, "fail", " ".join(str(exc).split()))
            except Exception as exc:  # the plugin's own code raised: this check fails, the run goes on
                check = Check(name, "fail", f"plugin {spec.plugin} (backend {spec.id}) raised {one_line(exc)}")
        check.seconds = round(time.perf_counter() - started, 2)
        report.checks.append(check)
        if progress is not None:
            progress(check)

    with tempfile.TemporaryDirectory(prefix="genstudio-check-") as work, _torch_state_kept(), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer notes are not the plugin's failures
        state["work"] = Path(work)
        image_kind = spec.kind in (*IMAGE_KINDS, BackendKind.RESTORER)  # one image in, one out
        network_checks(run, state, image_kind=image_kind)
        path_checks(run, state, image_kind=image_kind)
    return report


def _backend_target(backend: str, assignments: list[str] | tuple[str, ...]) -> Any:
    """A backend id as a Target, trainable or not (a trainable one is checked on an untrained model folder)."""
    from genstudio.models import Target
    from genstudio.plugins import get_registry

    spec = get_registry().backend(backend)
    settings = spec.schema.resolve(spec.schema.parse_assignments(list(assignments)))
    return Target(spec, None, None, settings)


@contextlib.contextmanager
def _torch_state_kept():
    """torch's global RNG state (when torch is loaded) put back after the run: the checks seed it."""
    torch = sys.modules.get("torch")
    state = torch.random.get_rng_state() if torch is not None else None
    try:
        yield
    finally:
        torch = sys.modules.get("torch")
        if torch is not None and state is not None:
            torch.random.set_rng_state(state)
