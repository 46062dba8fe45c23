"""The declared contract between genstudio and its plugins: inputs, capabilities and operations. Each test is a bug
that once shipped:
  * built-in backends whose declared inputs did not match what they consume (fast-style took a --style it ignored);
  * a backend that declared a capability without the method failed deep inside an operation, not at load;
  * a misspelt Capabilities key or truncation mode was silently accepted;
  * undeclared, missing or impossible inputs reached the backend instead of a one-line refusal;
  * capability rows that nothing read (or fields with no row), so declaring one changed nothing;
  * a plugin's register_operations never became a job kind, and one reusing "train" replaced the built-in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import genstudio
from genstudio import BackendKind, BackendSpec, Capabilities, InputKind, InputSpec, hookimpl
from genstudio.backends import check_model_kind
from genstudio.capabilities import CAPABILITIES
from genstudio.errors import UserError
from genstudio.inputs import resolve_inputs
from genstudio.operations.registry import Operation
from genstudio.plugins import discover

HERE = __name__  # this module, as plugins' loaders and operation targets name it

# --------------------------------------------------------------------------------------------------------------
# Module-level implementations the test backends' loaders name
# --------------------------------------------------------------------------------------------------------------


class BareGenerator(torch.nn.Module):
    """The generator contract and nothing more: no truncate, elbo, export_graphs or class_names."""

    latent_dim = 2
    num_classes = 0

    def generate(self, z, labels=None):
        return torch.zeros(z.shape[0], 3, 8, 8)


class OwnTruncationGenerator(BareGenerator):
    def truncate(self, z, psi):
        return z * psi


class BareStylizer(torch.nn.Module):
    """The stylizer contract and nothing more: no prepare_style or postprocess."""

    def stylize(self, content, style=None, **params):
        return content


class BareImpl:
    """Builds modules; has no model_extra or create_training."""

    @staticmethod
    def build(config):
        return BareGenerator()


class OwnTruncationImpl:
    @staticmethod
    def build(config):
        return OwnTruncationGenerator()


class BareStylizerImpl:
    @staticmethod
    def build(config):
        return BareStylizer()


def toy_runner(params, progress, abort):
    """The job runner of the toy plugin operation."""
    return {"doubled": params["x"] * 2}


class InProcessPlugin:
    """A plugin object registered in process: the backends and operations it is given."""

    __version__ = "0.0.1"

    def __init__(self, backends=(), operations=()):
        self._backends, self._operations = list(backends), list(operations)

    @hookimpl
    def register_backends(self):
        return self._backends

    @hookimpl
    def register_operations(self):
        return self._operations


def bare_spec(capabilities: Capabilities, *, kind=BackendKind.GENERATOR, loader: str = f"{HERE}:BareImpl",
              backend_id: str = "bare") -> BackendSpec:
    return BackendSpec(backend_id, kind, "Bare", "A test backend.", loader, capabilities=capabilities)


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, message
    return message


# --------------------------------------------------------------------------------------------------------------
# 1. The built-in backends declare the inputs they consume
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def builtin_backends(tmp_path) -> dict[str, BackendSpec]:
    registry = discover(entry_points=True, plugin_dir=tmp_path / "no-plugins", disabled=set())
    builtin = {name for name, record in registry.plugins.items() if record.source == "builtin"}
    assert {"gan", "vae", "style", "shapes"} <= builtin
    for name in builtin:
        assert registry.plugins[name].status == "loaded", registry.plugins[name].error
    return {spec_id: spec for spec_id, spec in registry.backends.items() if spec.plugin in builtin}


def test_builtin_backends_declare_inputs_matching_their_kind(builtin_backends):
    assert set(builtin_backends) == {"gan", "dcgan", "cgan", "shapes", "vae", "cvae", "gatys", "fast-style", "adain",
                                    "progan", "cyclegan", "stylegan2", "restore", "latent-inpaint", "draw",
                                    "text2image"}
    labelled = {spec_id for spec_id, spec in builtin_backends.items() if spec.input(InputKind.LABEL)}
    styled = {spec_id for spec_id, spec in builtin_backends.items() if spec.input(InputKind.STYLE)}
    assert labelled == {"cgan", "cvae", "shapes", "stylegan2"}  # stylegan2: when trained with conditional=true
    assert styled == {"gatys", "adain"}  # fast-style is trained for one style: it takes none at use time
    captioned = {spec_id for spec_id, spec in builtin_backends.items() if spec.input(InputKind.CAPTION)}
    assert captioned == {"text2image"} and builtin_backends["text2image"].input(InputKind.CAPTION).required
    assert builtin_backends["cyclegan"].input(InputKind.DIRECTION).choices == ("a2b", "b2a")
    for spec_id, spec in builtin_backends.items():
        caps = spec.capabilities
        assert caps.conditional == (spec.input(InputKind.LABEL) is not None), spec_id
        assert caps.needs_style_image == (spec.input(InputKind.STYLE) is not None), spec_id
        image = spec.input(InputKind.IMAGE)
        if spec.kind in (BackendKind.STYLIZER, BackendKind.TRANSLATOR, BackendKind.RESTORER):
            assert image is not None and image.name == "input" and image.required, spec_id
        else:
            assert image is None, spec_id
        if spec.input(InputKind.LABEL):  # generating without --label cycles through the classes
            assert not spec.input(InputKind.LABEL).required, spec_id
        names = [entry.name for entry in spec.inputs]
        assert len(names) == len(set(names)), spec_id


def test_the_old_flags_declare_their_input():
    spec = BackendSpec("flags", BackendKind.GENERATOR, "Flags", "Old-style flags.", f"{HERE}:BareImpl",
                       capabilities=Capabilities(conditional=True, needs_style_image=True))
    assert spec.input(InputKind.LABEL) is not None and spec.input(InputKind.STYLE) is not None
    plain = bare_spec(Capabilities())
    assert plain.inputs == () and not plain.capabilities.conditional and not plain.capabilities.needs_style_image


# --------------------------------------------------------------------------------------------------------------
# 2. A declared capability without its method fails at load, in one line
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("capabilities, name, method", [
    (Capabilities(records_extra=True), "records_extra", "model_extra"),
    (Capabilities(trainable=True), "trainable", "create_training"),
])
def test_declared_implementation_capability_without_its_method_fails_to_load(capabilities, name, method):
    spec = bare_spec(capabilities).with_plugin("toyplugin", "0.0.1")
    with pytest.raises(UserError) as caught:
        spec.load()
    message = one_line(caught.value)
    assert repr(name) in message and method in message and "toyplugin" in message and "'bare'" in message
    bare_spec(Capabilities()).load()  # the same code without the declaration loads


@pytest.mark.parametrize("capabilities, name, methods, kind, loader", [
    (Capabilities(truncation="own"), "truncation", ["truncate"], BackendKind.GENERATOR, "BareImpl"),
    (Capabilities(likelihood=True), "likelihood", ["elbo", "iwae_log_likelihood"], BackendKind.GENERATOR, "BareImpl"),
    (Capabilities(export_recipe=True), "export_recipe", ["export_graphs"], BackendKind.GENERATOR, "BareImpl"),
    (Capabilities(class_names=True), "class_names", ["class_names"], BackendKind.GENERATOR, "BareImpl"),
    (Capabilities(prepares_style=True), "prepares_style", ["prepare_style"], BackendKind.STYLIZER,
     "BareStylizerImpl"),
    (Capabilities(postprocesses=True), "postprocesses", ["postprocess"], BackendKind.STYLIZER, "BareStylizerImpl"),
])
def test_declared_module_capability_without_its_method_fails_the_check(capabilities, name, methods, kind, loader):
    spec = bare_spec(capabilities, kind=kind, loader=f"{HERE}:{loader}").with_plugin("toyplugin", "0.0.1")
    module = spec.load().build({})
    with pytest.raises(UserError) as caught:
        check_model_kind(spec, module)
    message = one_line(caught.value)
    assert repr(name) in message and all(method in message for method in methods), message
    check_model_kind(bare_spec(Capabilities(), kind=kind), module)  # undeclared: nothing is asked of it


def test_own_truncation_is_accepted_with_its_method_and_refused_before_generating_without(use_plugins, tmp_path):
    own = bare_spec(Capabilities(truncation="own"), loader=f"{HERE}:OwnTruncationImpl")
    check_model_kind(own, own.load().build({}))

    from genstudio.generate_folder import generate_to_folder

    use_plugins(toyplugin=InProcessPlugin(backends=[bare_spec(Capabilities(truncation="own"), backend_id="liar")]))
    with pytest.raises(UserError) as caught:
        generate_to_folder("liar", tmp_path / "out", count=1, device="cpu")
    message = one_line(caught.value)
    assert "'truncation'" in message and "truncate" in message and "toyplugin" in message
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------------------
# 3. Capabilities refuses what it does not know
# --------------------------------------------------------------------------------------------------------------


def test_unknown_capability_keys_are_refused():
    with pytest.raises(TypeError, match="tilesafe"):
        Capabilities(tilesafe=False)
    with pytest.raises(TypeError, match="needs_style"):
        Capabilities(needs_style=True)


@pytest.mark.parametrize("mode", ["prior", "own", "none"])
def test_truncation_modes(mode):
    assert Capabilities(truncation=mode).truncation == mode


@pytest.mark.parametrize("mode", ["mean", "", "Own", True])
def test_truncation_must_be_prior_own_or_none(mode):
    with pytest.raises(ValueError) as caught:
        Capabilities(truncation=mode)
    message = one_line(caught.value)
    assert all(choice in message for choice in ("prior", "own", "none"))


# --------------------------------------------------------------------------------------------------------------
# 4. resolve_inputs: the one check of what a request gives
# --------------------------------------------------------------------------------------------------------------


def test_undeclared_input_is_refused_naming_its_option(builtin_backends, tmp_path):
    style = tmp_path / "style.png"
    style.write_bytes(b"not read")
    fast = builtin_backends["fast-style"]
    with pytest.raises(UserError) as caught:
        resolve_inputs("fast-style", fast.inputs, {"style": style}, provided_elsewhere=("input",))
    message = one_line(caught.value)
    assert "fast-style" in message and "--style" in message
    with pytest.raises(UserError, match="--mask"):
        resolve_inputs("fast-style", fast.inputs, {"mask": style}, provided_elsewhere=("input",))
    # not given at all is not "given": None and "" pass
    assert resolve_inputs("fast-style", fast.inputs, {"style": None, "mask": ""},
                          provided_elsewhere=("input",)) == {"input": None}


def test_missing_required_input_is_asked_for(builtin_backends, tmp_path):
    gatys = builtin_backends["gatys"]
    with pytest.raises(UserError) as caught:
        resolve_inputs("gatys", gatys.inputs, {}, provided_elsewhere=("input",))
    message = one_line(caught.value)
    assert "gatys" in message and "--style" in message
    style = tmp_path / "style.png"
    style.write_bytes(b"x")
    resolved = resolve_inputs("gatys", gatys.inputs, {"style": str(style)}, provided_elsewhere=("input",))
    assert resolved["style"] == style
    # an optional input may be left out: a conditional generator cycles through its classes
    assert resolve_inputs("cgan", builtin_backends["cgan"].inputs, {}) == {"label": None}


def test_direction_must_be_one_of_its_choices():
    inputs = (InputSpec(InputKind.IMAGE), InputSpec(InputKind.DIRECTION, choices=("a2b", "b2a")))
    with pytest.raises(UserError) as caught:
        resolve_inputs("twoway", inputs, {"direction": "sideways"}, provided_elsewhere=("input",))
    message = one_line(caught.value)
    assert "--direction" in message and "a2b" in message and "b2a" in message and "sideways" in message
    assert resolve_inputs("twoway", inputs, {"direction": "b2a"}, provided_elsewhere=("input",))["direction"] == "b2a"
    assert resolve_inputs("twoway", inputs, {}, provided_elsewhere=("input",))["direction"] == "a2b"  # the default
    with pytest.raises(ValueError):
        InputSpec(InputKind.DIRECTION)  # a direction without choices cannot be declared
    with pytest.raises(ValueError):
        InputSpec(InputKind.LABEL, choices=("a",))


def test_file_input_must_exist(builtin_backends, tmp_path):
    gatys = builtin_backends["gatys"]
    missing = tmp_path / "nowhere" / "style.png"
    with pytest.raises(UserError) as caught:
        resolve_inputs("gatys", gatys.inputs, {"style": missing}, provided_elsewhere=("input",))
    message = one_line(caught.value)
    assert "--style" in message and "style.png" in message
    with pytest.raises(UserError, match="--style"):  # a folder is not a file
        resolve_inputs("gatys", gatys.inputs, {"style": tmp_path}, provided_elsewhere=("input",))


# --------------------------------------------------------------------------------------------------------------
# 5. The capability table, the dataclass and the code that reads them stay in step
# --------------------------------------------------------------------------------------------------------------

VIEWS = {"conditional", "needs_style_image"}  # derived from the declared inputs, not declared
NOT_READ_BY_THE_CORE = {"pretrained_weights"}  # read by the plugins' own weight locators


def test_every_capability_row_is_a_field_and_every_field_a_row():
    fields = set(Capabilities.__dataclass_fields__)
    assert set(CAPABILITIES) <= fields, set(CAPABILITIES) - fields
    assert fields - VIEWS == set(CAPABILITIES), (fields - VIEWS) ^ set(CAPABILITIES)
    for name, row in CAPABILITIES.items():
        assert row.name == name and row.where in ("impl", "module", "declared") and row.summary
        assert (row.protocol is None) == (row.where == "declared"), name


def test_every_capability_is_read_by_the_core():
    root = Path(genstudio.__file__).resolve().parent
    skip = {root / "capabilities.py", root / "backends.py"}
    source = "\n".join(path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.py")) if path not in skip)
    unread = [name for name in CAPABILITIES if name not in NOT_READ_BY_THE_CORE
              and not re.search(rf"capabilities\.{name}\b|declared\([^,()]+,\s*[\"']{name}[\"']\)", source)]
    assert unread == [], f"capabilities nothing in genstudio/ reads: {unread}"


# --------------------------------------------------------------------------------------------------------------
# 6. A plugin's operations become job kinds, and never replace a built-in one
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def runner_table():
    """Restore the process-wide table of job kinds after the test."""
    from genstudio.jobs import runners

    saved, from_plugins = dict(runners._registry), set(runners._from_plugins)
    yield runners
    runners._registry.clear()
    runners._registry.update(saved)
    runners._from_plugins.clear()
    runners._from_plugins.update(from_plugins)


CHILD_RUNNER = """
def double(params, progress, abort):
    return {"doubled": params["x"] * 2}
