"""The contract for ONNX-only backends, choice inputs, pretrained files and contract versions, in process: what a
plugin may declare, what is refused at registration, and what a broken declaration costs (one line, its plugin)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genstudio import (
    BackendKind,
    BackendSpec,
    Capabilities,
    ConfigField,
    ConfigSchema,
    InputKind,
    InputSpec,
    WeightsRef,
    hookimpl,
)
from genstudio.errors import ModelFileError, PluginError, UserError
from genstudio.inputs import choice_feed, choose, resolve_inputs

HERE = __name__  # this module, as the toy backends' loaders name it
STYLES = ("ember", "glacier", "moss", "dusk")


class ToyGraphs:
    """The loader object of an ONNX-only backend: says which graph runs."""

    @staticmethod
    def onnx_graph(config):
        return config.get("graph", "net")


class NoGraphMethod:
    pass


class ToyPlugin:
    def __init__(self, *specs, contract="1.1"):
        self.specs, self.GENSTUDIO_CONTRACT = list(specs), contract

    @hookimpl
    def register_backends(self):
        return self.specs


def toy_spec(ref: WeightsRef, *, inputs=None, loader=f"{HERE}:ToyGraphs", schema=None, **caps) -> BackendSpec:
    return BackendSpec(id="toystyle", kind=BackendKind.STYLIZER, name="Toy", description="A toy graph.",
                       loader=loader, schema=schema or ConfigSchema([]),
                       capabilities=Capabilities(runtime="onnx", pretrained_weights=(ref,), **caps),
                       inputs=(InputSpec(InputKind.CHOICE, name="style", choices=STYLES, blend=True),)
                       if inputs is None else inputs)


@pytest.fixture
def graph(tmp_path):
    """The example's tinystyle graph, written by its build step: (path, sha256)."""
    import build_graphs

    path = tmp_path / "graphs" / "tinystyle.onnx"
    return path, build_graphs.write(path)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(path)
    return path


def test_the_build_step_writes_the_bytes_the_plugin_declares(graph):
    import genstudio_example

    assert graph[1] == genstudio_example.TINYSTYLE_GRAPH.sha256  # deterministic: rebuilding changes nothing


# -- declarations ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caps, message", [
    ({"trainable": True}, "cannot declare trainable"),
    ({"postprocesses": True, "reports_progress": True}, "cannot declare postprocesses, reports_progress"),
    ({"truncation": "own"}, "truncation='own'"),
    ({"pretrained_weights": ()}, "must name its graph files"),
    ({"runtime": "tensorflow"}, "runtime must be one of torch, onnx"),
])
def test_an_onnx_only_backend_declares_no_torch_capability(caps, message):
    with pytest.raises(ValueError, match=message):
        Capabilities(**{"runtime": "onnx", "pretrained_weights": (WeightsRef("g", "g.onnx"),), **caps})


def test_an_onnx_only_backend_is_an_image_kind_or_an_unconditional_generator():
    graph = Capabilities(runtime="onnx", pretrained_weights=(WeightsRef("g", "g.onnx"),))
    with pytest.raises(ValueError, match="must be a stylizer, translator or generator, not a autoencoder"):
        BackendSpec(id="g", kind=BackendKind.AUTOENCODER, name="G", description="", loader="a.b:C",
                    capabilities=graph)
    with pytest.raises(ValueError, match="an ONNX-only generator takes z alone"):
        BackendSpec(id="g", kind=BackendKind.GENERATOR, name="G", description="", loader="a.b:C",
                    capabilities=graph, inputs=(InputSpec(InputKind.LABEL, required=False),))
    spec = BackendSpec(id="g", kind=BackendKind.GENERATOR, name="G", description="", loader="a.b:C",
                       capabilities=graph)  # contract 1.2
    assert spec.capabilities.runtime == "onnx"


@pytest.mark.parametrize("ref, message", [
    ({"sha256": "abc"}, "64 hex digits"),
    ({"bundled": "pkg:../escape.onnx"}, "bundled must look like"),
    ({"bundled": "pkg:/etc/passwd"}, "bundled must look like"),
    ({"bundled": "no-package"}, "bundled must look like"),
])
def test_weights_refs_are_checked(ref, message):
    with pytest.raises(ValueError, match=message):
        WeightsRef("g", "g.onnx", **ref)


@pytest.mark.parametrize("spec, message", [
    ({"kind": InputKind.CHOICE}, "must list its choices"),
    ({"kind": InputKind.LABEL, "choices": ("a",)}, "only a direction or choice input takes choices"),
    ({"kind": InputKind.CHOICE, "choices": ("a", "a")}, "unique names"),
    ({"kind": InputKind.CHOICE, "choices": ("a:b",)}, "without ',' or ':'"),
    ({"kind": InputKind.CHOICE, "choices": ("1",)}, "not bare numbers"),
    ({"kind": InputKind.DIRECTION, "choices": ("a2b",), "blend": True}, "only a choice input blends"),
])
def test_choice_inputs_are_checked(spec, message):
    with pytest.raises(ValueError, match=message):
        InputSpec(**spec)


