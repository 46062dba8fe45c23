"""Starting the app: the QApplication, a style, the main window, and a last-resort error handler."""

from __future__ import annotations

import sys
import traceback

from genstudio.errors import UserError


def _install_excepthook(window) -> None:
    """Errors escaping a slot: a UserError goes to the status bar; a bug shows its message and keeps the app."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if isinstance(value, UserError):
            window.show_message(str(value), 15000)
            return
        traceback.print_exception(kind, value, tb)
        try:
            window.show_message(f"internal error: {kind.__name__}: {value} (details on the console)", 20000)
        except Exception:
            previous(kind, value, tb)

    sys.excepthook = hook


def check_system_libraries() -> None:
    """UserError naming the missing libraries (and their apt packages) when Qt's X11 window could not open: Qt
    would abort the process with a message that blames its plugin instead (genstudio.gui.systemlibs)."""
    from genstudio.gui.systemlibs import display_problem

    problem = display_problem()
    if problem:
        raise UserError(problem)


def run(argv: list[str] | None = None) -> int:
    check_system_libraries()  # before Qt loads anything
    from PySide6.QtWidgets import QApplication, QMessageBox

    from genstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("genstudio")
    app.setOrganizationName("genstudio")
    from genstudio.gui.settings_dialog import THEME_KEY, apply_theme
    from genstudio.settings import Settings

    try:
        apply_theme(str(Settings.load().get(THEME_KEY, "light")))
        window = MainWindow()
    except UserError as exc:
        QMessageBox.critical(None, "genstudio", str(exc))
        return 2
    previous = sys.excepthook
    _install_excepthook(window)
    window.show()
    from genstudio.gui.help_dialog import first_run

    if first_run():  # the very first start: a short tour (Help › Quick tour shows it again)
        window.show_tour()
    if window.queue.notice:  # the queue file was damaged: it was moved aside, say so once
        QMessageBox.warning(window, "genstudio", window.queue.notice)
    try:
        return app.exec()
    finally:
        sys.excepthook = previous
