"""`genstudio plugins new NAME --kind KIND [--onnx]`: a plugin project that installs and passes its own test as written.

The project: pyproject.toml with the entry point, the plugin module (hookimpls only, light), the implementation
(a torch module of the kind, or for `--onnx` an ONNX graph shipped as package data with its sha256 declared),
`build_graph.py` for an ONNX project (it wrote the graph; run it again after changing it), a README, and
tests/test_plugin.py, which installs the project into a temporary --target folder (never the environment that
runs it) and runs `genstudio plugins list` and `genstudio backends check` on it.

The torch templates are networks with fixed, seeded weights (the same module every time genstudio builds it, so the
command line, a job and the app give the same pixels); replace them with your own, trained or loaded.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from genstudio.errors import UserError
from genstudio.hookspecs import CONTRACT_VERSION

KINDS = ("generator", "autoencoder", "stylizer", "translator")
ONNX_KINDS = ("stylizer", "translator")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class Project:
    folder: Path
    package: str  # the import name
    backend: str  # the backend id
    files: list[str]  # written, relative to folder

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "package": self.package, "backend": self.backend, "files": self.files}


def new_project(name: str, kind: str, *, onnx: bool = False, parent: str | Path = ".") -> Project:
    """Write the project `name` under `parent`; UserError for a bad name or kind, or a folder that exists."""
    if not _NAME.match(name) or len(name) > 60:
        raise UserError(f"plugin name {name!r} must be lower-case letters and digits joined by - or _ (e.g. my-style)")
    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if onnx and kind not in ONNX_KINDS:
        raise UserError(f"--onnx makes an ONNX-only backend, which is a stylizer or translator, not a {kind}")
    package = "genstudio_" + name.replace("-", "_")
    if not package.isidentifier() or keyword.iskeyword(package):
        raise UserError(f"{name!r} does not make a Python package name")
    folder = Path(parent).expanduser().resolve() / name
    if folder.exists():
        raise UserError(f"{folder} exists; pick another name or remove it")
    values = {"name": name, "package": package, "backend": name, "kind": kind, "KIND": kind.upper(),
              "contract": CONTRACT_VERSION, "title": name.replace("-", " ").replace("_", " ").title(),
              "dist": f"genstudio-{name}"}
    files = {"pyproject.toml": _PYPROJECT + (_PACKAGE_DATA if onnx else ""), "README.md": _README,
             "tests/test_plugin.py": _TEST}
    if onnx:
        files[f"{package}/__init__.py"] = _ONNX_PLUGIN
        files[f"{package}/graph.py"] = _ONNX_IMPL
        files["build_graph.py"] = _BUILD_GRAPH
    else:
        files[f"{package}/__init__.py"] = _TORCH_PLUGIN
        files[f"{package}/network.py"] = _TORCH_IMPL[kind]
    files[".gitignore"] = "build/\n*.egg-info/\n__pycache__/\n"
    folder.mkdir(parents=True)
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values, sha256="$sha256"), encoding="utf-8")
        written.append(relative)
    if onnx:
        written.append(_write_graph(folder, package))
    return Project(folder, package, name, sorted(written))


def _write_graph(folder: Path, package: str) -> str:
    """Run the project's own build step (its build_graph.py) and put the graph's sha256 into the plugin module."""
    import runpy

    build = runpy.run_path(str(folder / "build_graph.py"))
    target = folder / package / "graphs" / "model.onnx"
    digest = build["write"](target)
    assert digest == hashlib.sha256(target.read_bytes()).hexdigest()
    plugin = folder / package / "__init__.py"
    plugin.write_text(plugin.read_text(encoding="utf-8").replace("$sha256", digest), encoding="utf-8")
    return f"{package}/graphs/model.onnx"


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A genstudio plugin: the $backend $kind."
readme = "README.md"
requires-python = ">=3.10"
# genstudio brings onnxruntime (or onnxruntime-gpu): never list onnxruntime here, or pip may replace the GPU build
dependencies = ["genstudio"]

[project.entry-points.genstudio]
$name = "$package"

[tool.setuptools.packages.find]
include = ["$package*"]
"""

_PACKAGE_DATA = """
[tool.setuptools.package-data]
$package = ["graphs/*.onnx"]
"""

