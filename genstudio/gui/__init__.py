"""The PySide6 desktop app. The only package that imports Qt."""


def run_app() -> int:
    from genstudio.errors import UserError

    raise UserError("the desktop app is not available yet")
