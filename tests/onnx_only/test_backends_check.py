"""`genstudio backends check`: deliberately broken plugins fail with a clear line naming what is wrong (an output
range of [-1, 1], a non-deterministic network, PIL's H x W x C layout instead of tensors' C x H x W); a correct
ONNX-only backend conforms. The broken plugins live in the user plugin folder, so every process the check starts
(the command line's) finds them too."""

from __future__ import annotations

import json

import pytest

BROKEN = '''
"""Three stylizers, each with one bug a plugin author can make."""
from genstudio import BackendKind, BackendSpec, hookimpl


def _module(transform):
    import torch

    class Net(torch.nn.Module):
        def stylize(self, content, style=None, *, strength=1.0, preserve_color=False):
            return transform(torch, content)

    return Net()


class Range:  # outputs in [-1, 1], as a tanh generator does before rescaling
    @staticmethod
    def build(config):
        return _module(lambda torch, x: x * 2 - 1)


class Noise:  # a different image every call: noise from the global generator
    @staticmethod
    def build(config):
        return _module(lambda torch, x: (x + 0.2 * torch.rand_like(x)).clamp(0, 1))


class Layout:  # H x W x C, as a PIL image is laid out, not the tensor's C x H x W
    @staticmethod
    def build(config):
        return _module(lambda torch, x: x.permute(0, 2, 3, 1))


@hookimpl
def register_backends():
    return [BackendSpec(id=f"broken-{name.lower()}", kind=BackendKind.STYLIZER, name=name, description="Broken.",
                        loader=f"genstudio_user_plugins.broken:{name}") for name in ("Range", "Noise", "Layout")]
'''


@pytest.fixture
def broken(isolated_home):
    folder = isolated_home / "data" / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.py").write_text(BROKEN)


def checks(result) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


@pytest.mark.parametrize("backend, failing, line", [
    ("broken-range", "range", "output spans -1 .. 1; images must be in [0, 1] (not [-1, 1] or 0..255)"),
    ("broken-noise", "determinism", "the same inputs twice: outputs differ by up to"),
    ("broken-layout", "shapes", "output has shape (1, 24, 32, 3), expected 1 x C x H x W with C 1, 3 or 4 "
                                "(channels first, as tensors are; not H x W x C as PIL images are)"),
])
def test_a_broken_plugin_fails_with_a_clear_line(run_cli, broken, backend, failing, line):
    result = run_cli("backends", "check", backend, "--json", timeout=300)
    assert result.returncode == 1, result.stderr
    found = checks(result)
    assert found[failing]["status"] == "fail" and line in found[failing]["detail"], found[failing]
    assert found["load"]["status"] == "pass" and found["build"]["status"] == "pass"


def test_the_table_names_the_failing_check(run_cli, broken):
    text = run_cli("backends", "check", "broken-layout", timeout=300)
    assert text.returncode == 1
    lines = [" ".join(line.split()) for line in text.stdout.splitlines()]
    assert any(line.startswith("fail shapes") and "not H x W x C as PIL images are" in line for line in lines)
    assert lines[-1].startswith("broken-layout (plugin broken, stylizer):") and "check(s) failed" in lines[-1]


@pytest.mark.parametrize("backend", ["tinystyle", "plasma-onnx"])  # a stylizer and a generator
def test_a_correct_onnx_only_backend_conforms(genstudio, backend):
    result = genstudio("backends", "check", backend, "--json")
    assert (result.code, result.torch) == (0, False), result.stdout  # the whole check needs no torch here
    found = checks(result)
    assert {name for name, check in found.items() if check["status"] == "pass"} == {
        "load", "build", "shapes", "range", "determinism", "batch", "cli", "job", "app", "reproduce"}
    assert found["onnx parity"]["status"] == "skip" and found["pipeline"]["status"] == "skip"
