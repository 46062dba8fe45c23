"""The app knows no backend by name: one registered only by a plugin-folder plugin shows up and generates."""

from __future__ import annotations

from genstudio import paths
from tests.toys import write_toy_backend


def test_backend_from_a_plugin_folder_appears_and_generates(qtbot, tmp_path, monkeypatch, queue,
                                                            single_torch_thread):
    import torch

    from genstudio.gui.main_window import MainWindow
    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    code = tmp_path / "code"
    write_toy_backend(code, paths.plugin_dir())
    monkeypatch.syspath_prepend(str(code))
    registry = get_registry(refresh=True)
    spec = registry.backend("toy")
    config = spec.schema.resolve({"latent_dim": 3, "hidden": 5})
    torch.manual_seed(0)
    save_model(tmp_path / "toy-model", spec, config, spec.load().build(config).state_dict())

    window = MainWindow(queue, start_worker=False, registry=registry)
    qtbot.addWidget(window)
    assert window.library_model.find("backend", lambda backend: backend == "toy") is not None
    assert window.library.select("backend", lambda backend: backend == "toy")
    assert set(window.params.form.editors) == {"latent_dim", "hidden", "broken_kind"}
    window.open_model_folder(str(tmp_path / "toy-model"))
    assert window.selection[0] == "model" and window.selection[1].id == "toy"
    window.params.options.count.setValue(3)
    task = window.generate()
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: len(window.content.images) == 3)
    assert window.content.images[0].pixels.shape == (4, 4, 1)
    assert window.content.images[0].record["backend"] == "toy"
    assert window.content.images[0].record["plugin"] == "toyplugin"
    window.close()