_README = """\
# $dist

A genstudio plugin with one backend, `$backend` ($kind), made by `genstudio plugins new`.

    genstudio plugins install .          # into genstudio's environment
    genstudio backends check $backend      # conformance: every entry point on tiny data
    python -m pytest tests               # installs into a temporary folder, then the same check

`$package/__init__.py` declares the backend (keep it light: genstudio imports it to list plugins);
the implementation is imported the first time the backend is used. See genstudio's docs/plugin-authoring.md.
"""

_TORCH_PLUGIN = '''\
"""The $name plugin: hook implementations only. genstudio imports this module to list plugins: no torch here."""

from __future__ import annotations

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, hookimpl

__version__ = "0.1.0"
GENSTUDIO_CONTRACT = "$contract"  # the plugin contract this is built for


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="$backend",
            kind=BackendKind.$KIND,
            name="$title",
            description="Describe what it does, and the paper it follows.",
            loader="$package.network:Backend",  # imported on first use
            schema=ConfigSchema([ConfigField("seed", "int", 0, "Seed of the fixed weights.", min=0, max=2**31 - 1)]),
            capabilities=Capabilities(trainable=False),
        )
    ]
'''

_SEEDED = '''\
def _seeded(config: dict[str, Any], make):
    """`make()` with torch's generator seeded from the config, the global generator left as it was: the same
    weights every time the backend is built."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config["seed"]))
        return make().eval()
'''

_TORCH_HEAD = '''\
"""The $backend backend's implementation (imported on first use, so torch is fine here)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


'''

_TORCH_IMPL = {
    "generator": _TORCH_HEAD + _SEEDED + '''

class Generator(nn.Module):
    """kind = generator: generate(z: N x latent_dim, labels=None) -> N x 3 x 32 x 32 in [0, 1]."""

    latent_dim = 16
    num_classes = 0  # unconditional

    def __init__(self):
        super().__init__()
        self.project = nn.Linear(self.latent_dim, 32 * 4 * 4)  # N x 512
        self.net = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),  # N x 16 x 8 x 8
            nn.Upsample(scale_factor=4), nn.Conv2d(16, 3, 3, padding=1), nn.Sigmoid(),  # N x 3 x 32 x 32
        )

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.project(z).view(-1, 32, 4, 4))


class Backend:
    @staticmethod
    def build(config: dict[str, Any]) -> Generator:
        return _seeded(config, Generator)
''',
    "autoencoder": _TORCH_HEAD + _SEEDED + '''

class Autoencoder(nn.Module):
    """kind = autoencoder: encode(x) -> (mean, log_variance), each N x latent_dim; decode(z) -> N x 3 x 16 x 16."""

    latent_dim = 8
    num_classes = 0

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 2 * self.latent_dim))
        self.decoder = nn.Sequential(nn.Linear(self.latent_dim, 3 * 16 * 16), nn.Sigmoid())

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encoder(x).chunk(2, dim=1)
        return mean, log_variance

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z).view(-1, 3, 16, 16)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(z, labels)  # sampling: decode draws from the prior


class Backend:
    @staticmethod
    def build(config: dict[str, Any]) -> Autoencoder:
        return _seeded(config, Autoencoder)
''',
    "stylizer": _TORCH_HEAD + _SEEDED + '''

class Stylizer(nn.Module):
    """kind = stylizer: stylize(content: 1 x 3 x H x W, style=None, *, strength, preserve_color) -> 1 x 3 x H x W."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def stylize(self, content: torch.Tensor, style: torch.Tensor | None = None, *, strength: float = 1.0,
                preserve_color: bool = False) -> torch.Tensor:
        styled = torch.sigmoid(self.net(content) + 4 * (content - 0.5))  # in [0, 1]
        return content + strength * (styled - content)


class Backend:
    @staticmethod
    def build(config: dict[str, Any]) -> Stylizer:
        return _seeded(config, Stylizer)
''',
    "translator": _TORCH_HEAD + _SEEDED + '''

class Translator(nn.Module):
    """kind = translator: translate(x: 1 x 3 x H x W, direction=None) -> 1 x 3 x H x W in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def translate(self, x: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        return torch.sigmoid(self.net(x) + 4 * (x - 0.5))


class Backend:
    @staticmethod
    def build(config: dict[str, Any]) -> Translator:
        return _seeded(config, Translator)
''',
}

