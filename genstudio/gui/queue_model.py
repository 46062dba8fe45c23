"""The queue dock: a table model adapting `JobQueue` (Qt-free, SQLite) and the thin panel over it.

The model re-reads the queue only when `JobQueue.last_change()` moves (polled by a QTimer), so an idle app does
one tiny query per tick. Rows are in run order: running jobs, then the waiting ones in the order the worker will
take them (drag a row, or ▲/▼, to change it: the order is the queue's, in SQLite), then finished jobs, newest
first. `Job` objects are the row data; `describe_job` is the line a person reads in the "What" column.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QByteArray, QMimeData, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from genstudio.errors import UserError
from genstudio.jobs import FAILED, INTERRUPTED, QUEUED, RUNNING, Job, JobQueue
from genstudio.jobs.model import CANCELLED, FINISHED, RETRYABLE, WAITING

COLUMNS = ("Job", "Kind", "What", "Status", "Progress", "ETA", "Details")
PROGRESS_COLUMN = 4
STATUS_COLORS = {RUNNING: "#3d8bfd", QUEUED: "#8a8f98", "paused": "#c9a227", "done": "#2e9e5b", FAILED: "#d9534f",
                 "cancelled": "#8a8f98", INTERRUPTED: "#e08a1e"}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


JOB_MIME = "application/x-genstudio-job"
THUMB_SIDE = 40  # the job's picture (an optimisation's current image, a batch's last output) in the What column
VISIBLE_ROWS = 6  # the dock shows at least this many jobs


def _short(path: Any, parts: int = 2) -> str:
    """The last `parts` parts of a path ("digits/train"), or the text as is."""
    text = str(path)
    pieces = Path(text).parts
    return "/".join(pieces[-parts:]) if len(pieces) > parts else text


def _model_name(model: Any) -> str:
    """A model folder's name, or a backend id."""
    text = str(model)
    return Path(text).name if ("/" in text or "\\" in text) else text


def describe_job(job: Job) -> str:
    """What the job does, for people: "Train dcgan on digits/train, 2000 steps -> dcgan-20240501-1200"."""
    params, kind = job.params, job.kind
    out = f" -> {_short(params['out'], 1)}" if params.get("out") else ""
    if kind == "train":
        length = f"{params['steps']} steps" if "steps" in params else f"{params.get('epochs', '?')} epochs"
        return f"Train {params.get('backend', '?')} on {_short(params.get('data', '?'))}, {length}{out}"
    if kind == "generate":
        return f"Generate {params.get('count', '?')} images from {_model_name(params.get('model', '?'))}{out}"
    if kind in ("stylize-folder", "translate-folder"):
        inputs = params.get("inputs") or []
        what = _short(inputs[0]) + (f" and {len(inputs) - 1} more" if len(inputs) > 1 else "") if inputs else "?"
        verb = "Translate" if kind == "translate-folder" else "Stylize"
        return f"{verb} {what} with {_model_name(params.get('model', '?'))}{out}"
    if kind == "export":
        return f"Export {_model_name(params.get('model', '?'))} to ONNX{out}"
    if kind == "eval":
        return f"Evaluate {_model_name(params.get('model', '?'))} against {_short(params.get('data', '?'))}"
    if kind == "plugin-install":
        return f"Install plugin {params.get('requirement', '?')}"
    if kind == "plugin-uninstall":
        return f"Uninstall plugin {params.get('name') or params.get('requirement', '?')}"
    names = ", ".join(f"{key} {_model_name(value)}" for key, value in params.items()
                      if isinstance(value, (str, int, float)) and not isinstance(value, bool))
    text = f"{kind.replace('-', ' ').capitalize()}" + (f": {names}" if names else "")
    return text if len(text) <= 100 else text[:97] + "..."


def run_order(jobs: list[Job], waiting_order: list[int]) -> list[Job]:
    """Running jobs, the waiting ones in the worker's order (`waiting_order`: ids), then the finished ones, newest
    first."""
    place = {job_id: index for index, job_id in enumerate(waiting_order)}
    running = [job for job in jobs if job.status == RUNNING]
    waiting = sorted((job for job in jobs if job.status in WAITING), key=lambda job: place.get(job.id, len(place)))
    finished = sorted((job for job in jobs if job.status not in (RUNNING, *WAITING)),
                      key=lambda job: (job.finished_at or job.updated_at or 0.0, job.id), reverse=True)
    return [*running, *waiting, *finished]


