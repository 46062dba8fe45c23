"""Tiny plugins written into temporary folders, so tests exercise the real discovery paths.

`write_toy_backend(folder)` writes `toy_impl.py`, a weight-bearing generator backend small enough for tests.
`write_plugin(folder, name, body)` writes a plugin-folder module.
`shade_classes(root, count)` writes a tiny two-class image folder ("dark" and "light" grey squares).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

TOY_IMPL = '''
import torch
from torch import nn


class ToyGenerator(nn.Module):
    """z (N x latent) -> N x 1 x 4 x 4 images through one linear layer."""

    def __init__(self, latent_dim, hidden):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = 0
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 16))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def generate(self, z, labels=None):
        return torch.sigmoid(self.net(z)).view(-1, 1, 4, 4)


class NotAGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))


class ToyBackend:
    @staticmethod
    def build(config):
        if config.get("broken_kind"):
            return NotAGenerator()
        return ToyGenerator(config["latent_dim"], config["hidden"])

    @staticmethod
    def create_training(config, data, device):  # declared trainable: the contract asks for this method
        from genstudio.errors import UserError

        raise UserError("the toy backend is listed as trainable but has no training recipe")
'''

TOY_PLUGIN = '''
from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, hookimpl

__version__ = "1.2.3"


@hookimpl
def register_backends():
    schema = ConfigSchema([
        ConfigField("latent_dim", "int", 3, "Noise length.", min=1, max=64),
        ConfigField("hidden", "int", 8, "Hidden units.", min=1, max=64),
        ConfigField("broken_kind", "bool", False, "Build a module that breaks the generator contract."),
    ])
    return [BackendSpec("toy", BackendKind.GENERATOR, "Toy", "A test generator.", "toy_impl:ToyBackend", schema,
                        Capabilities(trainable=True))]


@hookimpl
def upgrade_model_config(backend, plugin_version, config):
    if backend == "toy" and "width" in config:  # old name of "hidden"
        config["hidden"] = config.pop("width")
        return config
    return None
'''


def write_toy_backend(code_dir: Path, plugin_dir: Path) -> None:
    """The toy implementation on an import path, and its plugin module in the plugin folder."""
    code_dir.mkdir(parents=True, exist_ok=True)
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "toy_impl.py").write_text(TOY_IMPL)
    (plugin_dir / "toyplugin.py").write_text(TOY_PLUGIN)


def write_plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def shade_classes(root: Path, count: int = 12) -> Path:
    """`count` 16 x 16 grey PNGs in class folders dark/ and light/, each a different shade; returns `root`."""
    from PIL import Image

    for label in ("dark", "light"):
        (root / label).mkdir(parents=True)
        for index in range(count // 2):
            shade = 40 + index * 5 if label == "dark" else 200 - index * 5
            Image.new("L", (16, 16), shade).save(root / label / f"{index}.png")
    return root


def train_killed_at(step: int, setup: str, call: str, timeout: float = 120):
    """Run `setup` then `call` in a fresh process whose training is killed outright (SIGKILL: nothing written on
    the way out) when the progress event of training step `step` arrives; `call` passes `progress=kill`.
    Returns the CompletedProcess (returncode -SIGKILL when the kill happened)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(setup) + textwrap.dedent(f"""
        import os as _os, signal as _signal

        def kill(event):
            if event.kind == "progress" and event.task.startswith("Training") and event.done == {step}:
                _os.kill(_os.getpid(), _signal.SIGKILL)
    """) + textwrap.dedent(call)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