"""


def test_plugin_operation_becomes_a_job_kind(use_plugins, runner_table, tmp_path, monkeypatch):
    from genstudio.jobs import JobQueue, Worker, runner_spec, runner_specs
    from genstudio.operations.registry import load_runner

    # the job's child process imports its runner by name: a module on the path it inherits
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "toy_ops_runner.py").write_text(CHILD_RUNNER)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    toy = Operation("toy-op", f"{HERE}:toy_runner", "Doubles x.", required=("x",))
    child = Operation("toy-op-child", "toy_ops_runner:double", "Doubles x in a job.", required=("x",))
    registry = use_plugins(toyops=InProcessPlugin(operations=[toy, child]))
    assert registry.plugins["toyops"].status == "loaded", registry.plugins["toyops"].error
    spec = runner_spec("toy-op")
    assert spec.target == toy.target and spec.required == ("x",) and spec.plugin == "toyops"
    assert load_runner(spec.target) is toy_runner
    assert {"toy-op", "toy-op-child", "train"} <= {entry.kind for entry in runner_specs()}

    queue = JobQueue(tmp_path / "jobs.sqlite3")
    with pytest.raises(UserError, match=r"parameter\(s\) x"):
        queue.add("toy-op", {})  # its required parameter is asked for
    job_id = queue.add("toy-op-child", {"x": 21})
    Worker(queue, poll_interval=0.05).run(once=True)
    job = queue.get(job_id)
    assert job.status == "done", job.error
    assert job.result == {"doubled": 42}


def test_plugin_operation_reusing_a_builtin_kind_fails_its_plugin_only(use_plugins, runner_table):
    import genstudio_shapes

    from genstudio.jobs import runner_spec, runner_specs

    hijack = Operation("train", f"{HERE}:toy_runner", "Not the real train.")
    registry = use_plugins(hijacker=InProcessPlugin(operations=[hijack]), shapes=genstudio_shapes)
    record = registry.plugins["hijacker"]
    assert record.status == "failed" and "train" in record.error and "\n" not in record.error
    assert "train" not in registry.operations
    assert registry.plugins["shapes"].status == "loaded" and registry.backend("shapes")  # the rest keeps working
    assert runner_spec("train").target == "genstudio.jobs.builtin:run_train" and runner_spec("train").plugin == ""
    assert {"train", "generate", "stylize-folder"} <= {entry.kind for entry in runner_specs()}
    with pytest.raises(UserError, match="unknown job kind"):
        runner_spec("toy-op")  # nothing of the failed plugin was kept


def test_two_plugins_cannot_share_an_operation_kind(use_plugins, runner_table):
    first = Operation("toy-op", f"{HERE}:toy_runner", required=("x",))
    registry = use_plugins(aaa=InProcessPlugin(operations=[first]), bbb=InProcessPlugin(operations=[first]))
    statuses = {registry.plugins["aaa"].status, registry.plugins["bbb"].status}
    assert statuses == {"loaded", "failed"}
    assert registry.operations["toy-op"].plugin in ("aaa", "bbb")
    assert registry.plugins[registry.operations["toy-op"].plugin].status == "loaded"


def test_the_aspect_capability_needs_the_settings_it_reads():
    from genstudio import ConfigField, ConfigSchema

    with pytest.raises(ValueError, match="its schema has no aspect_fit"):
        BackendSpec(id="wide", kind=BackendKind.GENERATOR, name="W", description="", loader="a.b:C",
                    schema=ConfigSchema([ConfigField("aspect", "choice", "1:1", "W:H", choices=("1:1", "2:1"))]),
                    capabilities=Capabilities(trainable=True, aspect=True))
