"""Script the app into the states the README shows, for screenshots under a virtual screen:

    GENSTUDIO_HOME=/tmp/shots ../shared/tools/screenshot main.png 40 \
        python -m genstudio.gui.screenshots main --model MODEL_DIR --data DATASET_DIR

Scenes: `main` (a model's images on the canvas, one selected, a training job running in the queue),
`training` (the training view of MODEL_DIR), `plugins` (the plugin manager), `compare` (before/after split);
with no model needed (the procedural `shapes` generator, Gatys with random features): `history` (generated images
on the canvas, one selected, its provenance as a table), `gallery` (several runs and a stylized photo in the
Gallery tab, a set selected; `--menu` opens its Save / export menu), `stylize` (a photo stylized in the app, in the
before/after split). With `--shot FILE` the scene saves a screenshot of the whole screen once its work is done
and quits (docs/screenshots/take.sh takes them all under Xvfb). Not used by the app itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", choices=("main", "training", "plugins", "compare", "latent", "train", "try",
                                          "history", "gallery", "stylize"))
    parser.add_argument("--model", type=Path, help="a trained generator model folder")
    parser.add_argument("--data", type=Path, help="a dataset folder: `main` queues a training run on it")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--before", type=Path, help="compare: the input image")
    parser.add_argument("--after", type=Path, help="compare: the output image")
    parser.add_argument("--style", type=Path, help="compare: the style image, shown in the parameters")
    parser.add_argument("--backend", default="", help="compare: the stylizer to select in the library")
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--content", type=Path, help="gallery, stylize: the photo to stylize")
    parser.add_argument("--menu", action="store_true", help="gallery: open the Save / export menu")
    parser.add_argument("--shot", type=Path, help="save a screenshot here once the scene is ready, then quit")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from genstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    window = MainWindow(start_worker=args.scene == "main")
    width, height = (int(n) for n in args.size.split("x"))
    window.setGeometry(0, 0, width, height)
    window.show()
    if args.model:
        window.open_model_folder(str(args.model))
    if args.scene == "main":
        if args.data:
            window.queue_train({"backend": "dcgan", "data": str(args.data), "out": str(Path.home() / "shot-run"),
                                "steps": 400, "resolution": 32, "batch_size": 64, "device": "cpu",
                                "config": {"ngf": 16, "ndf": 16}, "sample_every": 50})
            window.tabs.setCurrentIndex(0)
            window.queue.add("generate", {"model": str(args.model), "out": str(Path.home() / "shot-gen"),
                                          "count": 64, "seed": 3})
        window.params.options.count.setValue(args.count)
        window.params.options.seed.setValue(11)
        task = window.generate()
        if task is not None:
            task.signals.finished.connect(lambda _: window.content.select(5))
    elif args.scene == "training":
        window.open_training_view(args.model, f"Training dcgan on digits · {args.model.name}")
    elif args.scene == "plugins":
        dialog = window.open_plugin_manager()
        dialog.move(380, 160)
    elif args.scene == "compare":
        if args.backend:
            window.library.select("backend", lambda backend: backend == args.backend)
            if window.params.form is not None and "features" in window.params.form.editors:
                window.params.form.set_values({"features": "random", "max_size": 256})
        if args.style:
            window.params.style.set_style(args.style)
        window.canvas.add_paths([str(args.before), str(args.after)])
        window.content.select(0)
        window.compare()
        window.content.select(1)
        QTimer.singleShot(500, lambda: window.canvas.split_item and window.canvas.split_item.set_fraction(0.42))
    elif args.scene == "train":
        from genstudio.gui.train_dialog import TrainDialog

        window.library.select("backend", lambda backend: backend == "dcgan")
        dialog = TrainDialog(window.registry, "dcgan", window.params.form.values(), str(args.data), parent=window)
        dialog.steps.setValue(600)
        dialog.resolution.setCurrentIndex(max(0, dialog.resolution.findData(32)))
        dialog.show()
        dialog.move(440, 180)
    elif args.scene == "try":
        window.try_it()
    elif args.scene in ("history", "gallery", "stylize"):
        _history_scene(window, args)
    elif args.scene == "latent":
        window.params.options.count.setValue(args.count)
        window.params.options.seed.setValue(11)
        window.generate()
        explorer = window.open_latent_explorer()
        if explorer is not None:
            explorer.setGeometry(300, 600, 1100, 330)
            explorer.seed_a.setValue(11)
            explorer.seed_b.setValue(12)
            explorer.steps.setValue(10)
            explorer.run()
    if args.shot:
        _shoot_when_idle(app, window, args.shot)
    return app.exec()


def _busy(window) -> bool:
    tasks = (window.generate_task, window.stylize_task, window.label_task)
    return any(task is not None and not task.done.is_set() for task in tasks) or bool(window.__dict__.get("_steps"))


def _shoot_when_idle(app, window, target: Path, settle_ms: int = 1200, limit_s: float = 300) -> None:
    """Once no task runs and the scene's steps are done, wait for the screen to settle, grab it, quit."""
    import time

    from PySide6.QtCore import QTimer

    started = time.monotonic()

    def poll() -> None:
        if _busy(window) and time.monotonic() - started < limit_s:
            QTimer.singleShot(200, poll)
            return
        QTimer.singleShot(settle_ms, shoot)

    def shoot() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        app.primaryScreen().grabWindow(0).save(str(target))
        print(f"saved {target}")
        app.quit()

    QTimer.singleShot(500, poll)


def _history_scene(window, args) -> None:
    """Runs one after another (window._steps, each started when the previous task has ended)."""
    from PySide6.QtCore import QTimer

    def shapes_run(seed: int, count: int, resolution: int):
        def start() -> None:
            window.library.select("backend", lambda backend: backend == "shapes")
            window.params.form.set_values({"resolution": resolution})
            window.params.options.count.setValue(count)
            window.params.options.seed.setValue(seed)
            window.params.options.lock.setChecked(True)
            window.generate()
        return start

    def stylize() -> None:
        window.library.select("backend", lambda backend: backend == "gatys")
        window.params.form.set_values({"features": "random", "steps": 40, "max_size": 256})
        if args.style:
            window.params.style.set_style(args.style)
        window.params.style.set_content(args.content)
        window.params.style.max_size.setValue(256)
        window.stylize()

    def finish() -> None:
        if args.scene == "history":
            window.content.select(7)
        elif args.scene == "gallery":
            window.tabs.setCurrentWidget(window.gallery)
            entries = window.gallery.model.entries
            window.gallery.select([entries[i] for i in range(2, min(len(entries), 8))])
            if args.menu:
                window.gallery.export_button.showMenu()
        else:
            window.content.select(1)
            QTimer.singleShot(300, lambda: window.canvas.split_item and window.canvas.split_item.set_fraction(0.45))

    steps = {"history": [shapes_run(11, 24, 48)],
             "gallery": [shapes_run(3, 12, 32), shapes_run(8, 8, 64)] + ([stylize] if args.content else []),
             "stylize": [stylize] if args.content else []}[args.scene]
    window._steps = [*steps, finish]

    def next_step() -> None:
        if any(task is not None and not task.done.is_set() for task in (window.generate_task, window.stylize_task)):
            QTimer.singleShot(200, next_step)
            return
        step = window._steps.pop(0)
        step()
        if window._steps:
            QTimer.singleShot(300, next_step)

    QTimer.singleShot(300, next_step)


if __name__ == "__main__":
    raise SystemExit(main())
