"""Live previews: the sample-grid schedule (steps, seconds, auto) against a fake clock, and fit drawing its first
grid by wall time rather than only every N steps."""

from __future__ import annotations

import pytest

from genstudio.errors import UserError
from genstudio.training import fit, samples
from genstudio.training.samples import AUTO_FIRST, AUTO_MAX, AUTO_MIN, SampleSchedule, parse_sample_every

from .toy_setup import ToyDataset, toy_spec

FAST = {"device": "cpu", "deterministic": True, "batch_size": 8, "sample_count": 4, "checkpoint_every": 1000}


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.time = start

    def __call__(self) -> float:
        return self.time


@pytest.mark.parametrize(("text", "expected"), [(500, ("steps", 500)), ("250", ("steps", 250)),
                                                ("30s", ("seconds", 30)), ("2m", ("seconds", 120)),
                                                (" Auto ", ("auto", 0))])
def test_parse_sample_every(text, expected):
    assert parse_sample_every(text) == expected


@pytest.mark.parametrize("bad", [0, -3, "0s", "soon", "s", True, "1.5"])
def test_fit_refuses_a_bad_sample_every_before_work(tmp_path, bad):
    with pytest.raises(UserError, match="sample every"):
        fit(toy_spec(), {}, ToyDataset(), tmp_path / "run", steps=2, sample_every=bad, **FAST)
    assert not (tmp_path / "run" / "model.json").exists()


def test_step_schedule_is_unchanged():
    schedule = SampleSchedule(5, clock=FakeClock())
    assert [step for step in range(1, 16) if schedule.due(step)] == [5, 10, 15]


def test_seconds_schedule_follows_the_clock():
    clock = FakeClock()
    schedule = SampleSchedule("20s", clock=clock)
    assert not schedule.due(1)
    clock.time += 19.9
    assert not schedule.due(2)
    clock.time += 0.2
    assert schedule.due(3)
    schedule.drawn(3, cost=0.5)
    assert not schedule.due(4)
    clock.time += 20
    assert schedule.due(5)


def test_auto_first_grid_within_the_first_minute_then_adapts():
    clock = FakeClock()
    schedule = SampleSchedule("auto", clock=clock)
    first = None
    for step in range(1, 10_000):  # a slow run: 3 s a step
        clock.time += 3.0
        if schedule.due(step):
            first = clock.time - 1000.0
            schedule.drawn(step, cost=0.2)
            break
    assert first is not None and AUTO_FIRST <= first < 60
    gaps, last = [], clock.time
    for later in range(step + 1, step + 2000):  # keep training for ~100 minutes
        clock.time += 3.0
        if schedule.due(later):
            gaps.append(clock.time - last)
            last = clock.time
            schedule.drawn(later, cost=0.2)
    assert gaps and min(gaps) >= AUTO_MIN and max(gaps) <= AUTO_MAX + 3.0
    assert gaps[-1] > gaps[0]  # spaced out as the run grows


def test_auto_keeps_drawing_cheap_when_a_grid_is_expensive():
    clock = FakeClock()
    schedule = SampleSchedule("auto", clock=clock)
    clock.time += AUTO_FIRST
    assert schedule.due(1)
    schedule.drawn(1, cost=10.0)  # a grid that takes 10 s: the next one no sooner than 10 / 5% = 200 s
    clock.time += 199
    assert not schedule.due(2)
    clock.time += 2
    assert schedule.due(3)


def test_fit_draws_a_time_based_first_preview(tmp_path, monkeypatch):
    """Steps are fast but the fake clock says each takes 4 s: the first grid comes by time, long before step 500."""
    clock = FakeClock()

    def ticking() -> float:
        clock.time += 2.0  # the loop reads the clock about twice per step
        return clock.time

    monkeypatch.setattr(samples, "now", ticking)
    out = tmp_path / "run"
    fit(toy_spec(), {}, ToyDataset(), out, steps=12, sample_every="auto", **FAST)
    drawn = sorted(p.name for p in (out / "samples").iterdir())
    assert drawn[0] != "step-000012.png" and drawn[-1] == "step-000012.png"
    assert int(drawn[0][5:11]) <= 1 + int(AUTO_FIRST // 2)


def test_cli_sample_every_is_used_and_a_bad_one_refused(run_cli, tmp_path):
    from tests.toys import shade_classes

    data = shade_classes(tmp_path / "data")
    base = ["train", "dcgan", "--data", str(data), "--resolution", "32", "--batch-size", "4", "--steps", "3",
            "--set", "channels=1", "--set", "ngf=4", "--set", "ndf=4", "--device", "cpu"]
    bad = run_cli(*base, "--out", str(tmp_path / "bad"), "--sample-every", "soon")
    assert bad.returncode == 2 and "sample every" in bad.stderr and "Traceback" not in bad.stderr
    good = run_cli(*base, "--out", str(tmp_path / "good"), "--sample-every", "1", timeout=300)
    assert good.returncode == 0, good.stderr
    assert sorted(p.name for p in (tmp_path / "good" / "samples").iterdir()) == [
        "step-000001.png", "step-000002.png", "step-000003.png"]
