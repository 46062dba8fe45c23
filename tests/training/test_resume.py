"""Exact resume: a run stopped (or cancelled) and resumed repeats the uninterrupted run bit for bit on the CPU."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from genstudio.events import EventCollector
from genstudio.training import fit

from .toy_setup import ToyDataset, read_records, toy_spec, weights

OPTIONS = {"device": "cpu", "deterministic": True, "batch_size": 8, "sample_count": 4, "log_every": 1,
           "checkpoint_every": 4, "sample_every": 100, "seed": 7}


def losses(out_dir) -> list[tuple[int, float, float]]:
    return [(r["step"], r["loss_e"], r["loss_g"]) for r in read_records(out_dir)]


def assert_same_weights(a, b) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """12 steps without a stop (2 and a bit epochs of 5 batches: resumes cross epoch boundaries)."""
    out = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).resolve().parent))
        torch.set_num_threads(1)
        fit(toy_spec(), {}, ToyDataset(), out, steps=12, **OPTIONS)
    torch.set_num_threads(threads)
    return out


def test_stop_and_resume_repeats_the_straight_run(straight, tmp_path):
    out = tmp_path / "run"
    first = fit(toy_spec(), {}, ToyDataset(), out, steps=6, **OPTIONS)
    assert first.steps == 6
    second = fit(toy_spec(), {}, ToyDataset(), out, steps=12, resume=True, **OPTIONS)
    assert (second.steps, second.resumed_from) == (12, 6)
    assert losses(out) == losses(straight)  # no duplicates, every step equal
    assert_same_weights(out, straight)
    assert read_records(out)[-1]["elapsed"] >= read_records(out)[5]["elapsed"]


def test_cancel_writes_checkpoint_and_model_and_resume_continues(straight, tmp_path):
    out = tmp_path / "run"
    events = EventCollector()

    def stop_after_5() -> bool:
        done = [e.done for e in events.of_kind("progress")]
        return bool(done) and done[-1] >= 5

    summary = fit(toy_spec(), {}, ToyDataset(), out, steps=12, progress=events, abort=stop_after_5, **OPTIONS)
    assert (summary.cancelled, summary.steps) == (True, 5)
    assert (out / "checkpoints" / "step-00000005" / "state.json").is_file()
    assert (out / "model.json").is_file() and (out / "samples.png").is_file()
    assert events.of_kind("end")[0].message == "cancelled"
    resumed = fit(toy_spec(), {}, ToyDataset(), out, steps=12, resume=True, **OPTIONS)
    assert (resumed.resumed_from, resumed.steps, resumed.cancelled) == (5, 12, False)
    assert losses(out) == losses(straight)
    assert_same_weights(out, straight)


def test_incomplete_checkpoints_are_ignored_on_resume(straight, tmp_path):
    out = tmp_path / "run"
    fit(toy_spec(), {}, ToyDataset(), out, steps=8, **OPTIONS)  # checkpoints at 4 and 8
    root = out / "checkpoints"
    shutil.copytree(root / "step-00000008", root / ".tmp-step-00000012-999")  # a killed writer's temp folder
    shutil.copytree(root / "step-00000008", root / "step-00000011")
    (root / "step-00000011" / "state.json").unlink()  # never finished
    shutil.copytree(root / "step-00000004", root / "step-00000010")
    (root / "step-00000010" / "tensors.safetensors").write_bytes(b"garbage")  # damaged: hash mismatch
    events = EventCollector()
    summary = fit(toy_spec(), {}, ToyDataset(), out, steps=12, resume=True, progress=events, **OPTIONS)
    assert summary.resumed_from == 8
    assert any("skipping checkpoint" in e.message for e in events.of_kind("log"))
    assert losses(out) == losses(straight)
    assert_same_weights(out, straight)
    assert any("removed checkpoint step-00000010" in e.message for e in events.of_kind("log"))
    assert sorted(p.name for p in root.iterdir()) == ["step-00000004", "step-00000008", "step-00000012"]


def test_resume_without_a_checkpoint_starts_fresh(straight, tmp_path):
    events = EventCollector()
    out = tmp_path / "run"
    summary = fit(toy_spec(), {}, ToyDataset(), out, steps=12, resume=True, progress=events, **OPTIONS)
    assert summary.resumed_from is None
    assert any("starting a new run" in e.message for e in events.of_kind("log"))
    assert losses(out) == losses(straight)


def test_resume_with_another_config_is_refused(tmp_path):
    from genstudio.errors import UserError

    out = tmp_path / "run"
    fit(toy_spec(), {}, ToyDataset(), out, steps=2, **OPTIONS)
    with pytest.raises(UserError, match="hidden"):
        fit(toy_spec(), {"hidden": 9}, ToyDataset(), out, steps=4, resume=True, **OPTIONS)
