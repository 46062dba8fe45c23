"""One operations layer: the app makes images through the same core functions as the CLI and the job queue, so
the same request gives the same pixels and the same provenance (time aside), and every image the app saves
(PNG, JPEG, WebP) is remade pixel for pixel by `genstudio reproduce`."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genstudio.gui.content import CanvasImage, save_image
from genstudio.provenance import read_provenance, without_time
from genstudio.reproduce import reproduce
from tests.gui.conftest import make_dcgan

FORMATS = ("png", "jpg", "webp")
GATYS = {"features": "random", "steps": 2, "max_size": 32}  # random VGG features, two steps: seconds on a CPU
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # the CLI's torch on one thread, like these tests' (same float sums)


@pytest.fixture(autouse=True)
def fresh_sampler_cache():
    """The app keeps its last opened sampler; none of these tests leaves one for the next test file's."""
    from genstudio.gui import sampling

    yield
    sampling._cache.clear()


def timeless(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "time"}


def pixels_of(path) -> np.ndarray:
    """A file's pixels as H x W x C (a grey PNG opens as H x W)."""
    with Image.open(path) as image:
        array = np.asarray(image)
    return array if array.ndim == 3 else array[:, :, None]


def wait(qtbot, task, timeout: int = 60000) -> None:
    """Until the task has ended (a cached model can finish it before a signal wait would be connected)."""
    qtbot.waitUntil(task.done.is_set, timeout=timeout)


def pick_generator(window, qtbot, which: str, tmp_path, registry) -> tuple[str, list[str], dict]:
    """Select `which` in the app as a user would; returns (the CLI's model argument, its --set options, the
    generate job's extra parameters)."""
    if which == "shapes":
        assert window.library.select("backend", lambda backend: backend == "shapes")
        window.params.form.editors["resolution"].setValue(24)
        qtbot.waitUntil(lambda: window.params.options.label.count() == 4)  # "all classes" + 3 shapes
        window.params.options.label.setCurrentIndex(2)  # class 1
        return "shapes", ["--set", "resolution=24", "--label", "1"], {"config": {"resolution": 24}, "label": 1}
    model = make_dcgan(tmp_path / "tiny-dcgan", registry)
    window.open_model_folder(str(model))
    return str(model), [], {}


def generate_in_app(window, qtbot, seed: int, count: int) -> list[CanvasImage]:
    window.params.options.seed.setValue(seed)
    window.params.options.count.setValue(count)
    task = window.generate()
    assert task is not None
    wait(qtbot, task)
    qtbot.waitUntil(lambda: len(window.content.images) == count)
    return list(window.content.images)


def folder_outputs(folder) -> dict[int, tuple[np.ndarray, dict]]:
    found = {}
    for path in sorted(folder.glob("*.png")):
        record = read_provenance(path)
        found[record["parameters"]["index"]] = (pixels_of(path), record)
    return found


@pytest.mark.parametrize("which", ["shapes", "tiny-dcgan"])
def test_generate_in_the_app_is_genstudio_generate_and_a_generate_job(which, window, qtbot, registry, run_cli,
                                                                      tmp_path, single_torch_thread):
    from genstudio.events import never_abort, null_sink
    from genstudio.jobs.builtin import run_generate

    model, cli_options, job_options = pick_generator(window, qtbot, which, tmp_path, registry)
    device = window.current_source().device
    app = {image.record["parameters"]["index"]: image for image in generate_in_app(window, qtbot, 5, 3)}
    done = run_cli("generate", model, "--out", str(tmp_path / "cli"), "--seed", "5", "--count", "3", "--device",
                   device, *cli_options, env=ONE_THREAD)
    assert done.returncode == 0, done.stderr
    run_generate({"model": model, "out": str(tmp_path / "job"), "count": 3, "seed": 5, "device": device,
                  **job_options}, null_sink, never_abort)
    for made_by in ("cli", "job"):
        outputs = folder_outputs(tmp_path / made_by)
        assert sorted(outputs) == sorted(app) == [0, 1, 2]
        for index, (pixels, record) in outputs.items():
            assert np.array_equal(app[index].pixels, pixels), (made_by, index)
            assert timeless(app[index].record) == timeless(record), (made_by, index)
    record = app[0].record
    assert record["operation"] == "generate"
    assert record["model"] == ("shapes" if which == "shapes" else str((tmp_path / "tiny-dcgan").resolve()))
    if which == "shapes":
        assert record["config"]["resolution"] == 24 and record["parameters"]["label"] == 1


