"""progan on the training runtime: the growth reaches the metrics log, sample grids are full size, and a run
stopped (or SIGKILLed) in the middle of a fade-in and resumed repeats the uninterrupted run bit for bit across
the next stage boundary."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from genstudio_progan.schedule import Schedule
from PIL import Image
from safetensors.torch import load_file

from genstudio.gui.metrics_log import MetricsLog
from tests.toys import train_killed_at

from .progan_tiny import CONFIG, OPTIONS, STEPS, records, train

HERE = os.path.dirname(os.path.abspath(__file__))


def assert_same_run(a, b) -> None:
    def losses(out):
        return [(r["step"], r["loss_d"], r["loss_g"], r["stage"], r["alpha"]) for r in records(out)]

    assert losses(a) == losses(b)  # every step, no duplicates
    wa, wb = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """12 steps without a stop, through stages 4, 8 and 16 px."""
    out = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(HERE)
        torch.set_num_threads(1)
        train(out)
    torch.set_num_threads(threads)
    return out


def test_the_metrics_log_shows_stage_and_alpha_of_every_step(straight):
    schedule = Schedule(CONFIG["resolution"], CONFIG["stage_images"], CONFIG["fade_fraction"], (),
                        OPTIONS["batch_size"])
    logged = [(r["step"], r["stage"], r["resolution"], r["alpha"]) for r in records(straight)]
    expected = [(step + 1, p.stage, p.resolution, p.alpha) for step, p in enumerate(map(schedule.at, range(STEPS)))]
    assert logged == expected
    assert {stage for _, stage, _, _ in logged} == {0, 1, 2}
    assert 0.5 in {alpha for _, _, _, alpha in logged}  # the fade-ins were logged in the middle
    view = MetricsLog(straight)  # what the app's training view reads: numbers shown, losses plotted
    view.poll()
    assert view.latest()["stage"] == 2 and view.latest()["alpha"] == 1.0
    assert "stage" not in view.loss_keys() and "loss_d" in view.loss_keys()


def test_sample_grids_are_full_size_from_the_first_stage(straight):
    first = straight / "samples" / "step-000002.png"  # drawn at 4 x 4, upsampled to 16 x 16
    with Image.open(first) as grid, Image.open(straight / "samples.png") as last:
        assert grid.size == last.size == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2)  # 2 x 2 grid, padding 2


def test_stop_mid_fade_and_resume_repeats_the_straight_run(straight, tmp_path):
    out = tmp_path / "run"
    first = train(out, steps=5)  # 5 of 12 steps: stops inside stage 1's fade-in (steps 4 and 5 of 0..11)
    assert first.steps == 5 and (first.final_losses["stage"], first.final_losses["alpha"]) == (1, 0.0)
    second = train(out, steps=STEPS, resume=True)  # goes on through the boundary into stage 2
    assert (second.steps, second.resumed_from) == (STEPS, 5)
    assert_same_run(out, straight)


@pytest.mark.parametrize("reset", [True, False])
def test_optimizer_moments_restart_with_each_stage_when_asked(tmp_path, reset):
    from genstudio.training.checkpoints import list_checkpoints, load_checkpoint

    out = tmp_path / "run"
    train(out, steps=5, config={"reset_optimizer": reset})  # stage 1 began at step 4
    state = load_checkpoint(list_checkpoints(out)[-1][1])["optimizers"]["D"]["state"]
    updates = {int(entry["step"]) for entry in state.values()}
    # reset: every moment restarted at step 4 (1 update since); kept: the 4 x 4 layers have 5 updates
    assert updates == ({1} if reset else {1, 5})


def test_sigkill_during_a_fade_in_then_resume_finishes_like_the_straight_run(straight, tmp_path):
    from genstudio.training.checkpoints import list_checkpoints

    out = tmp_path / "run"
    # step 9 is half way through stage 2's fade-in; the checkpoint is at 6
    killed = train_killed_at(9, f"import sys, torch\nsys.path.insert(0, {HERE!r})\ntorch.set_num_threads(1)\n"
                                "from progan_tiny import train\n",
                             f"train({str(out)!r}, checkpoint_every=3, progress=kill)\n")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "model.json").exists()
    assert [step for step, _ in list_checkpoints(out)][-1] == 6
    summary = train(out, resume=True, checkpoint_every=3)
    assert (summary.steps, summary.resumed_from) == (STEPS, 6)
    assert_same_run(out, straight)
