"""Checkpoint pieces: state flattening, RNG capture, the checkpoint folder format, and the data order."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch

from genstudio.errors import ModelFileError
from genstudio.training.checkpoints import list_checkpoints, load_checkpoint, prune_checkpoints, write_checkpoint
from genstudio.training.order import DataOrder
from genstudio.training.rng import capture_rng, restore_rng
from genstudio.training.state import flatten_state, unflatten_state


def adam_state() -> dict:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(5, 3)).pow(2).mean().backward()
        optimizer.step()
    return optimizer.state_dict()


def assert_equal(a, b) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_equal(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def round_trip(obj):
    from safetensors.torch import load, save

    tensors, skeleton = flatten_state(obj)
    skeleton = json.loads(json.dumps(skeleton, allow_nan=False))  # strict JSON
    return unflatten_state(load(save(tensors)), skeleton)


def test_flatten_round_trip_of_mixed_values():
    obj = {"a": [1, 2.5, None, True, "x", (3, (4.0, "y"))], "b": {0: torch.arange(3), "0": torch.ones(2, 2),
           (1, 2): float("inf")}, "nan": float("nan"), "scalar": torch.tensor(3.5, dtype=torch.float64),
           "empty": torch.zeros(0, dtype=torch.uint8), "dict": {"tensor": 1}}
    assert_equal(round_trip(obj), obj)


def test_flatten_round_trip_of_adam_state_keeps_int_keys_and_tuples():
    state = adam_state()
    restored = round_trip(state)
    assert_equal(restored, state)
    assert isinstance(restored["param_groups"][0]["betas"], tuple) and 0 in restored["state"]
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    torch.optim.Adam(model.parameters()).load_state_dict(restored)  # accepted by torch


def test_flatten_refuses_other_objects():
    with pytest.raises(TypeError, match="at /x"):
        flatten_state({"x": object()})
    with pytest.raises(ValueError, match="missing"):
        unflatten_state({}, {"tensor": "gone"})


def test_rng_round_trip_through_a_checkpoint_repeats_every_stream(tmp_path):
    np.random.normal()  # leaves a cached gaussian in numpy's state
    state = round_trip(capture_rng())
    expected = (random.random(), np.random.normal(), np.random.rand(3).tolist(), torch.rand(3))
    restore_rng(state)
    again = (random.random(), np.random.normal(), np.random.rand(3).tolist(), torch.rand(3))
    assert expected[:3] == again[:3] and torch.equal(expected[3], again[3])


def test_checkpoint_folder_write_load_prune(tmp_path):
    state = {"step": 3, "optimizer": adam_state(), "rng": capture_rng()}
    folder = write_checkpoint(tmp_path, 3, state)
    assert folder.name == "step-00000003" and sorted(p.name for p in folder.iterdir()) == [
        ".genstudio-checkpoint", "state.json", "tensors.safetensors"]
    assert_equal(load_checkpoint(folder)["optimizer"], state["optimizer"])
    for step in (5, 7):
        write_checkpoint(tmp_path, step, {"step": step})
    stale = tmp_path / "checkpoints" / ".tmp-step-00000009-1"  # left by a killed run: marked as ours
    stale.mkdir()
    (stale / ".genstudio-checkpoint").touch()
    (tmp_path / "checkpoints" / "step-00000001").mkdir()  # named like ours, but not ours: kept
    assert [step for step, _ in list_checkpoints(tmp_path)] == [3, 5, 7]
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step-00000001", "step-00000005", "step-00000007"]


def test_damaged_checkpoint_is_a_model_file_error(tmp_path):
    folder = write_checkpoint(tmp_path, 1, {"step": 1, "w": torch.ones(2)})
    (folder / "tensors.safetensors").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="sha256"):
        load_checkpoint(folder)
    (folder / "state.json").write_text("{")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_checkpoint(folder)


def test_data_order_is_a_function_of_seed_and_position():
    order = DataOrder(size=10, batch_size=3, seed=5)
    assert order.batches_per_epoch == 3  # drop_last
    epoch0 = torch.cat([order.batch(0, i) for i in range(3)])
    assert len(set(epoch0.tolist())) == 9
    assert torch.equal(order.batch(1, 2), DataOrder(10, 3, 5).batch(1, 2))
    assert not torch.equal(order.permutation(0), order.permutation(1))
    assert order.advance(0, 2) == (1, 0) and order.advance(1, 0) == (1, 1)


def test_ranks_split_the_global_batch():
    single = DataOrder(size=20, batch_size=4, seed=1)
    ranks = [DataOrder(size=20, batch_size=2, seed=1, rank=r, world_size=2) for r in range(2)]
    assert ranks[0].batches_per_epoch == single.batches_per_epoch == 5
    for index in range(5):
        shards = [set(order.batch(3, index).tolist()) for order in ranks]
        assert not shards[0] & shards[1]
        assert shards[0] | shards[1] == set(single.batch(3, index).tolist())
