"""Settings: the device the app generates and trains on (only devices this computer has), the models and output
folders, where pretrained weights (VGG19, Inception) are, and the theme. Rows show labels and help, not settings
keys. Everything is saved in the genstudio settings file (shared with the CLI). The dark theme is a palette plus
genstudio/gui/themes/dark.qss (package data: installed wheels carry it) for the controls the palette leaves faint
(outlines of unticked boxes, fields)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from genstudio.gui import library_data
from genstudio.settings import Settings
from genstudio.wording import setting_label

DEVICE_KEY = "gui.device"
OUTPUT_KEY = "gui.output_folder"
THEME_KEY = "gui.theme"
THEMES = ("light", "dark")
THEMES_FOLDER = Path(__file__).resolve().parent / "themes"  # package data (pyproject: gui/themes/*.qss)
DARK_PALETTE = {"Window": "#2b2d31", "WindowText": "#e3e5e8", "Base": "#1e1f22", "AlternateBase": "#26282c",
                "Text": "#e3e5e8", "Button": "#34363b", "ButtonText": "#e3e5e8", "Highlight": "#3d8bfd",
                "HighlightedText": "#ffffff", "ToolTipBase": "#1e1f22", "ToolTipText": "#e3e5e8", "Mid": "#9ba0a8",
                "PlaceholderText": "#9ba0a8"}
DARK_DISABLED = "#80858d"  # disabled text, window text and button text


def theme_stylesheet(theme: str) -> str:
    """The theme's stylesheet from genstudio/gui/themes (empty when it has none)."""
    path = THEMES_FOLDER / f"{theme}.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def app_device() -> str:
    return str(Settings.load().get(DEVICE_KEY, "auto"))


def weights_settings(registry: Any) -> dict[str, str]:
    """setting key -> description, for every pretrained network an installed backend can use."""
    found: dict[str, str] = {}
    for spec in registry.backends.values():
        for ref in spec.capabilities.pretrained_weights:
            if ref.setting:
                users = found.get(ref.setting, f"{ref.name} ({ref.filename}) for")
                found[ref.setting] = f"{users} {spec.id},"
    found.setdefault("weights.inception", "Inception v3 features for FID/KID,")
    return {key: text.rstrip(",") for key, text in found.items()}


def apply_theme(theme: str) -> None:
    """Fusion with the light default palette or a dark one."""
    app = QApplication.instance()
    if app is None:
        return
    app.setStyle("Fusion")
    if theme != "dark":
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet(theme_stylesheet(theme))
        return
    palette = QPalette()
    for role, color in DARK_PALETTE.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DARK_DISABLED))
    app.setPalette(palette)
    app.setStyleSheet(theme_stylesheet("dark"))


class SettingsDialog(QDialog):
    def __init__(self, registry: Any, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(640, 360)
        settings = Settings.load()
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.device = QComboBox()
        from genstudio.devices import available_devices

        self.device.addItems(available_devices())  # only what this computer has
        self.device.setCurrentText(str(settings.get(DEVICE_KEY, "auto")))
        self.device.setToolTip("Where Generate, Stylize and new training runs compute: auto picks a GPU if there "
                               "is one. Only the devices this computer has are listed.")
        form.addRow("Device", self.device)
        self.models = self._folder_row(form, "Models folder", str(library_data.models_folder()),
                                       "The library lists models found here; new training runs are saved here.")
        self.output = self._folder_row(form, "Output folder", str(settings.get(OUTPUT_KEY, "")),
                                       "Where Save… proposes to put images (empty: your home folder).")
        self.weights: dict[str, QLineEdit] = {}
        for key, text in weights_settings(registry).items():
            self.weights[key] = self._file_row(form, setting_label(key), str(settings.get(key, "")),
                                               f"{text}. Empty: the torch hub cache. (setting {key})")
        self.theme = QComboBox()
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(str(settings.get(THEME_KEY, "light")))
        self.theme.setToolTip("Light, or dark with high-contrast control outlines.")
        form.addRow("Theme", self.theme)
        layout.addLayout(form)
        note = QLabel(f"Saved in {settings.path}")
        note.setStyleSheet("color: palette(mid);")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _folder_row(self, form: QFormLayout, label: str, value: str, tip: str) -> QLineEdit:
        return self._row(form, label, value, tip, folder=True)

    def _file_row(self, form: QFormLayout, label: str, value: str, tip: str) -> QLineEdit:
        return self._row(form, label, value, tip, folder=False)

    def _row(self, form: QFormLayout, label: str, value: str, tip: str, folder: bool) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit(value)
        edit.setToolTip(tip)
        browse = QPushButton("Browse…")

        def pick() -> None:
            path = (QFileDialog.getExistingDirectory(self, label, edit.text()) if folder
                    else QFileDialog.getOpenFileName(self, label, edit.text())[0])
            if path:
                edit.setText(path)

        browse.clicked.connect(pick)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        title = QLabel(label)
        title.setToolTip(tip)
        title.setBuddy(edit)
        form.addRow(title, row)
        return edit

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {DEVICE_KEY: self.device.currentText(), OUTPUT_KEY: self.output.text().strip(),
                                  THEME_KEY: self.theme.currentText(),
                                  library_data.MODELS_FOLDER_KEY: self.models.text().strip()}
        values.update({key: edit.text().strip() for key, edit in self.weights.items()})
        return values

    def save(self) -> None:
        settings = Settings.load()
        for key, value in self.values().items():
            if value or key in settings.values:
                settings.values[key] = value
        settings.set(THEME_KEY, self.theme.currentText())  # writes the file once, with everything
        apply_theme(self.theme.currentText())
        self.accept()
