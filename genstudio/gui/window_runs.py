"""The main window's in-process work: Generate and Stylize on a thread-pool task (a handful of images), and the
class names of conditional sources. Mixed into MainWindow; long work goes through the job queue instead."""

from __future__ import annotations

from typing import Any

from genstudio.errors import UserError
from genstudio.gui.content import CanvasImage
from genstudio.gui.sampling import IMAGE_TO_IMAGE, Source, why_not_stylize
from genstudio.gui.workers import Task
from genstudio.inputs import InputKind


class RunsMixin:
    """Needs: selection, params, content, canvas, tabs, generate_task, stylize_task, label_task, show_message,
    show_error, current_source, _generate_blocker, _update_actions, and from GalleryMixin: edits (the canvas's undo
    stack), record_images (the history)."""

    def _load_classes(self) -> None:
        """Class names of a conditional source and the style layers of a style-based one, found off the GUI
        thread (it builds the model)."""
        self.params.options.set_classes([])
        self.params.options.set_style_layers(0)
        self.params.options.set_vocabulary(None)
        source = self.current_source()
        capabilities = self.selection[1].capabilities if source is not None else None
        captioned = source is not None and self.selection[1].input(InputKind.CAPTION) is not None
        if source is None or self._generate_blocker() or not (capabilities.conditional or capabilities.style_mixing
                                                              or captioned):
            return
        from genstudio.gui.sampling import caption_vocabulary, class_names, style_layers

        task = Task(lambda emit, abort: (class_names(source), style_layers(source), caption_vocabulary(source)))
        task.signals.finished.connect(lambda found: self._set_classes(source, *found))
        task.signals.failed.connect(self.show_message)
        self.label_task = task.start()

    def _set_classes(self, source: Source, names: list[str], layers: int = 0, vocabulary: Any = None) -> None:
        current = self.current_source()
        if current is not None and (current.backend, current.folder) == (source.backend, source.folder):
            self.params.options.set_classes(names)
            self.params.options.set_style_layers(layers)
            self.params.options.set_vocabulary(vocabulary)

    # ------------------------------------------------------------------ generate

    def generate(self) -> Task | None:
        """Generate onto the canvas on a worker thread (a second press stops it)."""
        if self.generate_task is not None and not self.generate_task.done.is_set():
            self.generate_task.abort()
            return None
        reason = self._generate_blocker()
        source = self.current_source()
        if reason or source is None:
            self.show_message(reason)
            return None
        if source.folder is None and self.params.form is not None:
            try:
                self.selection[1].schema.resolve(source.config)
            except UserError as exc:
                self.show_error(str(exc))
                return None
        options = self.params.options
        try:
            grid = options.mixing_request()  # style-based generators: the style-mixing grid instead
        except UserError as exc:
            self.show_error(str(exc))
            return None
        seed = options.seed_for_run(first_run=self._first_generate)
        self._first_generate = False
        count, label, truncation = options.count.value(), options.chosen_label(), options.truncation.value()
        cutoff, caption = options.truncation_cutoff(), options.caption.caption()
        from genstudio.gui.sampling import generate, mixing_grid

        if grid is not None:
            count = len(grid["row_seeds"]) * len(grid["column_seeds"])

        def work(emit, abort):
            items = (mixing_grid(source, **grid, label=label, truncation=round(truncation, 4),
                                 truncation_cutoff=cutoff, abort=abort) if grid is not None else
                     generate(source, seed=seed, count=count, label=label, truncation=round(truncation, 4),
                              truncation_cutoff=cutoff, caption=caption, abort=abort))
            for item in items:
                emit(item)
            return count

        task = Task(work)
        shown = self.edits.show([], f"Generate from {source.title}")  # undoable: Ctrl+Z shows the previous set
        task.signals.item.connect(lambda item: self._generated(shown, CanvasImage(item.title, item.pixels, None,
                                                                                  item.record)))
        task.signals.finished.connect(lambda n: self._generate_ended(f"generated {n} images from {source.title}, "
                                                                     f"seed {seed}"))
        task.signals.failed.connect(lambda text: (self._generate_ended(""), self.show_error(text)))
        task.signals.cancelled.connect(lambda: self._generate_ended("stopped"))
        self.tabs.setCurrentWidget(self.canvas)
        self.generate_task = task.start()
        self.show_message(f"generating {count} images from {source.title} (seed {seed})…", 0)
        self._update_actions()
        return task

    def _generated(self, shown: list, image: CanvasImage) -> None:
        """Each generated image goes into the history, and onto the canvas while it still shows this run's set."""
        self.record_images([image])
        if self.content.images is shown:
            self.content.add([image])

    def _generate_ended(self, text: str) -> None:
        if text:
            self.show_message(text)
        self._update_actions()

    # ------------------------------------------------------------------ stylize

    def stylize(self) -> Task | None:
        """Stylize the content image on a worker thread; input and output open in the before/after split."""
        if self.stylize_task is not None and not self.stylize_task.done.is_set():
            self.stylize_task.abort()
            return None
        source = self.current_source()
        if source is None or self.selection[1].kind.value not in IMAGE_TO_IMAGE:
            self.show_message("pick a stylizer or translator (a backend or model) in the library first")
            return None
        reason = why_not_stylize(self.selection[1], self.selection[0] == "model")
        if reason:
            self.show_message(reason)
            return None
        options = self.params.style.options()
        chosen = options["content"]
        if chosen is not None:
            before = CanvasImage.from_file(chosen)
        elif self.content.current is not None and self.content.mode != "split":
            before = self.content.current
        else:
            self.show_error("Select an image on the canvas (drop one there), or pick a content file under Stylize.")
            return None
        content_input = before.path if before.path is not None else before.pixels
        from genstudio.gui.sampling import stylize

        def work(emit, abort):
            return stylize(source, content_input, options["style"], strength=options["strength"],
                           direction=options["direction"], choices=options["choices"], max_size=options["max_size"],
                           content_record=before.record, abort=abort, progress=emit)

        task = Task(work)
        task.signals.item.connect(self._stylize_progress)
        task.signals.finished.connect(lambda result: self._stylized(before, result))
        task.signals.failed.connect(lambda text: (self._generate_ended(""), self.show_error(text)))
        task.signals.cancelled.connect(lambda: self._generate_ended("stopped"))
        self.stylize_task = task.start()
        self.show_message(f"stylizing {before.title} with {source.title}…", 0)
        self._update_actions()
        return task

    def _stylize_progress(self, event: Any) -> None:
        if getattr(event, "kind", "") == "progress" and event.total:
            self.show_message(f"{event.task}: {event.done:.0f} / {event.total:.0f}", 0)

    def _stylized(self, before: CanvasImage, result: Any) -> None:
        after = CanvasImage(result.title, result.pixels, None, result.record)
        self.record_images([after])
        self.edits.compare([before, after], 0, 1, f"Stylize {before.title}")
        self.tabs.setCurrentWidget(self.canvas)
        self._generate_ended("stylized: drag on the image to move the before/after divider")
