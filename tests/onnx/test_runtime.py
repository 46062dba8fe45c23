"""The onnxruntime owner: provider choice and fallback reporting, external-data paths, the session cache."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from genstudio import onnx_runtime
from genstudio.errors import UserError


def add_one_model(path, external_location: str | None = None):
    """y = x + c, with c stored inline or (pretend) external."""
    constant = helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0])
    if external_location is not None:
        constant.ClearField("float_data")
        constant.data_location = TensorProto.EXTERNAL
        entry = constant.external_data.add()
        entry.key, entry.value = "location", external_location
    graph = helper.make_graph([helper.make_node("Add", ["x", "c"], ["y"])], "add",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])], [constant])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_cpu_session_runs_and_is_cached(tmp_path):
    path = add_one_model(tmp_path / "add.onnx")
    session = onnx_runtime.open_session(path, "cpu")
    assert session.provider == "cpu" and not session.fell_back
    assert session.run({"x": np.array([1.0, 2.0], np.float32)})[0].tolist() == [2.0, 3.0]
    assert onnx_runtime.open_session(path, "cpu") is session
    assert onnx_runtime.open_session(path, "cpu", cache=False) is not session
    assert "CPUExecutionProvider" in session.describe()


def test_auto_without_gpu_reports_cpu_and_explicit_gpu_is_an_error(tmp_path, monkeypatch):
    path = add_one_model(tmp_path / "add.onnx")
    monkeypatch.setattr(onnx_runtime, "_cuda_usable", lambda: False)
    assert onnx_runtime.requested_providers("auto") == ["CPUExecutionProvider"]
    assert onnx_runtime.open_session(path, "auto", cache=False).provider == "cpu"
    with pytest.raises(UserError, match="cuda"):
        onnx_runtime.open_session(path, "cuda", cache=False)
    with pytest.raises(UserError, match="unknown provider"):
        onnx_runtime.requested_providers("metal")


def test_silent_fallback_is_detected(tmp_path, monkeypatch):
    """onnxruntime-gpu builds a CPU session when CUDA cannot start; we notice from the session's providers."""
    path = add_one_model(tmp_path / "add.onnx")
    monkeypatch.setattr(onnx_runtime, "_cuda_usable", lambda: True)
    monkeypatch.setattr(onnx_runtime, "requested_providers",
                        lambda choice: ["CUDAExecutionProvider", "CPUExecutionProvider"])

    class FakeSession:
        def __init__(self, *args, **kwargs):
            pass

        def get_providers(self):
            return ["CPUExecutionProvider"]

        def get_inputs(self):
            return []

        def get_outputs(self):
            return []

    monkeypatch.setattr("onnxruntime.InferenceSession", FakeSession)
    session = onnx_runtime.open_session(path, "auto", cache=False)
    assert session.fell_back and session.provider == "cpu"
    with pytest.raises(UserError, match="fell back to the CPU"):
        onnx_runtime.open_session(path, "cuda", cache=False)


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    folder = tmp_path / "model"
    folder.mkdir()
    path = add_one_model(folder / "model.onnx", external_location=location)
    with pytest.raises(UserError, match="outside the model folder"):
        onnx_runtime.open_session(path, "cpu", cache=False)


def test_external_data_inside_the_folder_is_allowed(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    path = add_one_model(folder / "model.onnx", external_location="weights.bin")
    onnx_runtime.check_external_data(path)  # no error: the location stays inside


def test_unreadable_files_are_user_errors(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(UserError):
        onnx_runtime.open_session(bad, "cpu", cache=False)
    with pytest.raises(UserError, match="does not exist"):
        onnx_runtime.open_session(tmp_path / "missing.onnx", "cpu")
