"""The main window's history: every result is recorded (genstudio.history), the Gallery tab browses it, canvas
changes go through an undo stack, a folder job's results open in the gallery, and "reuse settings / seed" fill the
parameters panel from an image's provenance. Mixed into MainWindow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from genstudio.errors import UserError
from genstudio.gui.canvas import CanvasEdits
from genstudio.gui.content import CanvasImage
from genstudio.gui.gallery import GalleryPanel
from genstudio.history import Entry, History, result_files, reuse_settings

RESULT_KINDS = ("stylize-folder", "translate-folder", "restore-folder", "generate", "reconstruct", "interpolate",
                "demo")
OPENED_IN_GALLERY = ("stylize-folder", "translate-folder", "restore-folder", "demo")  # results shown at once


class HistoryRelay(QObject):
    """Carries the history writer thread's results onto the GUI thread."""

    written = Signal(object, object)  # [Entry] logged, job or None
    failed = Signal(str)


class GalleryMixin:
    """Needs: content, canvas, tabs, params, library, registry, queue, relay, label_task, show_message, show_error,
    open_model_folder, _action."""

    def _build_gallery(self) -> None:
        self.history = History()
        self.history_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")  # in order, off the UI
        self.history_relay = HistoryRelay()
        self.history_relay.written.connect(self._history_written)
        self.history_relay.failed.connect(self.show_message)
        self.edits = CanvasEdits(self.content, self)
        self.canvas.edits = self.edits
        self.gallery = GalleryPanel(self.history)
        self.tabs.insertTab(1, self.gallery, "Gallery")
        self.tabs.tabBar().setTabButton(1, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.gallery.show_requested.connect(self.show_entries)
        self.gallery.reuse_requested.connect(self.reuse_entry)
        self.gallery.message.connect(self.show_message)
        self.gallery.error.connect(self.show_error)
        self.gallery.entry_selected.connect(self._entry_provenance)
        self.tabs.currentChanged.connect(lambda _index: self._entry_provenance(None))
        self.content.subscribe(self._canvas_changed)
        self.relay.job_event.connect(self.record_job)
        self.undo_action = self.edits.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.edits.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.remove_action = self._action("Remove from canvas", self.edits.remove_selected,
                                          QKeySequence.StandardKey.Delete,
                                          "Take the selected image off the canvas (it stays in the gallery)")
        self.clear_action = self._action("Clear canvas", self.edits.clear, None,
                                         "Take every image off the canvas (they stay in the gallery; Ctrl+Z undoes)")
        self.gallery_action = self._action("Gallery", lambda: self.tabs.setCurrentWidget(self.gallery), "Ctrl+Shift+H",
                                           "Every image the app made, kept across restarts")
        self._add_history_menus()
        self._canvas_changed("")
        if self.history.notice:
            self.show_message(self.history.notice, 60000)

    def _add_history_menus(self) -> None:
        """An Edit menu before View (undo, redo, remove, clear), Gallery under View, the same on the canvas's
        context menu."""
        from PySide6.QtWidgets import QMenu

        bar = self.menuBar()
        view = next((action for action in bar.actions() if action.text() == "&View"), None)
        edit = QMenu("&Edit", self)
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([self.remove_action, self.clear_action])
        bar.insertMenu(view, edit) if view is not None else bar.addMenu(edit)
        if view is not None:
            view.menu().addAction(self.gallery_action)
        separator = QAction(self)
        separator.setSeparator(True)
        self.canvas.addActions([separator, self.undo_action, self.redo_action, self.remove_action, self.clear_action])

    # ------------------------------------------------------------------ recording

    def record_images(self, images: list[CanvasImage]) -> None:
        """Record images made in memory (pixels and provenance) that are not in the history yet: each knows its
        entry at once; the files and the log line are written on the history's writer thread, in order."""
        pending = []
        for image in images:
            if image.pixels is None or image.record is None or image.history_id is not None:
                continue
            entry = self.history.new_image_entry(image.record, image.title)
            image.meta["history"] = entry.id
            image.meta["history_file"] = str(entry.path)
            pending.append((entry, image.pixels))
        if pending:
            try:
                self.history_writer.submit(self._write_images, pending)
            except RuntimeError:  # the window is closing and its writer has stopped: write now
                self._write_images(pending)

    def _write_images(self, pending: list) -> None:  # on the writer thread
        written = []
        for entry, pixels in pending:
            try:
                self.history.write_image(entry, pixels)
                written.append(entry)
            except (UserError, OSError) as exc:
                self.history_relay.failed.emit(f"could not keep {entry.title} in the history: {exc}")
        try:
            self.history.log_entries(written)
        except (UserError, OSError) as exc:
            self.history_relay.failed.emit(f"could not write the history ({self.history.log}): {exc}")
            return
        self.history_relay.written.emit(written, None)

    def _write_job_files(self, job: Any, files: list) -> None:  # on the writer thread
        try:
            entries = self.history.file_entries(files, job=job.id)
            self.history.log_entries(entries)
        except (UserError, OSError) as exc:
            self.history_relay.failed.emit(f"could not keep job {job.id}'s images in the history: {exc}")
            entries = []
        self.history_relay.written.emit(entries, job)

    def close_history(self) -> None:
        """Closing: let the writer finish what it was given (files and log lines), then stop it."""
        self.history_writer.shutdown(wait=True)

    def finish_history(self, timeout: float = 30) -> None:
        """Wait for the writer (closing; tests), then list what it wrote."""
        self.history_writer.submit(lambda: None).result(timeout=timeout)
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)  # the writer's queued signals, delivered now

    def _canvas_changed(self, event: str) -> None:
        """Anything with pixels and provenance that reaches the canvas (the latent strip's "send to canvas", a
        plugin's widget) is kept too."""
        if event in ("added", "reset"):
            self.record_images(self.content.images)
        self.remove_action.setEnabled(self.content.current is not None)
        self.clear_action.setEnabled(bool(self.content.images))

    def record_job(self, job: Any) -> None:
        """A finished job's images go into the history (thumbnails made on the writer thread); a folder job's
        then open in the gallery, selected."""
        if job.status != "done" or job.kind not in RESULT_KINDS:
            return
        job = self.queue.get(job.id) or job  # the stored row carries the result
        files = result_files(job.params, job.result)
        if files:
            try:
                self.history_writer.submit(self._write_job_files, job, files)
            except RuntimeError:  # the window is closing
                self._write_job_files(job, files)

    def _history_written(self, written: list[Entry], job: Any) -> None:
        self.history.adopt(written)
        if job is None:
            return
        entries = [entry for entry in self.history.entries if entry.job == job.id]
        if job.kind in OPENED_IN_GALLERY and entries:
            self.gallery.set_filter()
            self.gallery.select(entries)
            self.tabs.setCurrentWidget(self.gallery)
            self.show_message(f"job {job.id} ({job.kind}) done: its {len(entries)} image(s) are selected in the "
                              "gallery")

    # ------------------------------------------------------------------ gallery actions

    def _entry_provenance(self, _entry: Entry | None = None) -> None:
        """The Provenance dock follows the gallery's one selected image while the gallery shows, else the canvas's."""
        if self.tabs.currentWidget() is not self.gallery:
            self.provenance.set_image(self.content.current)
            return
        chosen = self.gallery.selected()
        entry = chosen[0] if len(chosen) == 1 else None
        self.provenance.set_image(None if entry is None else CanvasImage(entry.title, None, entry.path, entry.record,
                                                                         {"history": entry.id}))

    def show_entries(self, entries: list[Entry]) -> None:
        images = []
        for entry in entries:
            image = CanvasImage.from_file(entry.path)
            image.title = entry.title
            image.meta["history"] = entry.id
            images.append(image)
        self.edits.show(images, f"Show {len(images)} from the gallery")
        self.tabs.setCurrentWidget(self.canvas)

    def reuse_entry(self, entry: Entry, seed_only: bool = False) -> bool:
        """Fill the parameters panel from the entry's provenance (checked through the backend's schema)."""
        try:
            settings = reuse_settings(entry.record, self.registry)
        except UserError as exc:
            self.show_error(f"{entry.title}: {exc}")
            return False
        options = self.params.options
        if seed_only:
            if "seed" not in settings.options:
                self.show_error(f"{entry.title} was not made from a seed")
                return False
            options.seed.setValue(settings.options["seed"])
            options.lock.setChecked(True)
            self.show_message(f"seed {settings.options['seed']} locked for the next Generate")
            return True
        if settings.model is not None:
            self.open_model_folder(str(settings.model))
        elif not self.library.select("backend", lambda backend: backend == settings.backend):
            self.show_error(f"{entry.title}: backend {settings.backend} is not in the library")
            return False
        if settings.model is None and self.params.form is not None:
            self.params.form.set_values(settings.config)
        self._apply_options(settings.options)
        self.tabs.setCurrentWidget(self.canvas)
        self.show_message(f"the settings of {entry.title} are in the parameters panel")
        return True

    def _apply_options(self, values: dict[str, Any]) -> None:
        options, style = self.params.options, self.params.style
        if "seed" in values:
            options.seed.setValue(values["seed"])
            options.lock.setChecked(True)
            options.count.setValue(min(options.count.maximum(), values.get("index", 0) + 1))  # up to image i
        if "truncation" in values:
            options.truncation.setValue(values["truncation"])
        if "truncation_cutoff" in values:
            options.cutoff.setValue(values["truncation_cutoff"])
        if "strength" in values:
            style.use_strength.setChecked(True)
            style.strength.setValue(values["strength"])
        if "direction" in values:
            style.direction.setCurrentText(values["direction"])
        if "choices" in values:  # a multi-style network's styles (checked against its inputs by reuse_settings)
            style.choices.set_values(values["choices"])
        if "max_size" in values:
            style.max_size.setValue(values["max_size"])
        label = values.get("label")
        if label is not None:  # class names arrive from a worker thread: set the label once they are there
            def set_label(*_args) -> None:
                index = options.label.findData(label)
                if index >= 0:
                    options.label.setCurrentIndex(index)

            task = self.label_task
            if task is not None and not task.done.is_set():
                task.signals.finished.connect(set_label)
            set_label()
