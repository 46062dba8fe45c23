"""The main window: canvas in the centre (with training views as tabs), library on the left, parameters and
provenance on the right, the job queue at the bottom. It wires the views to the Qt-free core; the work itself
runs in the job queue's worker processes or, for a handful of images, on a thread-pool task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from genstudio.errors import UserError
from genstudio.gui import library_data
from genstudio.gui.canvas import Canvas
from genstudio.gui.content import CanvasContent, save_image
from genstudio.gui.gallery import ProvenanceTable, last_folder, remember_folder
from genstudio.gui.library import LibraryModel, LibraryPanel
from genstudio.gui.params import ParametersPanel
from genstudio.gui.queue_model import QueueModel, QueuePanel
from genstudio.gui.sampling import IMAGE_TO_IMAGE, Source, why_not_generate, why_not_stylize
from genstudio.gui.training_view import TrainingView
from genstudio.gui.window_gallery import GalleryMixin
from genstudio.gui.window_jobs import JobsMixin
from genstudio.gui.window_runs import RunsMixin
from genstudio.gui.workers import Task
from genstudio.inputs import InputKind
from genstudio.jobs import JobQueue, Worker

QUEUED_KINDS = {"stylize-folder": "Stylize folder…", "export": "Export ONNX…", "eval": "Evaluate"}  # toolbar actions
QUEUED_KINDS_SHOWN = {**QUEUED_KINDS, "translate-folder": "Translate folder…"}  # the folder action, for translators


class WorkerRelay(QObject):
    """Carries the job worker's callbacks (its own thread) onto the GUI thread."""

    job_event = Signal(object)


