"""The Help menu's windows: the keyboard shortcuts (read from the window's own actions, so the list is never out of
date) and a short first-run tour, shown once on the first start and again from Help › Quick tour."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

TOUR_SEEN_KEY = "gui.tour_seen"
TOUR = (
    ("Library (left)", "Plugins, their backends and your trained models. Pick one to see its settings."),
    ("Try it", "Generates at once with a backend that needs no training: a first picture in seconds."),
    ("Parameters (right)", "The selected backend's settings, with help on every control; then Generate or "
                           "Stylize. The image's provenance (how to make it again) is shown below."),
    ("Train…", "One form for a training run: dataset preview, the backend's settings, device and length. Runs "
               "wait in the queue and keep going in the background; the training tab shows curves and samples "
               "within the first minute."),
    ("Queue (bottom)", "Every job in run order: drag a waiting job to change when it runs; double-click a "
                       "training run to watch it; Log shows what a job printed."),
    ("Gallery", "Everything you made is kept there, with its settings, across restarts."),
)


def shortcut_rows(actions) -> list[tuple[str, str]]:
    """(action, keys) for every action with a shortcut, in menu order, each once."""
    rows, seen = [], set()
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        name = action.text().replace("&", "")
        if keys and (name, keys) not in seen:
            seen.add((name, keys))
            rows.append((name, keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, actions, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(420, 420)
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnToContents(0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)


class TourDialog(QDialog):
    """A few pages, Next / Back / Close; non-modal."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to genstudio")
        self.setModal(False)
        self.resize(460, 220)
        self.page = 0
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: 600; font-size: 15px;")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.counter = QLabel()
        self.counter.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.heading)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.counter)
        buttons = QDialogButtonBox()
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.next.setDefault(True)
        buttons.addButton(self.back, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.next, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.back.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next.clicked.connect(lambda: self.show_page(self.page + 1) if self.page + 1 < len(TOUR) else self.close())
        layout.addWidget(buttons)
        self.show_page(0)

    def show_page(self, page: int) -> None:
        self.page = max(0, min(len(TOUR) - 1, page))
        heading, body = TOUR[self.page]
        self.heading.setText(heading)
        self.body.setText(body)
        self.counter.setText(f"{self.page + 1} of {len(TOUR)}")
        self.back.setEnabled(self.page > 0)
        self.next.setText("Done" if self.page == len(TOUR) - 1 else "Next")


def first_run() -> bool:
    """True once: on the first start (the tour then counts as seen)."""
    from genstudio.settings import Settings

    settings = Settings.load()
    if settings.get(TOUR_SEEN_KEY):
        return False
    settings.set(TOUR_SEEN_KEY, True)
    return True