_ONNX_PLUGIN = '''\
"""The $name plugin: an ONNX-only $kind. Hook implementations only; genstudio never imports torch for it."""

from __future__ import annotations

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, WeightsRef, hookimpl

__version__ = "0.1.0"
GENSTUDIO_CONTRACT = "$contract"  # the plugin contract this is built for

# The graph this package ships (build_graph.py wrote it) and its sha256, checked before every run.
GRAPH = WeightsRef("model", "model.onnx", bundled="$package:graphs/model.onnx", setting="weights.$backend",
                   sha256="$sha256")


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="$backend",
            kind=BackendKind.$KIND,
            name="$title",
            description="Describe what the network does, where it comes from and its licence.",
            loader="$package.graph:Graphs",  # light: says which graph runs
            schema=ConfigSchema([ConfigField("strength", "float", 1.0, "Blend toward the input below 1.",
                                             min=0.0, max=1.0)]),
            capabilities=Capabilities(runtime="onnx", pretrained_weights=(GRAPH,)),
        )
    ]
'''

_ONNX_IMPL = '''\
"""The $backend backend: ONNX-only. genstudio finds the graph GRAPH names and runs it with onnxruntime."""

from __future__ import annotations

from typing import Any


class Graphs:
    @staticmethod
    def onnx_graph(config: dict[str, Any]) -> str:
        """The name of the WeightsRef whose graph runs for this config."""
        return "model"
'''

_BUILD_GRAPH = '''\
"""Build step: writes $package/graphs/model.onnx. Replace `build` with your exported network (torch.onnx.export,
or the published graph); the graph takes `content` (N x 3 x H x W float32 in [0, 1]) and returns N x 3 x H x W in
[0, 1]. After changing it, put the sha256 this prints into GRAPH in $package/__init__.py."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

TARGET = Path(__file__).resolve().parent / "$package" / "graphs" / "model.onnx"


def build():
    """A fixed 1 x 1 colour transform with a sigmoid: the smallest complete image-to-image network."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = (np.eye(3) * 4 + rng.normal(0, 0.5, (3, 3))).astype(np.float32).reshape(3, 3, 1, 1)
    bias = np.full(3, -2.0, np.float32)
    nodes = [helper.make_node("Conv", ["content", "weight", "bias"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["image"])]
    graph = helper.make_graph(
        nodes, "$backend",
        [helper.make_tensor_value_info("content", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="$name")
    model.ir_version = 8  # fixed: the same bytes whatever onnx version builds it
    onnx.checker.check_model(model)
    return model


def write(target: Path = TARGET) -> str:
    data = build().SerializeToString(deterministic=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
'''

_TEST = '''\
"""Installs this plugin into a temporary folder (never the environment running the test) and runs genstudio's
conformance check on its backend: listing, loading, shapes, ranges, determinism, and the command line, job and app
entry points on tiny data. Offline: the build uses this environment's setuptools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BACKEND = "$backend"


def genstudio(*args, env, cwd):
    # cwd: not the project folder, whose build leaves an .egg-info there that would shadow the installed copy
    return subprocess.run([sys.executable, "-m", "genstudio", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def test_installs_lists_and_conforms(tmp_path):
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", str(PROJECT), "--target", str(site), "--no-deps",
                          "--no-build-isolation", "--disable-pip-version-check"], capture_output=True, text=True,
                         timeout=600)
    assert pip.returncode == 0, pip.stderr
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               GENSTUDIO_HOME=str(tmp_path / "home"), GENSTUDIO_ENTRY_POINTS_ONLY_IN=str(site))
    listed = genstudio("plugins", "list", "--json", env=env, cwd=tmp_path)
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["$name"]["status"] == "loaded", plugins["$name"]["error"]
    assert plugins["$name"]["backends"] == [BACKEND]
    check = genstudio("backends", "check", BACKEND, "--json", env=env, cwd=tmp_path)
    failed = [c for c in json.loads(check.stdout)["checks"] if c["status"] == "fail"]
    assert check.returncode == 0 and not failed, failed
'''