class MainWindow(RunsMixin, JobsMixin, GalleryMixin, QMainWindow):
    def __init__(self, queue: JobQueue | None = None, *, start_worker: bool = True, registry: Any = None):
        super().__init__()
        from genstudio.plugins import get_registry

        self.setWindowTitle("genstudio")
        screen = self.screen().availableGeometry() if self.screen() else None
        self.resize(min(1480, int(screen.width() * 0.95)) if screen else 1480,
                    min(920, int(screen.height() * 0.92)) if screen else 920)
        self.registry = registry or get_registry()
        self.queue = queue or JobQueue()
        self.content = CanvasContent()
        self.selection: tuple[str, Any, Any] | None = None  # ("backend", spec, None) | ("model", spec, entry)
        self.generate_task: Task | None = None
        self.stylize_task: Task | None = None
        self.label_task: Task | None = None
        self.training_views: dict[Path, TrainingView] = {}
        self.explorers: list = []
        self._first_generate = True

        self.canvas = Canvas(self.content)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.addTab(self.canvas, "Canvas")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        self.setCentralWidget(self.tabs)

        self.library_model = LibraryModel(self)
        self.library = LibraryPanel(self.library_model)
        self.library.selected.connect(self._library_selected)
        self.library.open_folder_requested.connect(self.open_model_folder)
        self.library.refresh_requested.connect(lambda: self.reload_library(rediscover=True))
        self.library.tree.doubleClicked.connect(self._library_double_clicked)
        self.library_dock = self._dock("Library", self.library, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.params = ParametersPanel()
        self.params.generate_requested.connect(self.generate)
        self.params.stylize_requested.connect(self.stylize)
        self.params_dock = self._dock("Parameters", self.params, Qt.DockWidgetArea.RightDockWidgetArea)
        self.provenance = ProvenanceTable()
        self.provenance_dock = self._dock("Provenance", self.provenance, Qt.DockWidgetArea.RightDockWidgetArea)

        self.queue_model = QueueModel(self.queue, self)
        self.queue_panel = QueuePanel(self.queue_model)
        self.queue_panel.open_training.connect(self.open_training_job)
        self.queue_panel.open_results.connect(self.show_job_results)
        self.queue_panel.message.connect(self.show_message)
        self.queue_dock = self._dock("Queue", self.queue_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.library_dock, self.params_dock], [300, 360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.params_dock, self.provenance_dock], [600, 220], Qt.Orientation.Vertical)
        self.resizeDocks([self.queue_dock], [190], Qt.Orientation.Vertical)

        self.content.subscribe(self._content_event)
        self._build_actions()
        self.worker_label = QLabel()
        self.statusBar().addPermanentWidget(self.worker_label)
        if self.queue.notice:  # a damaged queue file was moved aside and a fresh queue started
            self.show_message(self.queue.notice, 120000)
        self.worker: Worker | None = None
        self.adopt_timer = None  # polls for the queue's other worker to go (see JobsMixin.adopt_queue)
        self.relay = WorkerRelay()
        self.relay.job_event.connect(self._job_event)
        self._build_gallery()  # the history, the Gallery tab, the canvas's undo stack (window_gallery)
        if start_worker:
            self.start_worker()
        else:
            self.worker_label.setText("jobs: not run by this window")
        self.reload_library()

    # ------------------------------------------------------------------ layout helpers

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        return action

    def _build_actions(self) -> None:
        self.generate_action = self._action("Generate", self.generate, "Ctrl+G", "Generate images onto the canvas")
        self.train_action = self._action("Train…", self.train, "Ctrl+T", "Queue a training run")
        self.kind_actions = {kind: self._action(text, lambda _=False, k=kind: self.queue_kind(k))
                             for kind, text in QUEUED_KINDS.items()}
        self.fit_action = self._action("Fit", self.canvas.fit, "Ctrl+0", "Fit the canvas to the window")
        self.actual_action = self._action("100%", self.canvas.actual_size, "Ctrl+1", "One image pixel per screen pixel")
        self.grid_action = self._action("Grid", lambda: self.content.set_mode("grid"), None, "Show all images")
        self.single_action = self._action("Single", lambda: self.content.set_mode("single"), None,
                                          "Show the selected image alone")
        self.compare_action = self._action("Compare", self.compare, None,
                                           "Before/after split of the selected image and the next one")
        self.save_action = self._action("Save…", self.save_selected, QKeySequence.StandardKey.Save,
                                        "Save the selected image (PNG keeps its provenance)")
        self.copy_action = self._action("Copy", self.copy_selected, QKeySequence.StandardKey.Copy,
                                        "Copy the selected image to the clipboard")
        self.latent_action = self._action("Latent explorer…", self.open_latent_explorer, "Ctrl+L",
                                          "Interpolate between two seeds of the selected generator")
        self.steps_action = self._action("Drawing steps…", self.open_steps_player, None,
                                         "Play and export how the selected model draws, step by step (DRAW)")
        self.walk_action = self._action("Latent walk…", self.open_latent_walk, None,
                                        "A smooth walk through seeds of the selected generator, as a GIF/WebP")
        self.restore_action = self._action("Restore…", self.open_restore, "Ctrl+R", "Inpaint (paint a mask), "
                                           "denoise or upscale the selected image with a restorer")
        self.training_action = self._action("Training view", self.open_training_selected, None,
                                            "Loss curves and samples of the selected model folder")
        self.plugins_action = self._action("Plugins…", self.open_plugin_manager, None, "Installed plugins")
        self.try_action = self._action("Try it", self.try_it, None, "Generate images at once with a backend that "
                                       "needs no training (no model, no dataset needed)")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar_main")
        for action in (self.generate_action, self.train_action, *self.kind_actions.values(), None,
                       self.fit_action, self.actual_action, self.grid_action, self.single_action,
                       self.compare_action, None, self.save_action, self.copy_action, None, self.latent_action,
                       self.training_action, self.plugins_action, None, self.try_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self._action("Open model folder…", self.open_model_folder, "Ctrl+O"))
        menu.addAction(self._action("Open images…", self.open_images, "Ctrl+Shift+O"))
        menu.addAction(self._action("Models folder…", self.choose_models_folder, None,
                                    "Where the library looks for models and new runs are saved"))
        menu.addAction(self._action("Settings…", self.open_settings, QKeySequence.StandardKey.Preferences,
                                    "Device, folders, pretrained weights, theme"))
        menu.addSeparator()
        menu.addActions([self.save_action, self.copy_action])
        menu.addSeparator()
        menu.addAction(self._action("Quit", self.close, QKeySequence.StandardKey.Quit))
        menu = self.menuBar().addMenu("&View")
        menu.addActions([self.fit_action, self.actual_action, self.grid_action, self.single_action,
                         self.compare_action, self.training_action])
        menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            menu.addAction(dock.toggleViewAction())
        menu = self.menuBar().addMenu("&Tools")
        menu.addActions([self.generate_action, self.train_action, *self.kind_actions.values(), self.latent_action,
                         self.walk_action,
                         self.plugins_action, self.try_action])
        menu.addAction(self.steps_action)
        menu.addAction(self.restore_action)
        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self._action("Keyboard shortcuts", self.show_shortcuts, "F1", "Every shortcut of the app"))
        menu.addAction(self._action("Quick tour", self.show_tour, None, "A short tour of the window"))
        menu.addAction(self._action("Run the demo", self.queue_demo, None, "Queue genstudio demo: a shapes set, a "
                                    "small generator trained for a few minutes, its grid, ONNX export and a stylized "
                                    "grid, opened in the gallery"))
        self.canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.canvas.addActions([self.save_action, self.copy_action, self.restore_action, self.compare_action,
                                self.grid_action, self.single_action, self.fit_action, self.actual_action])
        self._update_actions()

    def try_it(self):
        """First run: pick a generator that needs no training (any plugin's) and generate onto the canvas."""
        ready = sorted(spec.id for spec in self.registry.backends.values()
                       if spec.kind.value == "generator" and not spec.capabilities.trainable)
        if not ready or not self.library.select("backend", lambda backend: backend == ready[0]):
            self.show_message("no installed backend generates without training: use Train… first")
            return None
        return self.generate()

    def open_latent_walk(self):
        from genstudio.gui.walk_dialog import open_latent_walk

        return open_latent_walk(self)

    def open_restore(self):
        from genstudio.gui.mask_painter import open_restore

        return open_restore(self)

    def open_steps_player(self):
        from genstudio.gui.steps_player import open_steps_player

        return open_steps_player(self)

    # ------------------------------------------------------------------ messages

    def show_message(self, text: str, timeout: int = 10000) -> None:
        self.statusBar().showMessage(text, timeout)

    def show_error(self, text: str) -> None:
        from genstudio.wording import for_app

        spec = self.selection[1] if self.selection is not None else None
        text = for_app(text, spec.schema if spec is not None else None)  # the app's control names, not CLI flags
        self.show_message(text, 15000)
        if self.isVisible():
            QMessageBox.warning(self, "genstudio", text)

    # ------------------------------------------------------------------ library and selection

    def reload_library(self, rediscover: bool = False) -> None:
        from genstudio.plugins import get_registry

        if rediscover:
            self.registry = get_registry(refresh=True)
        keep = self.selection
        runs = library_data.queued_runs(self.queue)  # folder -> the run's backend and job state
        folders = library_data.find_models(extra=[*library_data.remembered_folders(), *runs])  # CLI-queued runs too
        self.library_model.populate(self.registry, folders, runs)
        if keep is not None and keep[0] == "model":
            self.library.select_model(keep[2].folder)
        elif keep is not None:
            self.library.select("backend", lambda backend_id: backend_id == keep[1].id)
        else:
            self._update_actions()

    def _library_selected(self, kind: str, payload: Any) -> None:
        if kind == "backend" and payload in self.registry.backends:
            spec = self.registry.backends[payload]
            self.selection = ("backend", spec, None)
            fixed = spec.capabilities.trainable
            self.params.show_schema(spec.name, f"{spec.kind.value} · plugin {spec.plugin} · {spec.description}",
                                    spec.schema)
            if fixed:
                self.params.subtitle.setText(self.params.subtitle.text() + "\nTrain… starts from these settings.")
        elif kind == "model" and payload.backend in self.registry.backends:
            spec = self.registry.backends[payload.backend]
            self.selection = ("model", spec, payload)
            self.params.show_schema(payload.name, f"{spec.name} model · {payload.summary()}", spec.schema,
                                    payload.config, read_only_reason="A trained model's settings are fixed by its "
                                    "weights.")
        else:
            self.selection = ("folder", None, payload) if kind == "model" else None
            self.params.show_empty()
            if kind == "model":
                self.params.title.setText(payload.name)
                self.params.subtitle.setText(payload.error or "Still training: open its training view "
                                             "(double-click), or wait for model.json.")
        self._update_actions()
        self._load_classes()

    def _library_double_clicked(self, index) -> None:
        from genstudio.gui.library import ROLE_KIND, ROLE_PAYLOAD

        if index.data(ROLE_KIND) == "model":
            self.open_training_view(index.data(ROLE_PAYLOAD).folder)

    def current_source(self) -> Source | None:
        if self.selection is None or self.selection[1] is None:
            return None
        from genstudio.gui.settings_dialog import app_device

        kind, spec, entry = self.selection
        if kind == "model":
            return Source(spec.id, entry.folder, device=app_device())
        config = self.params.form.values() if self.params.form else {}
        return Source(spec.id, None, config, device=app_device())

    def _generate_blocker(self) -> str:
        if self.selection is None or self.selection[1] is None:
            return "Pick a backend or a trained model in the library first."
        kind, spec, _ = self.selection
        return why_not_generate(spec, kind == "model")

    def _update_actions(self) -> None:

        reason = self._generate_blocker()
        running = self.generate_task is not None and not self.generate_task.done.is_set()
        self.params.set_generate_enabled(not reason, reason)
        self.params.generate_button.setText("Stop" if running else "Generate")
        if running:
            self.params.set_generate_enabled(True, "Stop generating")
        self.generate_action.setEnabled(not reason)
        spec = self.selection[1] if self.selection else None
        stylizer = spec is not None and spec.kind.value in IMAGE_TO_IMAGE
        direction = spec.input(InputKind.DIRECTION) if stylizer else None
        self.params.show_stylizer(stylizer, bool(spec and spec.capabilities.needs_style_image),
                                  tuple(direction.choices) if direction is not None else (),
                                  spec.id if stylizer else "", spec.inputs if stylizer else ())
        if stylizer:
            style_reason = why_not_stylize(spec, self.selection[0] == "model")
            styling = self.stylize_task is not None and not self.stylize_task.done.is_set()
            self.params.set_stylize_enabled(styling or not style_reason, "Stop" if styling else style_reason)
            verb = "Translate" if spec.kind.value == "translator" else "Stylize"
            self.params.stylize_button.setText("Stop" if styling else verb)
        self.generate_action.setToolTip(reason or "Generate images onto the canvas")
        self.latent_action.setEnabled(not reason)
        from genstudio.gui.steps_player import why_not_steps

        self.steps_action.setEnabled(not why_not_steps(spec, bool(self.selection) and self.selection[0] == "model"))
        self.walk_action.setEnabled(not reason)
        for kind, action in self.kind_actions.items():
            blocker = self.kind_blocker(kind)
            text = QUEUED_KINDS_SHOWN[self.folder_kind(kind)]  # "Translate folder…" for a translator
            action.setEnabled(not blocker)
            action.setText(text)
            action.setToolTip(text.rstrip("…") + (f": {blocker}" if blocker else " (a queued job)"))
        selected = self.content.current is not None
        for action in (self.save_action, self.copy_action):
            action.setEnabled(selected)
        self.compare_action.setEnabled(len(self.content.images) >= 2)
        self.training_action.setEnabled(self.selection is not None and self.selection[0] in ("model", "folder"))

    # ------------------------------------------------------------------ canvas actions

    def _content_event(self, event: str) -> None:
        image = self.content.current
        self.provenance.set_image(image)
        self._update_actions()

    def save_selected(self) -> Path | None:
        image = self.content.current
        if image is None:
            return None
        name = (image.path.stem if image.path else image.title.replace(" ", "").replace("#", "-").replace("·", "-"))
        path, _ = QFileDialog.getSaveFileName(self, "Save image", str(last_folder() / f"{name}.png"),
                                              "PNG with provenance (*.png);;"
                                              "JPEG, provenance in a .json beside it (*.jpg *.jpeg);;"
                                              "WebP, provenance in a .json beside it (*.webp)")
        if not path:
            return None
        try:
            saved = save_image(image, path)
        except (UserError, OSError) as exc:
            self.show_error(str(exc))
            return None
        remember_folder(saved)
        self.show_message(f"saved {saved}")
        return saved

    def copy_selected(self) -> None:
        if self.canvas.copy_selected():
            self.show_message("copied the image to the clipboard")

    def compare(self) -> None:
        images = self.content.images
        if len(images) < 2:
            return
        first = self.content.selected or 0
        try:
            self.content.compare(first, (first + 1) % len(images))
        except UserError as exc:
            self.show_message(str(exc))

    def open_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if files:
            self.canvas.add_paths(files)

    # ------------------------------------------------------------------ closing

    def show_shortcuts(self):
        from genstudio.gui.help_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self.findChildren(QAction), self)
        dialog.show()
        return dialog

    def show_tour(self):
        from genstudio.gui.help_dialog import TourDialog

        self.tour = TourDialog(self)
        self.tour.show()
        return self.tour

    def closeEvent(self, event) -> None:
        running = [job for job in self.queue_model.jobs if job.status == "running"]
        if self.worker is not None and running and self.isVisible():
            answer = QMessageBox.question(
                self, "genstudio", f"{len(running)} job(s) are running. Quit anyway? They stop now and can be "
                "resumed next time (Retry / resume in the queue).")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        for task in (self.generate_task, self.label_task, self.stylize_task):
            if task is not None:
                task.abort()
        for explorer in self.explorers:
            explorer.close()
        for view in self.training_views.values():
            view.stop()
        if self.train_dialog is not None:
            self.train_dialog.close()  # keeps its values for next time
        self.queue_panel.timer.stop()
        if self.adopt_timer is not None:
            self.adopt_timer.stop()
        if self.worker is not None:
            self.worker.stop(wait=True, timeout=30)
            self.worker = None
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(5000)
        self.close_history()  # results still being written into the history are finished first
        super().closeEvent(event)
