"""The plugin manager: every plugin with version, source, status and error details; enable/disable (persisted
in the settings, applied by re-discovering plugins); install from a wheel, folder or requirement (a queued
plugin-install job); uninstall an installed one (a queued plugin-uninstall job; built-ins cannot be); open the
plugin folder. Both jobs are light: they run beside a training run, not after it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
)

from genstudio import paths
from genstudio.errors import UserError
from genstudio.plugins import PluginRecord, get_registry
from genstudio.settings import Settings

COLUMNS = ("Enabled", "Plugin", "Version", "Source", "Status", "Backends")
STATUS_COLORS = {"loaded": "#2e9e5b", "failed": "#d9534f", "disabled": "#8a8f98"}


class PluginTableModel(QAbstractTableModel):
    """Rows: the registry's plugin records. Unchecking "Enabled" disables a plugin in the settings."""

    toggled = Signal(str, bool)  # plugin name, enabled (after it was saved)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: list[PluginRecord] = []
        self.disabled: set[str] = set()
        self.reload()

    def reload(self, refresh: bool = False) -> None:
        """Re-read plugins (refresh=True: discover them again, applying enable/disable)."""
        registry = get_registry(refresh=refresh)
        self.beginResetModel()
        self.records = sorted(registry.plugins.values(), key=lambda rec: (rec.source != "builtin", rec.name))
        self.disabled = Settings.load().disabled_plugins()
        self.endResetModel()

    def record(self, row: int) -> PluginRecord | None:
        return self.records[row] if 0 <= row < len(self.records) else None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex):
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.records[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Unchecked if record.name in self.disabled else Qt.CheckState.Checked
        if role == Qt.ItemDataRole.DisplayRole:
            values = ("", record.name, record.version, record.source, record.status, ", ".join(record.backends))
            return values[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            return QColor(STATUS_COLORS.get(record.status, "#8a8f98"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return record.error or record.location
        return None

    def setData(self, index: QModelIndex, value: Any, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked
        self.set_enabled(self.records[index.row()].name, enabled)
        return True

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Persist the choice, then discover plugins again so the app sees it at once."""
        Settings.load().set_plugin_enabled(name, enabled)
        self.reload(refresh=True)
        self.toggled.emit(name, enabled)


def describe(record: PluginRecord) -> str:
    lines = [f"{record.name} {record.version}", f"source: {record.source}", f"location: {record.location}",
             f"status: {record.status}", f"backends: {', '.join(record.backends) or 'none'}"]
    if record.status == "disabled":
        lines.append("Disabled: it is not imported. Tick 'Enabled' to load it again.")
    if record.error:
        lines += ["", f"error: {record.error}", "", record.traceback]
    return "\n".join(lines)


def uninstall_blocker(record: PluginRecord | None) -> str:
    """Why the selected plugin cannot be uninstalled from here ("" when it can), in the dialog's words."""
    if record is None:
        return "Select a plugin to uninstall."
    if record.source == "builtin":
        return f"{record.name} is built into genstudio and cannot be uninstalled; untick it to stop loading it."
    if record.source != "entry point":
        return f"{record.name} is a file in the plugin folder: delete it there to remove it."
    return ""


class PluginManagerDialog(QDialog):
    """Plugins, their details, enable/disable, install and the plugin folder."""

    plugins_changed = Signal()  # after enabling/disabling: the library and forms should re-read backends
    install_requested = Signal(str)  # a requirement, wheel or folder path: the main window queues the job
    uninstall_requested = Signal(str)  # a plugin name: the main window queues the plugin-uninstall job

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(860, 560)
        self.model = PluginTableModel(self)
        self.model.toggled.connect(lambda name, enabled: self.plugins_changed.emit())
        layout = QVBoxLayout(self)
        intro = QLabel("Backends come from plugins: built-in ones, installed packages (entry points) and files in "
                       "the plugin folder. Untick a plugin to stop loading it.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 64), (1, 130), (2, 70), (3, 100), (4, 80)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._show_details)
        self.model.modelReset.connect(self._show_details)
        splitter.addWidget(self.table)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a plugin to see where it comes from and, if it failed, why.")
        splitter.addWidget(self.details)
        splitter.setSizes([300, 180])
        layout.addWidget(splitter, 1)
        install_row = QHBoxLayout()
        install_row.addWidget(QLabel("Install:"))
        self.requirement = QLineEdit()
        self.requirement.setPlaceholderText("a requirement (name>=1.0), a wheel file or a project folder")
        install_row.addWidget(self.requirement, 1)
        wheel = QPushButton("Wheel…")
        wheel.clicked.connect(self._pick_wheel)
        folder = QPushButton("Folder…")
        folder.clicked.connect(self._pick_folder)
        self.install_button = QPushButton("Install")
        self.install_button.setToolTip("Queue a plugin-install job (pip runs in the background; see the queue).")
        self.install_button.clicked.connect(self._install)
        for widget in (wheel, folder, self.install_button):
            install_row.addWidget(widget)
        layout.addLayout(install_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.uninstall_button = buttons.addButton("Uninstall", QDialogButtonBox.ButtonRole.ActionRole)
        self.uninstall_button.clicked.connect(self._uninstall)
        self.uninstall_button.setEnabled(False)
        open_folder = buttons.addButton("Open plugin folder", QDialogButtonBox.ButtonRole.ActionRole)
        open_folder.setToolTip(f"Drop name.py or name/ plugins here: {paths.plugin_dir()}")
        open_folder.clicked.connect(self.open_plugin_folder)
        reload_button = buttons.addButton("Reload plugins", QDialogButtonBox.ButtonRole.ActionRole)
        reload_button.clicked.connect(self.reload)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.status = QLabel()
        layout.addWidget(self.status)
        if self.model.records:
            self.table.selectRow(next((row for row, rec in enumerate(self.model.records) if rec.status == "failed"),
                                      0))

    def reload(self) -> None:
        self.model.reload(refresh=True)
        self.plugins_changed.emit()

    def _show_details(self, *args) -> None:
        rows = self.table.selectionModel().selectedRows()
        record = self.model.record(rows[0].row()) if rows else None
        self.details.setPlainText(describe(record) if record else "")
        reason = uninstall_blocker(record)
        self.uninstall_button.setEnabled(not reason)
        self.uninstall_button.setToolTip(reason or f"Queue a job that uninstalls {record.name} with pip.")

    def _uninstall(self, confirm: bool = True) -> None:
        rows = self.table.selectionModel().selectedRows()
        record = self.model.record(rows[0].row()) if rows else None
        reason = uninstall_blocker(record)
        if reason or record is None:
            self.status.setText(reason)
            return
        if confirm and QMessageBox.question(
                self, "Uninstall plugin", f"Uninstall {record.name} {record.version} ({record.location})? Its backends "
                "go with it; models trained with them stay on disk.") != QMessageBox.StandardButton.Yes:
            return
        self.uninstall_requested.emit(record.name)
        self.status.setText(f"Queued the removal of {record.name}; it runs in the background (see the queue).")

    def _pick_wheel(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Plugin wheel", "", "Wheels (*.whl);;All files (*)")
        if path:
            self.requirement.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Plugin project folder")
        if path:
            self.requirement.setText(path)

    def _install(self) -> None:
        text = self.requirement.text().strip()
        if not text:
            self.status.setText("Type a requirement or pick a wheel or folder first.")
            return
        self.install_requested.emit(text)
        self.status.setText(f"Queued the installation of {text}; it runs in the background (see the queue).")

    def open_plugin_folder(self) -> bool:
        folder = paths.plugin_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the plugin folder {folder}: {exc}") from exc
        self.status.setText(f"Plugin folder: {folder}")
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
