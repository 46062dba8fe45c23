"""The main window's queued work and model folders: the job worker, Train…, other job kinds, plugin installs,
training views and opening model folders. Mixed into MainWindow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from genstudio.errors import UserError
from genstudio.gui import library_data
from genstudio.gui.content import CanvasImage
from genstudio.gui.training_view import TrainingView
from genstudio.jobs import Job, Worker

FOLDER_KINDS = {"stylize-folder": "stylizer", "translate-folder": "translator"}  # folder job kind -> backend kind


class JobsMixin:
    """Needs: queue, registry, selection, params, content, canvas, tabs, library, queue_model, queue_panel,
    training_views, worker, relay, worker_label, show_message, show_error, reload_library."""

    train_dialog = None  # the training form (non-modal), made on first use
    _following_queue = False  # training views follow the queue's job states (connected with the first view)

    # ------------------------------------------------------------------ the job worker

    def start_worker(self, quiet: bool = False) -> bool:
        """Run the queue's jobs from this window; if another worker (a CLI one) owns the queue, show its jobs and
        take over once it is gone (`adopt_queue`, polled)."""
        from PySide6.QtCore import QTimer

        self.worker = Worker(self.queue, on_job=self.relay.job_event.emit)
        try:
            self.worker.start()
        except UserError as exc:
            self.worker = None
            self.worker_label.setText("jobs run by another worker")
            self.worker_label.setToolTip(str(exc))
            if not quiet:
                self.show_message(f"{exc}: this window shows its jobs")
            if self.adopt_timer is None:
                self.adopt_timer = QTimer(self)
                self.adopt_timer.setInterval(5000)
                self.adopt_timer.timeout.connect(self.adopt_queue)
            self.adopt_timer.start()
            return False
        if self.adopt_timer is not None:
            self.adopt_timer.stop()
        recovered = self.worker.recovered
        self.worker_label.setText("job worker: running")
        if recovered:
            self.show_message(f"{len(recovered)} job(s) were interrupted when the app last stopped: select one in "
                              "the queue and press Retry / resume")
        self.queue_model.refresh(force=True)
        return True

    def adopt_queue(self) -> bool:
        """Start this window's worker once the other worker has stopped."""
        if self.worker is not None or self.queue.worker_pid() is not None:
            return False
        return self.start_worker(quiet=True)

    def _sync_training_views(self) -> None:
        """Each open training view shows its run's job state (also for jobs another worker runs)."""
        for job in self.queue_model.jobs:
            if job.kind == "train" and job.params.get("out"):
                view = self.training_views.get(Path(job.params["out"]).resolve())
                if view is not None and view.job_status != job.status:
                    view.set_job(job)

    def _job_event(self, job: Job) -> None:
        self.queue_model.refresh(force=True)
        if job.status in ("done", "failed", "cancelled", "interrupted"):
            self.show_message(f"job {job.id} ({job.kind}) {job.status}" + (f": {job.error}" if job.error else ""))
            if job.kind in ("train", "plugin-install", "plugin-uninstall"):
                self.reload_library(rediscover=job.kind != "train")
            if job.kind == "generate" and job.status == "done":
                self.show_message(f"job {job.id} generated its images: double-click it in the queue to see them")

    def show_job_results(self, job: Job) -> int:
        """Put a finished generate job's images on the canvas; returns how many."""
        files = [path for path in (job.result or {}).get("files", []) if Path(path).is_file()]
        self.edits.show([CanvasImage.from_file(path) for path in files], f"Show job {job.id}'s images")  # undoable
        self.tabs.setCurrentWidget(self.canvas)
        return len(files)

    # ------------------------------------------------------------------ models, training, jobs

    def open_model_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Open a model folder")
        if not folder:
            return
        entry = library_data.read_entry(folder)
        if entry.error or not (entry.backend or (Path(folder) / "metrics.jsonl").is_file()):
            self.show_error(entry.error or f"{folder} is not a model folder (no model.json)")
            return
        library_data.remember_folder(folder)
        self.reload_library()
        self.library.select_model(folder)

    def choose_models_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", str(library_data.models_folder()))
        if folder:
            library_data.set_models_folder(folder)
            self.reload_library()

    def train(self):
        """Open (or raise) the training form, non-modal: for the selected trainable backend, starting from the
        parameters panel's values when that backend is selected there, else from the form's last values."""
        from genstudio.gui.train_dialog import TrainDialog

        backend, config = None, None
        if self.selection is not None and self.selection[1] is not None and self.selection[1].capabilities.trainable:
            backend = self.selection[1].id
            if self.selection[0] == "backend" and self.params.form is not None:
                defaults = self.selection[1].schema.defaults()
                config = {key: value for key, value in self.params.form.values().items() if value != defaults[key]}
        dialog = self.train_dialog
        if dialog is None:
            dialog = TrainDialog(self.registry, backend, config, parent=self, taken=self.queued_run_folders)
            dialog.queued.connect(self.queue_train)
            self.train_dialog = dialog
        elif backend is not None and dialog.backend.findData(backend) >= 0:
            dialog.given_backend, dialog.given_config = backend, dict(config or {})
            dialog.backend.setCurrentIndex(dialog.backend.findData(backend))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def queued_run_folders(self) -> set[Path]:
        """Output folders of the train jobs in the queue (any status): a new run never shares one."""
        return {Path(job.params["out"]) for job in self.queue.list(kind="train") if job.params.get("out")}

    def queue_train(self, params: dict[str, Any]) -> int | None:
        try:
            job_id = self.queue.add("train", params)
        except UserError as exc:
            self.show_error(str(exc))
            return None
        Path(params["out"]).mkdir(parents=True, exist_ok=True)
        library_data.remember_folder(params["out"])
        self.queue_model.refresh(force=True)
        self.queue_panel.select_job(job_id)
        self.open_training_job(self.queue.get(job_id))
        self.reload_library()
        self.show_message(f"queued training job {job_id}: {params['backend']} → {params['out']}")
        return job_id

    def folder_kind(self, kind: str) -> str:
        """The job kind the folder action queues: translate-folder for a selected translator, else `kind`."""
        translator = self.selection is not None and self.selection[1] is not None \
            and self.selection[1].kind.value == "translator"
        return "translate-folder" if kind == "stylize-folder" and translator else kind

    def kind_blocker(self, kind: str) -> str:
        """'' when a stylize-folder / translate-folder / export / eval job can be queued for the selection, else
        why not."""
        from genstudio.jobs import runner_spec

        kind = self.folder_kind(kind)
        if runner_spec(kind).target is None:
            return "not available yet (no job runner for this kind is installed)"
        if self.selection is None or self.selection[1] is None:
            return "pick a model in the library first"
        where, spec, _ = self.selection
        if kind in FOLDER_KINDS:
            if spec.kind.value != FOLDER_KINDS[kind]:
                return "pick a stylizer or translator backend or model in the library"
            if spec.capabilities.trainable and where != "model":
                return f"{spec.name} needs a trained model: pick one in the library"
            return ""
        if where != "model":
            return "pick a trained model in the library"
        if kind == "export" and not spec.capabilities.exportable:
            return f"{spec.name} has no ONNX export recipe"
        if kind == "eval" and spec.kind.value not in ("generator", "autoencoder"):
            return "evaluation compares generated images with a dataset: pick a generator model"
        return ""

    def job_params(self, kind: str, folder: str) -> dict[str, Any]:
        """Parameters of a stylize-folder / translate-folder / export / eval job for the selection; `folder`: the
        input images (stylize, translate) or the real images (eval). A translation goes the direction chosen in
        the Translate box."""
        where, spec, entry = self.selection
        params: dict[str, Any] = {"model": str(entry.folder) if where == "model" else spec.id}
        if kind in FOLDER_KINDS:
            style = self.params.style.options()
            suffix = "-translated" if kind == "translate-folder" else "-stylized"
            out = Path(folder).with_name(Path(folder).name + suffix)
            params.update({"inputs": [folder], "out": str(out)})
            if style["style"] is not None and kind == "stylize-folder":  # a translator takes no style image
                params["style"] = str(style["style"])
            for name in ("direction", "strength", "max_size"):  # direction: translators; strength: stylizers
                if style[name] is not None:
                    params[name] = style[name]
            params.update(style["choices"])  # declared choice inputs by name, as the CLI's --style NAME|mix
            if where != "model" and self.params.form is not None:
                defaults = spec.schema.defaults()
                params["set"] = [f"{key}={value}" for key, value in self.params.form.values().items()
                                 if value != defaults[key]]
        elif kind == "eval":
            params["data"] = folder
        return params

    def queue_kind(self, kind: str, folder: str | None = None) -> int | None:
        """Queue a stylize-folder (translate-folder for a translator) / export / eval job for the selected backend
        or model."""
        reason = self.kind_blocker(kind)
        if reason:
            self.show_message(reason)
            return None
        kind = self.folder_kind(kind)
        if kind in (*FOLDER_KINDS, "eval") and folder is None:
            titles = {"stylize-folder": "Folder of images to stylize",
                      "translate-folder": "Folder of images to translate", "eval": "Real images to compare with"}
            folder = QFileDialog.getExistingDirectory(self, titles[kind])
            if not folder:
                return None
        try:
            job_id = self.queue.add(kind, self.job_params(kind, folder or ""))
        except UserError as exc:
            self.show_error(str(exc))
            return None
        self.queue_model.refresh(force=True)
        self.queue_panel.select_job(job_id)
        self.show_message(f"queued {kind} job {job_id}: see the queue")
        return job_id

    def open_training_view(self, folder: str | Path, title: str = "") -> TrainingView:
        folder = Path(folder).resolve()
        view = self.training_views.get(folder)
        if view is None:
            if not self._following_queue:  # the first view: follow the queue from now on
                self.queue_model.jobs_changed.connect(self._sync_training_views)
                self._following_queue = True
            view = TrainingView(folder, title)
            self.training_views[folder] = view
            self.tabs.addTab(view, f"Training · {folder.name}")
        self.tabs.setCurrentWidget(view)
        return view

    def open_training_job(self, job: Job) -> TrainingView:
        view = self.open_training_view(job.params["out"], f"Training {job.params.get('backend', '')} (job {job.id})")
        view.set_job(job)
        return view

    def open_training_selected(self) -> None:
        if self.selection is not None and self.selection[0] in ("model", "folder"):
            self.open_training_view(self.selection[2].folder)

    def _close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if isinstance(widget, TrainingView):
            widget.stop()
            self.training_views.pop(widget.folder, None)
            self.tabs.removeTab(index)
            widget.deleteLater()

    # ------------------------------------------------------------------ dialogs

    def open_settings(self):
        from genstudio.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.registry, self)
        dialog.accepted.connect(self.reload_library)
        dialog.open()
        return dialog

    def open_plugin_manager(self):
        from genstudio.gui.plugin_manager import PluginManagerDialog

        dialog = PluginManagerDialog(self)
        dialog.plugins_changed.connect(lambda: self.reload_library(rediscover=True))
        dialog.install_requested.connect(self.queue_plugin_install)
        dialog.uninstall_requested.connect(self.queue_plugin_uninstall)
        dialog.show()
        return dialog

    def queue_plugin_install(self, requirement: str) -> int | None:
        try:
            job_id = self.queue.add("plugin-install", {"requirement": requirement})
        except UserError as exc:
            self.show_error(str(exc))
            return None
        self.queue_model.refresh(force=True)
        return job_id

    def queue_plugin_uninstall(self, name: str) -> int | None:
        try:
            job_id = self.queue.add("plugin-uninstall", {"name": name})
        except UserError as exc:
            self.show_error(str(exc))
            return None
        self.queue_model.refresh(force=True)
        return job_id

    def queue_demo(self) -> int | None:
        """Help > Run the demo: `genstudio demo` as a queued job into the app's data folder; its sample grid and
        stylized grid open in the gallery when it ends (a rerun reuses what an earlier demo made)."""
        from genstudio import paths
        from genstudio.gui.settings_dialog import app_device

        try:
            job_id = self.queue.add("demo", {"out": str(paths.data_dir() / "demo"), "device": app_device()})
        except UserError as exc:
            self.show_error(str(exc))
            return None
        self.queue_model.refresh(force=True)
        self.show_message(f"job {job_id}: the demo trains a small generator for a few minutes; its results open in "
                          "the gallery", 15000)
        return job_id

    def open_latent_explorer(self):
        from genstudio.gui.latent import LatentExplorer

        source = self.current_source()
        if source is None or self._generate_blocker():
            self.show_message(self._generate_blocker())
            return None
        explorer = LatentExplorer(source, self.content, self.params.options.chosen_label(), parent=self)
        explorer.send_to_canvas.connect(lambda images: self.edits.show(images, "Send the latent path to the canvas"))
        explorer.show()
        self.explorers.append(explorer)
        return explorer