def test_a_choice_is_a_name_an_index_or_a_normalised_blend():
    plain = InputSpec(InputKind.CHOICE, name="style", choices=STYLES)
    mix = InputSpec(InputKind.CHOICE, name="style", choices=STYLES, blend=True)
    assert choose(plain, "moss") == choose(plain, "2") == choose(mix, "moss:5") == "moss"
    assert choose(mix, "dusk:1,ember:1") == "ember:0.5,dusk:0.5"  # the choices' order, weights summing to 1
    assert choose(mix, "0:1,1:3") == "ember:0.25,glacier:0.75"
    assert choice_feed(plain, "dusk").tolist() == [3] and choice_feed(plain, "dusk").dtype == np.int64
    assert choice_feed(mix, "ember:0.25,glacier:0.75").tolist() == [0.25, 0.75, 0.0, 0.0]
    with pytest.raises(UserError, match="must be one of ember, glacier, moss, dusk"):
        choose(plain, "moss:1")  # a mix is refused where the input does not blend
    with pytest.raises(UserError, match="add up to 0"):
        choose(mix, "moss:0")
    resolved = resolve_inputs("toy", (plain,), {"style": None})
    assert resolved == {"style": "ember"}  # not given: the first choice
    assert resolve_inputs("toy", (plain,), {"style": "3"}) == {"style": "dusk"}


def test_a_choice_named_style_survives_a_job_s_path_parameters(tmp_path, monkeypatch):
    from genstudio.operations.registry import BUILTIN

    monkeypatch.chdir(tmp_path)
    (tmp_path / "style.jpg").write_bytes(b"")
    operation = next(op for op in BUILTIN if op.kind == "stylize-folder")
    assert operation.prepare({"model": "m", "inputs": "i", "out": "o", "style": "moss"})["style"] == "moss"
    assert operation.prepare({"model": "m", "inputs": "i", "out": "o", "style": "style.jpg"})["style"] == \
        str(tmp_path / "style.jpg")
    assert operation.prepare({"model": "m", "inputs": "i", "out": "o"})["out"] == str(tmp_path / "o")


# -- contract versions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contract, error", [
    ("1.3", ""), ("1.2", ""), ("1.1", ""), ("1", ""), ("1.0", ""),
    ("1.4", "needs genstudio plugin contract 1.4; this genstudio provides 1.3 (upgrade genstudio)"),
    ("2.0", "needs genstudio plugin contract 2.0; this genstudio provides 1.3 (upgrade genstudio)"),
    ("0.9", "needs genstudio plugin contract 0.9; this genstudio provides 1.3 (the plugin is too old for it"),
    ("one", "GENSTUDIO_CONTRACT = 'one' is not a contract version"),
])
def test_a_plugin_built_for_another_contract_is_listed_failed_in_one_line(tmp_path, graph, contract, error):
    from genstudio.plugins import discover

    ref = WeightsRef("net", "tinystyle.onnx", setting="weights.toy")
    registry = discover(entry_points=False, plugin_dir=tmp_path / "none", disabled=set(),
                        extra=[("toy", ToyPlugin(toy_spec(ref), contract=contract))])
    record = registry.plugins["toy"]
    assert (record.status, record.error) == (("loaded", "") if not error else ("failed", record.error))
    assert error in record.error and "\n" not in record.error
    assert ("toystyle" in registry.backends) == (not error)


# -- running: files, folders, plugin bugs ------------------------------------------------------------------------


def test_an_onnx_only_backend_runs_its_setting_s_graph_and_records_its_sha256(use_plugins, graph, image, tmp_path):
    from genstudio.batch.stylize import stylize_folder
    from genstudio.provenance import read_provenance
    from genstudio.settings import Settings

    path, sha = graph
    use_plugins(toy=ToyPlugin(toy_spec(WeightsRef("net", "tinystyle.onnx", sha256=sha, setting="weights.toy"))))
    with pytest.raises(UserError, match="net weights not found: expected tinystyle.onnx at .* set the genstudio "
                                        "setting weights.toy"):
        stylize_folder("toystyle", [image], tmp_path / "out")
    Settings.load().set("weights.toy", str(path))
    summary = stylize_folder("toystyle", [image], tmp_path / "out", choices={"style": "glacier"})
    assert summary.written == 1 and "torch" not in summary.to_dict()
    record = read_provenance(tmp_path / "out" / "a.png")
    assert record["model_sha256"] == sha and record["weights"] == {"net": sha}
    assert record["parameters"] == {"strength": 1.0, "preserve_color": False, "style": "glacier", "config": {}}


