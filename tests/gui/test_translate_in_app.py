"""A translator (cyclegan) in the app: its model shows the Translate box with the declared directions (no style
strength), and Translate gives the same pixels and provenance as `genstudio translate` in the chosen direction."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from genstudio.provenance import read_provenance, without_time


def cyclegan_model(folder, registry):
    import torch

    from genstudio.models import save_model

    spec = registry.backend("cyclegan")
    config = spec.schema.resolve({"resolution": 16, "ngf": 4, "ndf": 4, "blocks": 1, "d_layers": 2})
    torch.manual_seed(0)
    save_model(folder, spec, config, spec.load().build(config).state_dict())
    return folder


def test_translate_a_canvas_image_either_way(window, qtbot, registry, tmp_path, single_torch_thread):
    from genstudio.cli import app

    model = cyclegan_model(tmp_path / "cyclegan", registry)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (20, 28, 3), dtype=np.uint8)).save(photo)
    window.open_model_folder(str(model))
    params, style = window.params, window.params.style
    assert params.style_box.isVisibleTo(params) and params.style_box.title() == "Translate"
    assert [style.direction.itemText(i) for i in range(style.direction.count())] == ["a2b", "b2a"]
    assert style.direction.isVisibleTo(params) and not style.strength.isVisibleTo(params)
    assert not style.style_button.isVisibleTo(params)  # a translator takes no style image
    assert params.stylize_button.text() == "Translate"

    made = {}
    for direction in ("a2b", "b2a"):
        style.direction.setCurrentText(direction)
        style.set_content(photo)
        style.max_size.setValue(0)
        task = window.stylize()
        assert task is not None
        with qtbot.waitSignal(task.signals.finished, timeout=60000):
            pass
        qtbot.waitUntil(lambda: window.content.mode == "split")
        made[direction] = window.content.images[1]
        assert made[direction].record["parameters"]["direction"] == direction
    assert not np.array_equal(made["a2b"].pixels, made["b2a"].pixels)

    result = CliRunner().invoke(app, ["translate", str(model), str(photo), "--direction", "b2a", "--out",
                                      str(tmp_path / "cli"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    cli = tmp_path / "cli" / "photo.png"
    with Image.open(cli) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), made["b2a"].pixels[:, :, :3])
    assert without_time(made["b2a"].record) == without_time(read_provenance(cli))


def test_the_folder_action_queues_what_jobs_add_translate_folder_queues(window, registry, tmp_path):
    """With a translator selected the toolbar's folder action reads "Translate folder…" and queues a
    translate-folder job in the Translate box's direction: the parameters `genstudio jobs add translate-folder`
    queues, and, run by the job worker, the files `genstudio translate` writes (torch's default thread count
    here, as in the worker's child process: provenance records it)."""
    import json

    from genstudio.cli import app
    from genstudio.jobs import Worker

    model = cyclegan_model(tmp_path / "cyclegan", registry)
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 255, (20, 28, 3), dtype=np.uint8)).save(photos / "one.png")
    Image.fromarray(rng.integers(0, 255, (9, 13, 3), dtype=np.uint8)).save(photos / "two.png")
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(photos / "sub" / "three.png")
    action = window.kind_actions["stylize-folder"]
    window.library.select("backend", lambda backend: backend == "gatys")
    assert action.text() == "Stylize folder…"
    window.open_model_folder(str(model))
    assert action.isEnabled() and action.text() == "Translate folder…"
    window.params.style.direction.setCurrentText("b2a")
    window.params.style.max_size.setValue(0)
    job = window.queue.get(window.queue_kind("stylize-folder", folder=str(photos)))
    assert job.kind == "translate-folder"

    out = tmp_path / "photos-translated"
    added = CliRunner().invoke(app, ["jobs", "add", "translate-folder", "--json", "-p", f"model={model}",
                                     "-p", f"inputs={json.dumps([str(photos)])}", "-p", f"out={out}",
                                     "-p", "direction=b2a"])
    assert added.exit_code == 0, added.output
    assert job.params == json.loads(added.output)["params"]

    Worker(window.queue, poll_interval=0.05).run(once=True)
    assert window.queue.get(job.id).status == "done"
    cli = tmp_path / "cli"
    result = CliRunner().invoke(app, ["translate", str(model), str(photos), "--direction", "b2a", "--out",
                                      str(cli)])
    assert result.exit_code == 0, result.output
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.png"))
    assert written == sorted(path.relative_to(cli).as_posix() for path in cli.rglob("*.png")) \
        == ["one.png", "two.png"]  # neither goes into subfolders unless asked
    for name in written:
        with Image.open(out / name) as queued, Image.open(cli / name) as direct:
            assert np.array_equal(np.asarray(queued), np.asarray(direct))
        assert without_time(read_provenance(out / name)) == without_time(read_provenance(cli / name))
