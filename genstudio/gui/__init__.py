"""The PySide6 desktop app. The only package that imports Qt.

Layout: Qt-free models of what the app shows (content, library_data, metrics_log, sampling) and thin Qt views
over them (canvas, library, params, queue_model, training_view, plugin_manager, train_dialog, latent), assembled
by main_window. `run_app()` is what `genstudio` and `genstudio gui` call.
"""


def run_app() -> int:
    from genstudio.gui.app import run

    return run()
