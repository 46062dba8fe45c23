import pytest
import torch

from genstudio.devices import describe_device, resolve_device
from genstudio.errors import UserError


def test_auto_picks_an_available_device():
    device = resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device.type == expected


def test_cpu_is_always_there():
    assert resolve_device("cpu") == torch.device("cpu")
    assert describe_device(torch.device("cpu")).startswith("cpu (")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(UserError, match="no CUDA GPU is usable.*--device cpu"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_out_of_range():
    with pytest.raises(UserError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("name", ["tpu", "gpu0", "cuda:x"])
def test_unknown_devices(name):
    with pytest.raises(UserError, match="device"):
        resolve_device(name)