@pytest.mark.parametrize("which", ["shapes", "tiny-dcgan"])
def test_generated_and_latent_strip_images_saved_by_the_app_reproduce(which, window, qtbot, registry, tmp_path,
                                                                      single_torch_thread):
    pick_generator(window, qtbot, which, tmp_path, registry)
    generated = generate_in_app(window, qtbot, 9, 2)[1]
    explorer = window.open_latent_explorer()
    qtbot.addWidget(explorer)
    explorer.seed_a.setValue(3)
    explorer.seed_b.setValue(4)
    explorer.index.setValue(1)
    explorer.steps.setValue(3)
    wait(qtbot, explorer.run())
    qtbot.waitUntil(lambda: len(explorer.content.images) == 3)
    step = explorer.content.images[1]
    assert step.record["operation"] == "interpolate-seeds" and step.record["parameters"]["t"] == 0.5
    explorer.close()
    for name, image, operation in (("generated", generated, "generate"), ("step", step, "interpolate-seeds")):
        for fmt in FORMATS:
            saved = save_image(image, tmp_path / "saved" / f"{name}.{fmt}")
            assert CanvasImage.from_file(saved).record == image.record  # in the PNG, or in the .json beside it
            assert (saved.with_name(saved.name + ".json").is_file()) == (fmt != "png")
            result = reproduce(saved, tmp_path / "again" / saved.name)
            assert result.operation == operation
            assert result.identical and result.max_difference == 0, (name, fmt)


def make_pictures(tmp_path) -> tuple:
    rng = np.random.default_rng(7)
    content, style = tmp_path / "photo.png", tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (20, 26, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(style)
    return content, style


def stylize_in_app(window, qtbot) -> CanvasImage:
    task = window.stylize()
    assert task is not None
    wait(qtbot, task)
    qtbot.waitUntil(lambda: window.content.mode == "split")
    return window.content.images[1]


def test_stylize_in_the_app_is_genstudio_stylize_and_reproduces(window, qtbot, run_cli, tmp_path,
                                                                single_torch_thread):
    from genstudio import paths

    content, style = make_pictures(tmp_path)
    assert window.library.select("backend", lambda backend: backend == "gatys")
    window.params.form.set_values(GATYS)
    window.params.style.set_style(style)
    window.params.style.set_content(content)
    device = window.current_source().device
    max_size = window.params.style.max_size.value()  # the app's default output size: the pipeline's --max-size
    styled = stylize_in_app(window, qtbot)
    assert styled.record["operation"] == "stylize" and styled.record["input"] == str(content.resolve())
    assert styled.record["parameters"]["strength"] == 1.0  # the settings' own: nothing set in the app
    done = run_cli("stylize", "gatys", str(content), "--out", str(tmp_path / "cli"), "--style", str(style),
                   *[f"--set={key}={value}" for key, value in GATYS.items()], "--max-size", str(max_size),
                   "--device", device, env=ONE_THREAD)
    assert done.returncode == 0, done.stderr
    cli = tmp_path / "cli" / "photo.png"
    assert np.array_equal(styled.pixels, pixels_of(cli))
    assert without_time(styled.record) == without_time(read_provenance(cli))

    # canvas pixels that have no file (this result) are kept in the data folder, so reproduce finds the input
    window.params.style.set_content(None)
    window.content.set_mode("grid")
    window.content.select(1)
    twice = stylize_in_app(window, qtbot)
    kept = twice.record["input"]
    assert kept.startswith(str(paths.data_dir())) and read_provenance(kept) == styled.record

    for name, image in (("styled", styled), ("twice", twice)):
        for fmt in FORMATS:
            saved = save_image(image, tmp_path / "saved" / f"{name}.{fmt}")
            result = reproduce(saved, tmp_path / "again" / saved.name)
            assert result.operation == "stylize"
            assert result.identical and result.max_difference == 0, (name, fmt)


def test_stylize_stops_when_cancelled_before_it_starts(tmp_path, single_torch_thread):
    from genstudio.errors import Cancelled
    from genstudio.gui.sampling import Source, stylize

    content, style = make_pictures(tmp_path)
    with pytest.raises(Cancelled):
        stylize(Source("gatys", None, dict(GATYS)), content, style, abort=lambda: True)


def test_gatys_reports_its_steps_to_the_app(tmp_path, single_torch_thread):
    from genstudio.gui.sampling import Source, stylize

    content, style = make_pictures(tmp_path)
    events = []
    stylize(Source("gatys", None, dict(GATYS)), content, style, progress=events.append)
    # the optimisation's steps arrive as the batch's progress inside the image (0 < done < 1), with its loss
    inner = [event for event in events if event.kind == "progress" and 0 < event.done < 1 and "loss" in event.stats]
    assert inner and inner == sorted(inner, key=lambda event: event.done)
    from genstudio.errors import Cancelled

    with pytest.raises(Cancelled):  # a cancel reaches the optimisation itself, between its steps
        stylize(Source("gatys", None, dict(GATYS)), content, style,
                abort=lambda: bool(events) and events.clear() is None)


def test_save_image_formats_and_plain_pixels(tmp_path):
    record = {"operation": "generate", "parameters": {"seed": 1, "index": 0}}
    image = CanvasImage("x", np.full((6, 5, 3), 90, np.uint8), None, record)
    bmp = save_image(image, tmp_path / "x.bmp")  # BMP has no place for a record: saved as PNG instead
    assert bmp == tmp_path / "x.png" and read_provenance(bmp) == record
    plain = CanvasImage("y", np.full((6, 5, 3), 90, np.uint8))
    jpg = save_image(plain, tmp_path / "y.jpeg")
    assert jpg.is_file() and not jpg.with_name("y.jpeg.json").exists()
    assert CanvasImage.from_file(jpg).record is None
    assert pixels_of(save_image(plain, tmp_path / "y.png")).shape == (6, 5, 3)