def test_the_job_runner_gives_the_cli_s_pixels(use_plugins, graph, image, tmp_path):
    from genstudio.batch.stylize import stylize_folder
    from genstudio.jobs.builtin import run_stylize_folder
    from genstudio.settings import Settings

    Settings.load().set("weights.toy", str(graph[0]))
    use_plugins(toy=ToyPlugin(toy_spec(WeightsRef("net", "tinystyle.onnx", setting="weights.toy"))))
    stylize_folder("toystyle", [image], tmp_path / "direct", style="dusk:1,moss:1")
    run_stylize_folder({"model": "toystyle", "inputs": [str(image)], "out": str(tmp_path / "job"),
                        "style": "moss:1,dusk:1"}, lambda event: None, lambda: False)
    with Image.open(tmp_path / "direct" / "a.png") as a, Image.open(tmp_path / "job" / "a.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_a_model_folder_of_an_onnx_only_backend_must_hold_the_graph_its_card_names(use_plugins, graph, image,
                                                                                   tmp_path):
    from genstudio.batch.stylize import stylize_folder
    from genstudio.provenance import read_provenance

    path, sha = graph
    use_plugins(toy=ToyPlugin(toy_spec(WeightsRef("net", "tinystyle.onnx"))))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tinystyle.onnx").write_bytes(path.read_bytes())
    card = {"schema_version": 1, "backend": "toystyle", "plugin": "toy", "plugin_version": "0", "config": {},
            "weights_sha256": sha}
    (folder / "model.json").write_text(json.dumps(card))
    assert stylize_folder(str(folder), [image], tmp_path / "out").written == 1
    record = read_provenance(tmp_path / "out" / "a.png")
    assert record["model"] == str(folder.resolve()) and record["model_sha256"] == sha
    (folder / "model.json").write_text(json.dumps({**card, "weights_sha256": "0" * 64}))
    with pytest.raises(ModelFileError, match="is not the graph .*model.json names"):
        stylize_folder(str(folder), [image], tmp_path / "again")


@pytest.mark.parametrize("make, message", [
    (lambda ref: toy_spec(ref, schema=ConfigSchema([ConfigField("graph", "str", "other", "Which graph.")]))
     , "onnx_graph returned 'other', which is none of its pretrained_weights (net)"),
    (lambda ref: toy_spec(ref, inputs=(InputSpec(InputKind.CHOICE, name="palette", choices=STYLES),)),
     "tinystyle.onnx has no input 'palette'"),
])
def test_a_plugin_whose_declaration_and_graph_disagree_fails_as_the_plugin(use_plugins, graph, image, tmp_path,
                                                                           make, message):
    from genstudio.batch.stylize import open_stylizer
    from genstudio.settings import Settings

    Settings.load().set("weights.toy", str(graph[0]))
    use_plugins(toy=ToyPlugin(make(WeightsRef("net", "tinystyle.onnx", setting="weights.toy"))))
    with pytest.raises(PluginError, match=re.escape("plugin toy (backend toystyle) failed: ValueError: " + message)):
        open_stylizer("toystyle")


def test_a_declared_onnx_backend_without_onnx_graph_fails_at_load(use_plugins, graph):
    from genstudio.batch.stylize import open_stylizer

    use_plugins(toy=ToyPlugin(toy_spec(WeightsRef("net", "x.onnx"), loader=f"{HERE}:NoGraphMethod")))
    with pytest.raises(UserError, match="declares the capability 'runtime' but its type has no onnx_graph"):
        open_stylizer("toystyle")


def test_bundled_files_are_found_in_their_package_and_the_hub_folder_without_torch(tmp_path):
    import genstudio_example

    from genstudio.weights import find_weights

    located = find_weights(genstudio_example.TINYSTYLE_GRAPH)
    assert located.source == "package data of genstudio_example" and located.path.name == "tinystyle.onnx"
    assert located.sha256 == genstudio_example.TINYSTYLE_GRAPH.sha256
    code = ("import sys; from genstudio.weights import hub_checkpoint_path; print(hub_checkpoint_path('x.pth')); "
            "assert 'torch' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, TORCH_HOME=str(tmp_path / "th")))
    assert done.returncode == 0, done.stderr
    import torch

    os.environ["TORCH_HOME"], saved = str(tmp_path / "th"), os.environ.get("TORCH_HOME")
    try:
        assert done.stdout.strip() == os.path.join(torch.hub.get_dir(), "checkpoints", "x.pth")
    finally:
        os.environ.pop("TORCH_HOME") if saved is None else os.environ.__setitem__("TORCH_HOME", saved)


def test_a_graph_naming_external_data_is_still_checked_and_one_without_is_not_parsed(tmp_path, graph, monkeypatch):
    from genstudio import onnx_runtime

    parsed = []
    monkeypatch.setattr("onnx.load", lambda *a, **k: parsed.append(a) or (_ for _ in ()).throw(ValueError("x")))
    onnx_runtime.check_external_data(graph[0])  # no "location" in the bytes: never parsed
    assert parsed == []
    named = tmp_path / "named.onnx"
    named.write_bytes(graph[0].read_bytes() + b"location")
    with pytest.raises(UserError, match="not a readable ONNX file"):
        onnx_runtime.check_external_data(named)
    assert hashlib.sha256(graph[0].read_bytes()).hexdigest() == graph[1]