def job_picture(job: Job) -> str | None:
    """The image a job shows of its work: its preview while it runs, else its newest finished output."""
    from genstudio.events import LAST_OUTPUT, PREVIEW

    for key in ((PREVIEW, LAST_OUTPUT) if job.status == RUNNING else (LAST_OUTPUT,)):
        path = job.stats.get(key)
        if isinstance(path, str) and path and Path(path).is_file():
            return path
    return None


def status_text(job: Job) -> str:
    """The status a person reads: failed / stopped show as such everywhere (queue, training view, library)."""
    if job.status == RUNNING and job.cancel_requested:
        return "running (stopping)"
    return {CANCELLED: "cancelled", INTERRUPTED: "interrupted"}.get(job.status, job.status)


def details(job: Job) -> str:
    """The task, key numbers or the error: what a user wants to see at a glance."""
    if job.error:
        return job.error
    parts = [job.task] if job.task and job.status == RUNNING else []
    for key, value in job.stats.items():
        if isinstance(value, float):
            parts.append(f"{key} {value:.3g}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key} {value}")
    if job.status == "done" and job.result:
        out = job.result.get("out") or job.result.get("out_dir")
        if out:
            parts.append(f"→ {out}")
    return " · ".join(parts[:6])


class QueueModel(QAbstractTableModel):
    """Rows: the queue's jobs. `refresh()` re-reads when the queue changed (or always, with force=True)."""

    jobs_changed = Signal()

    def __init__(self, queue: JobQueue, parent=None):
        super().__init__(parent)
        self.queue = queue
        self.jobs: list[Job] = []
        self._thumbs: dict[tuple[str, float], Any] = {}  # (path, mtime) -> QPixmap
        self._seen_change = -1.0
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Re-read the queue if it changed; True when it did."""
        change = self.queue.last_change()
        if not force and change == self._seen_change:
            return False
        self._seen_change = change
        jobs = run_order(self.queue.list(), [job.id for job in self.queue.pending()])
        if [job.id for job in jobs] == [job.id for job in self.jobs]:
            self.jobs = jobs
            if jobs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(jobs) - 1, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self.jobs = jobs
            self.endResetModel()
        self.jobs_changed.emit()
        return True

    def tick(self) -> None:
        """Called every second: re-read on change, else just repaint the ETA of running jobs."""
        if not self.refresh():
            for row, job in enumerate(self.jobs):
                if job.status == RUNNING:
                    self.dataChanged.emit(self.index(row, 5), self.index(row, 5))

    def job(self, row: int) -> Job | None:
        return self.jobs[row] if 0 <= row < len(self.jobs) else None

    def row_of(self, job_id: int) -> int | None:
        return next((row for row, job in enumerate(self.jobs) if job.id == job_id), None)

    # Qt's model interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.jobs)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.jobs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.UserRole:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(job.id)
            if column == 1:
                return job.kind
            if column == 2:
                return describe_job(job)
            if column == 3:
                return status_text(job)
            if column == PROGRESS_COLUMN:
                if job.status == FAILED:
                    return "failed"
                fraction = job.fraction
                return "" if fraction is None else f"{fraction * 100:.0f}%"
            if column == 5:
                return format_eta(job.eta_seconds(time.time()))
            if column == 6:
                return details(job)
        if role == Qt.ItemDataRole.DecorationRole and column == 2:
            return self.thumbnail(job_picture(job))
        if role == Qt.ItemDataRole.ForegroundRole and (column == 3 or job.status == FAILED and column in (4, 6)):
            return QColor(STATUS_COLORS.get(job.status, "#8a8f98"))
        if role == Qt.ItemDataRole.ToolTipRole:
            tail = "\n".join(job.log_tail.splitlines()[-12:])
            return f"{describe_job(job)}\n{job.error or ''}\n{tail}".strip()
        return None

    def thumbnail(self, path: str | None) -> Any:
        """A small pixmap of `path` (re-read when the file changes), or None."""
        from genstudio.gui.qimages import load_pixmap

        if path is None:
            return None
        try:
            key = (path, Path(path).stat().st_mtime)
        except OSError:
            return None
        if key not in self._thumbs:
            pixmap = load_pixmap(path, max_side=THUMB_SIDE * 2)
            if pixmap.isNull():
                return None
            if len(self._thumbs) > 64:
                self._thumbs.clear()
            self._thumbs[key] = pixmap.scaled(THUMB_SIDE, THUMB_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
        return self._thumbs[key]

    # dragging a waiting job to another place in the line
    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if not index.isValid():
            return flags | Qt.ItemFlag.ItemIsDropEnabled
        if self.jobs[index.row()].status in WAITING:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [JOB_MIME]

    def mimeData(self, indexes) -> QMimeData:
        data = QMimeData()
        rows = sorted({index.row() for index in indexes if index.isValid()})
        if rows:
            data.setData(JOB_MIME, QByteArray(str(self.jobs[rows[0]].id).encode()))
        return data

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(JOB_MIME):
            return False
        target = row if row >= 0 else (parent.row() if parent.isValid() else len(self.jobs))
        try:
            self.move_to_row(int(bytes(data.data(JOB_MIME)).decode()), target)
        except (UserError, ValueError):
            return False
        return False  # the queue moved the job; refresh() shows it (Qt must not remove the source row itself)

    def move_to_row(self, job_id: int, row: int) -> None:
        """Move a waiting job so that it shows (and runs) where row `row` is: before the job now at that row."""
        waiting = [job.id for job in self.jobs if job.status in WAITING]
        if job_id not in waiting:
            raise UserError(f"job {job_id} has started or finished; only waiting jobs can be reordered")
        before = [job.id for job in self.jobs[:max(0, row)] if job.status in WAITING and job.id != job_id]
        self.queue.move(job_id, to=len(before) + 1)
        self.refresh(force=True)


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a progress bar."""

    def paint(self, painter, option, index) -> None:
        job = index.data(Qt.ItemDataRole.UserRole)
        fraction = job.fraction if job is not None and job.status != FAILED else None
        if fraction is None:  # no total, or failed (the text "failed", never a full bar)
            return super().paint(painter, option, index)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(fraction * 1000)
        bar.text = f"{fraction * 100:.0f}%"
        bar.textVisible = True
        bar.state = option.state
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class QueuePanel(QWidget):
    """The bottom dock: the jobs table and what can be done to the selected job and the queue."""

    open_training = Signal(object)  # a train Job, to show in the training view
    open_results = Signal(object)  # a finished generate Job, whose images go on the canvas
    message = Signal(str)  # for the status bar

    def __init__(self, model: QueueModel, parent=None):
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        buttons = QHBoxLayout()
        self.pause_button = QPushButton("Pause queue")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Paused: the running job finishes, no new job starts.")
        self.pause_button.toggled.connect(self._toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry / resume")
        self.up_button = QPushButton("▲")
        self.up_button.setToolTip("Run this waiting job earlier.")
        self.down_button = QPushButton("▼")
        self.down_button.setToolTip("Run this waiting job later.")
        self.hold_button = QPushButton("Hold")
        self.hold_button.setToolTip("Hold a queued job back (or release a held one).")
        self.remove_button = QPushButton("Remove")
        self.view_button = QPushButton("Training view")
        self.log_button = QPushButton("Log")
        self.log_button.setToolTip("The selected job's output (pip, training messages, errors).")
        self.status_label = QLabel()
        self.status_label.setStyleSheet("color: palette(mid);")
        for button, slot in ((self.cancel_button, self.cancel), (self.retry_button, self.retry),
                             (self.up_button, lambda: self.move(-1)), (self.down_button, lambda: self.move(1)),
                             (self.hold_button, self.hold), (self.remove_button, self.remove),
                             (self.view_button, self._open_training), (self.log_button, self.show_log)):
            button.clicked.connect(slot)
        for widget in (self.pause_button, self.cancel_button, self.retry_button, self.up_button, self.down_button,
                       self.hold_button, self.remove_button, self.view_button, self.log_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.table = QTableView()
        self.table.setModel(model)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setDragEnabled(True)
        self.table.setAcceptDrops(True)
        self.table.setDropIndicatorShown(True)
        self.table.setDragDropMode(QTableView.DragDropMode.InternalMove)
        self.table.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.table.setDragDropOverwriteMode(False)
        self.table.setToolTip("Drag a waiting job up or down to change when it runs.")
        self.table.setIconSize(QSize(24, 24))  # the job's picture: its current image, or its last output
        self.table.verticalHeader().hide()
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + rows * VISIBLE_ROWS + 4)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 44), (1, 90), (3, 90), (4, 120), (5, 70), (6, 280)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(self._open_job)
        layout.addWidget(self.table)
        self.empty_label = QLabel("No jobs yet. Train… queues a training run here; it keeps running in the "
                                  "background and survives restarts.")
        self.empty_label.setStyleSheet("color: palette(mid); padding: 6px;")
        layout.addWidget(self.empty_label)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        model.jobs_changed.connect(self._update_buttons)
        model.modelReset.connect(self._update_buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.model.tick)
        self.timer.start()
        self._update_buttons()

    def selected_job(self) -> Job | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.job(rows[0].row()) if rows else None

    def select_job(self, job_id: int) -> None:
        row = self.model.row_of(job_id)
        if row is not None:
            self.table.selectRow(row)

    def _update_buttons(self) -> None:
        job = self.selected_job()
        status = job.status if job else None
        self.cancel_button.setEnabled(status in (*WAITING, RUNNING) and not (job and job.cancel_requested))
        self.retry_button.setEnabled(status in RETRYABLE)
        self.up_button.setEnabled(status in WAITING)
        self.down_button.setEnabled(status in WAITING)
        self.hold_button.setEnabled(status in WAITING)
        self.hold_button.setText("Release" if status == "paused" else "Hold")
        self.remove_button.setEnabled(status in FINISHED)
        self.view_button.setEnabled(job is not None and job.kind == "train")
        self.log_button.setEnabled(job is not None)
        paused = self.model.queue.paused
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume queue" if paused else "Pause queue")
        self.pause_button.blockSignals(False)
        self.empty_label.setVisible(not self.model.jobs)
        counts: dict[str, int] = {}
        for item in self.model.jobs:
            counts[item.status] = counts.get(item.status, 0) + 1
        text = ", ".join(f"{n} {status}" for status, n in counts.items() if status in (RUNNING, QUEUED, "paused"))
        self.status_label.setText(("Queue paused · " if paused else "") + text)

    def _act(self, action) -> None:
        job = self.selected_job()
        if job is None:
            return
        try:
            action(job)
        except UserError as exc:
            self.message.emit(str(exc))
        self.model.refresh(force=True)
        self.select_job(job.id)

    def cancel(self) -> None:
        self._act(lambda job: self.model.queue.cancel(job.id))

    def retry(self) -> None:
        self._act(lambda job: self.model.queue.retry(job.id))

    def hold(self) -> None:
        self._act(lambda job: self.model.queue.release(job.id) if job.status == "paused"
                  else self.model.queue.hold(job.id))

    def remove(self) -> None:
        self._act(lambda job: self.model.queue.remove(job.id))

    def move(self, delta: int) -> None:
        def action(job: Job) -> None:
            order = [item.id for item in self.model.queue.pending()]
            place = order.index(job.id) + 1 + delta
            self.model.queue.move(job.id, to=max(1, min(len(order), place)))
        self._act(action)

    def _toggle_pause(self, paused: bool) -> None:
        self.model.queue.pause() if paused else self.model.queue.resume()
        self.model.refresh(force=True)

    def log_text(self, job: Job) -> str:
        """The job's full log when its file is still there, else the tail kept in the database."""
        from pathlib import Path

        if job.log_path and Path(job.log_path).is_file():
            try:
                return Path(job.log_path).read_text(encoding="utf-8", errors="replace")[-200_000:]
            except OSError:
                pass
        return job.log_tail or "(no output yet)"

    def show_log(self):
        from PySide6.QtWidgets import QDialog, QPlainTextEdit

        job = self.selected_job()
        if job is None:
            return None
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Job {job.id} ({job.kind}) · {job.status}")
        dialog.resize(820, 480)
        text = QPlainTextEdit(dialog)
        text.setReadOnly(True)
        text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        header = f"{describe_job(job)}\n" + (f"error: {job.error}\n" if job.error else "") + "\n"
        text.setPlainText(header + self.log_text(job))
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        dialog.show()
        return dialog

    def _open_job(self, *args) -> None:
        job = self.selected_job()
        if job is not None and job.kind == "generate" and job.result:
            self.open_results.emit(job)
        else:
            self._open_training()

    def _open_training(self, *args) -> None:
        job = self.selected_job()
        if job is not None and job.kind == "train":
            self.open_training.emit(job)
