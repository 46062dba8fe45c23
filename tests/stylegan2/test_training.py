"""stylegan2 on the training runtime: the regularisers run on their lazy schedule, ADA moves p from r_t, w_avg is
tracked, and a run stopped (or SIGKILLed) and resumed repeats the uninterrupted run bit for bit: weights, EMA,
w_avg, augmentation p and its r_t sums, path length mean and images seen."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from tests.toys import train_killed_at

from .stylegan2_tiny import CONFIG, OPTIONS, STEPS, records, train

HERE = os.path.dirname(os.path.abspath(__file__))
STATE_KEYS = ("loss_g", "loss_d", "pl", "pl_mean", "r1", "augment_p", "r_t", "kimg")


def assert_same_run(a, b) -> None:
    def logged(out):
        return [(r["step"], *[r[key] for key in STATE_KEYS]) for r in records(out)]

    assert logged(a) == logged(b)  # every step, no duplicates
    wa, wb = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    assert wa.keys() == wb.keys() and "mapping.w_avg" in wa
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def final_state(out) -> dict:
    from genstudio.training.checkpoints import list_checkpoints, load_checkpoint

    return load_checkpoint(list_checkpoints(out)[-1][1])


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """STEPS steps without a stop."""
    out = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(HERE)
        torch.set_num_threads(1)
        train(out)
    torch.set_num_threads(threads)
    return out


def test_regularisers_ada_and_w_avg_on_their_schedule(straight):
    logged = records(straight)
    assert [r["kimg"] for r in logged] == [4 * step / 1000 for step in range(1, STEPS + 1)]  # images seen
    r1 = [r["r1"] for r in logged]  # lazy R1 every r1_interval = 8 D steps: at steps 0, 8, 16
    assert len({r1[0], r1[7]}) == 1 and r1[8] != r1[7] and r1[16] != r1[15] and r1[15] == r1[8]
    pl = [r["pl"] for r in logged]  # lazy path length every 4 G steps: at 0, 4, 8, ...
    assert pl[0] == pl[3] != pl[4] == pl[7] and pl[0] > 0
    means = [r["pl_mean"] for r in logged]
    assert means[0] > 0 and means[4] != means[3]  # the running mean a moves when the penalty runs
    p = [r["augment_p"] for r in logged]  # ADA adjusts every 4 steps, by 4 * 4 / 64 = 0.25
    assert p[:3] == [0.0] * 3 and len(set(p)) > 1
    assert all(abs(b - a) in (0.0, 0.25) for a, b in zip(p[:-1], p[1:], strict=True))
    state = final_state(straight)["modules"]["state"]
    assert int(state["images_seen"]) == 4 * STEPS and float(state["augment.p"]) == p[-1]
    w_avg = load_file(straight / "weights.safetensors")["mapping.w_avg"]
    assert float(w_avg.abs().sum()) > 0  # tracked from zero


def test_stop_and_resume_repeats_the_straight_run(straight, tmp_path):
    out = tmp_path / "run"
    first = train(out, steps=7)  # stops between the ADA adjustments (at 4 and 8) and before R1's second run (8)
    assert first.steps == 7
    middle = final_state(out)["modules"]["state"]
    assert float(middle["augment.sign_count"]) > 0  # the r_t sums of steps 5..7 travel in the checkpoint
    second = train(out, resume=True)
    assert (second.steps, second.resumed_from) == (STEPS, 7)
    assert_same_run(out, straight)


def test_augmentation_off_and_fixed(tmp_path):
    off = train(tmp_path / "off", steps=4, config={"augment": "off"})
    assert off.final_losses["augment_p"] == 0.0 and off.final_losses["r_t"] == 0.0
    fixed = train(tmp_path / "fixed", steps=4, config={"augment": "fixed", "augment_p": 0.3})
    assert fixed.final_losses["augment_p"] == pytest.approx(0.3)


def test_sigkill_then_resume_finishes_like_the_straight_run(straight, tmp_path):
    from genstudio.training.checkpoints import list_checkpoints

    out = tmp_path / "run"
    # the last checkpoint is at 10, mid-way between ADA adjustments
    killed = train_killed_at(13, f"import sys, torch\nsys.path.insert(0, {HERE!r})\ntorch.set_num_threads(1)\n"
                                 "from stylegan2_tiny import train\n",
                             f"train({str(out)!r}, checkpoint_every=5, progress=kill)\n")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "model.json").exists()
    assert [step for step, _ in list_checkpoints(out)][-1] == 10
    summary = train(out, resume=True, checkpoint_every=5)
    assert (summary.steps, summary.resumed_from) == (STEPS, 10)
    assert_same_run(out, straight)


def test_conditional_training_uses_the_class_folders(tmp_path):
    summary = train(tmp_path / "run", steps=2, config={"conditional": True, "num_classes": 2})
    assert summary.steps == 2
    weights = load_file(tmp_path / "run" / "weights.safetensors")
    assert weights["mapping.embed.weight"].shape == (CONFIG["w_dim"], 2)
    assert OPTIONS["batch_size"] == 4
