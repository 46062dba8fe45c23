"""Untrusted input and unbounded work: provenance forged in an image, a replaced ONNX graph, a huge --count.
Each case from the fault sweep is one test, named test_case_<item>_<what> (bench/faults.py prints the table)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from genstudio.provenance import png_bytes, read_provenance


def forge(path, record) -> None:
    with Image.open(path) as image:
        pixels = image.convert("RGB")
        pixels.load()
    path.write_bytes(png_bytes(pixels, record))


def test_case_8_info_shows_forged_provenance_as_text(gs, tmp_path):
    image = tmp_path / "forged.png"
    image.write_bytes(png_bytes(Image.new("RGB", (4, 4)), {
        "operation": "generate", "model": "[link=https://example.com/x]click[/link]", "note": "[/] [conceal]",
        "terminal": "\x1b[2Jcleared\x07", "parameters": {"seed": "[bold]"}}))
    done = gs("info", image)
    assert done.code == 0, done.err
    assert "[link=https://example.com/x]click[/link]" in done.out and "[/] [conceal]" in done.out
    assert "\x1b" not in done.out and "\x07" not in done.out and "\\x1b[2J" in done.out


def test_case_8_reproduce_refuses_forged_values_in_one_line(gs, tmp_path):
    photo, style = tmp_path / "photo.png", tmp_path / "style.png"
    Image.new("RGB", (16, 16), (200, 100, 0)).save(photo)
    Image.new("RGB", (16, 16), (0, 100, 200)).save(style)
    made = gs("stylize", "gatys", photo, "--style", style, "--out", tmp_path / "out", "--set", "features=random",
              "--set", "steps=1", "--set", "max_size=16", "--device", "cpu")
    assert made.code == 0, made.err
    original = tmp_path / "out" / "photo.png"
    record = read_provenance(original)
    assert gs("reproduce", original, "--out", tmp_path / "again.png").code == 0  # the honest record reproduces

    forgeries = {
        "steps of the wrong type": {**record, "parameters": {**record["parameters"],
                                                             "config": {**record["parameters"]["config"],
                                                                        "steps": "many"}}},
        "steps beyond the schema": {**record, "parameters": {**record["parameters"],
                                                             "config": {**record["parameters"]["config"],
                                                                        "steps": 10**9}}},
        "parameters not a mapping": {**record, "parameters": ["x"]},
        "batch not a mapping": {**record, "batch": 7},
        "operation not a string": {**record, "operation": ["stylize"]},
    }
    for what, forged in forgeries.items():
        forge(original, forged)
        done = gs("reproduce", original, "--out", tmp_path / f"{what}.png")
        assert done.code == 2, (what, done.err)
        assert "Traceback" not in done.err and done.err.count("error:") == 1, (what, done.err)
        assert not (tmp_path / f"{what}.png").exists()
    assert not list(tmp_path.glob(".genstudio-reproduce-*"))


def test_case_8_reproduce_shows_progress_and_cleans_up_after_a_killed_run(tmp_path):
    from genstudio.batch.stylize import stylize_folder
    from genstudio.reproduce import reproduce

    photo, style = tmp_path / "photo.png", tmp_path / "style.png"
    Image.new("RGB", (16, 16), (200, 100, 0)).save(photo)
    Image.new("RGB", (16, 16), (0, 100, 200)).save(style)
    stylize_folder("gatys", [photo], tmp_path / "out", style=style, device="cpu",
                   assignments=["features=random", "steps=2", "max_size=16"])
    stale = tmp_path / ".genstudio-reproduce-999999999-abc"  # a killed reproduce's scratch folder (no such pid)
    stale.mkdir()
    (stale / "photo.png").write_bytes(b"half")
    events = []
    result = reproduce(tmp_path / "out" / "photo.png", tmp_path / "again.png", progress=events.append)
    assert result.identical and events, "no progress reported"
    assert not stale.exists() and not list(tmp_path.glob(".genstudio-reproduce-*"))


def test_case_9_replaced_onnx_graph_is_refused(gs, tmp_path):
    import shutil

    import torch

    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    spec = get_registry().backend("dcgan")
    config = spec.schema.resolve({"resolution": 32, "channels": 1, "ngf": 4, "ndf": 4, "latent_dim": 4})
    folders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        folder = tmp_path / f"m{seed}"
        save_model(folder, spec, config, spec.load().build(config).state_dict())
        assert gs("export", folder).code == 0
        folders.append(folder)
    assert gs("generate", folders[0], "--runtime", "onnx", "--count", "1", "--out", tmp_path / "ok").code == 0
    shutil.copyfile(folders[1] / "model.onnx", folders[0] / "model.onnx")  # a foreign graph, same shapes
    for runtime in ("onnx", "auto"):
        done = gs("generate", folders[0], "--runtime", runtime, "--count", "1", "--out", tmp_path / runtime)
        assert done.code == 2 and "sha256" in done.err and "model.onnx" in done.err, done.err
        assert not (tmp_path / runtime).exists() or not list((tmp_path / runtime).iterdir())


def test_case_10_generate_streams_a_huge_count(tmp_path, monkeypatch):
    from genstudio import generate_folder

    asked = []
    samples = generate_folder.Sampler.samples

    def counting(self, seed, indices, **options):
        asked.append(len(indices))
        return samples(self, seed, indices, **options)

    monkeypatch.setattr(generate_folder.Sampler, "samples", counting)
    monkeypatch.setattr(generate_folder, "STREAM_WINDOW", 8)
    monkeypatch.setattr(generate_folder, "MAX_LISTED", 5)
    summary = generate_folder.generate_to_folder("shapes", tmp_path / "g", count=30, batch_size=4, device="cpu")
    assert summary.written == 30 and len(list((tmp_path / "g").glob("*.png"))) == 30
    assert max(asked) <= 8 and sum(asked) == 30  # planned and drawn a window at a time
    assert len(summary.files) == 5 and any("first 5 of 30" in note for note in summary.notes)
    with pytest.raises(Exception, match="at most"):
        generate_folder.generate_to_folder("shapes", tmp_path / "grid", count=generate_folder.MAX_GRID + 1,
                                           grid=True)
    json.dumps(summary.to_dict())


def test_case_7_worker_carries_on_after_the_queue_file_is_replaced(tmp_path):
    import os
    import time

    from genstudio.jobs import JobQueue, Worker

    path = tmp_path / "jobs.sqlite3"
    queue = JobQueue(path)
    worker = Worker(queue, poll_interval=0.05, logs_dir=tmp_path / "logs")
    worker.start()
    try:
        time.sleep(0.3)
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        garbage = tmp_path / "garbage"
        garbage.write_bytes(os.urandom(4096))
        os.replace(garbage, path)  # damaged under a running worker, in one step
        deadline = time.monotonic() + 10
        while queue.reopened == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.reopened and queue.notice and "moved it aside" in queue.notice
        job = JobQueue(path).add("generate", {"model": "shapes", "out": str(tmp_path / "g"), "count": 1,
                                              "device": "cpu"})
        while JobQueue(path).get(job).status not in ("done", "failed") and time.monotonic() < deadline + 60:
            time.sleep(0.1)
        assert JobQueue(path).get(job).status == "done"  # the same worker ran it from the fresh queue
    finally:
        worker.stop(timeout=30)
