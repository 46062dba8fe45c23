"""Words for people: errors name the app's controls, settings show labels and help, the device list holds only
devices that are present, the Help menu, and the dark theme's control colours pass WCAG 2.1 contrast."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QLabel

# ------------------------------------------------------------------ wording (Qt-free core)


def test_cli_flags_become_control_names(registry):
    from genstudio.wording import for_app

    schema = registry.backend("gatys").schema
    text = for_app("vgg19 weights not found: expected vgg19-dcbb9e9d.pth at /x (download URL, or use --set "
                   "features=random for a lower-quality offline mode), or set the genstudio setting weights.vgg19 "
                   "to the file's path", schema)
    assert "--set" not in text and "weights.vgg19" not in text
    assert 'set "Features" to random in the parameters panel' in text and '"VGG19 weights" in Settings' in text
    assert for_app("device 'cuda' requested but no CUDA GPU is usable; use --device cpu or auto") == (
        "device 'cuda' requested but no CUDA GPU is usable; choose cpu or auto in \"Device\"")
    assert for_app("tv_weight: 5 is above the maximum 1", schema).startswith("TV weight: 5")  # its label
    assert for_app("--tile must be at least 64 pixels") == "--tile must be at least 64 pixels"  # no control: kept


def test_window_errors_name_controls(window, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "show_message", lambda text, timeout=0: shown.append(text))
    window.library.select("backend", lambda backend: backend == "gatys")
    window.show_error("vgg19 weights not found (download it, or use --set features=random for an offline mode)")
    assert shown and "--set" not in shown[-1] and '"Features"' in shown[-1]


# ------------------------------------------------------------------ settings and devices


def test_settings_show_labels_and_help_not_keys(qtbot, registry):
    from genstudio.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(registry)
    qtbot.addWidget(dialog)
    labels = [label.text() for label in dialog.findChildren(QLabel)]
    assert "VGG19 weights" in labels and "Inception weights" in labels
    assert not [text for text in labels if re.fullmatch(r"[a-z]+\.[a-z0-9_]+", text)]  # no raw settings keys
    vgg = next(label for label in dialog.findChildren(QLabel) if label.text() == "VGG19 weights")
    assert "gatys" in vgg.toolTip() or "style" in vgg.toolTip().lower()


def test_device_list_offers_only_present_devices(qtbot, registry, monkeypatch):
    import torch

    from genstudio import devices
    from genstudio.gui.settings_dialog import SettingsDialog

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert devices.available_devices() == ["auto", "cpu"]
    dialog = SettingsDialog(registry)
    qtbot.addWidget(dialog)
    assert [dialog.device.itemText(i) for i in range(dialog.device.count())] == ["auto", "cpu"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert devices.available_devices() == ["auto", "cpu", "cuda:0", "cuda:1"]


def test_train_form_device_list_is_the_present_one(window, qtbot, monkeypatch):
    from genstudio import devices

    monkeypatch.setattr(devices, "available_devices", lambda: ["auto", "cpu"])
    dialog = window.train()
    qtbot.addWidget(dialog)
    assert [dialog.device.itemText(i) for i in range(dialog.device.count())] == ["auto", "cpu"]


# ------------------------------------------------------------------ help


def test_help_menu_lists_shortcuts_and_tour(window, qtbot):
    menus = {action.text().replace("&", ""): action.menu() for action in window.menuBar().actions()}
    assert "Help" in menus
    titles = [action.text() for action in menus["Help"].actions()]
    assert titles == ["Keyboard shortcuts", "Quick tour", "Run the demo"]
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    rows = {dialog.table.item(row, 0).text(): dialog.table.item(row, 1).text()
            for row in range(dialog.table.rowCount())}
    assert rows["Generate"] == "Ctrl+G" and rows["Train…"] == "Ctrl+T" and rows["Keyboard shortcuts"] == "F1"
    tour = window.show_tour()
    assert not tour.isModal() and tour.counter.text().startswith("1 of ")
    tour.next.click()
    assert tour.counter.text().startswith("2 of ") and tour.back.isEnabled()


def test_tour_only_on_the_first_start():
    from genstudio.gui.help_dialog import first_run

    assert first_run() is True
    assert first_run() is False


# ------------------------------------------------------------------ contrast (WCAG 2.1)


def _luminance(color: str) -> float:
    """Relative luminance (WCAG 2.1, definition of relative luminance; sRGB)."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), L1 the lighter (WCAG 2.1, contrast ratio)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rules(qss: str) -> dict[str, dict[str, str]]:
    """selector -> {property: value} of a stylesheet (comments dropped; a rule's selectors share its body)."""
    qss = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", qss):
        props = dict((k.strip(), v.strip()) for k, v in (p.split(":", 1) for p in body.split(";") if ":" in p))
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), {}).update(props)
    return rules


def _color(value: str) -> str:
    found = re.search(r"#[0-9a-fA-F]{6}", value)
    assert found, value
    return found.group(0)


def test_dark_theme_controls_pass_contrast():
    from genstudio.gui.settings_dialog import DARK_PALETTE, theme_stylesheet

    rules = _rules(theme_stylesheet("dark"))
    backgrounds = [DARK_PALETTE[role] for role in ("Window", "Base", "AlternateBase", "Button")]
    unticked = rules["QCheckBox::indicator"]
    outline, fill = _color(unticked["border"]), _color(unticked["background"])
    for background in [*backgrounds, fill]:  # the box's edge against around it and inside it: >= 3:1 (1.4.11)
        assert contrast(outline, background) >= 3.0, (outline, background)
    ticked = rules["QCheckBox::indicator:checked"]
    assert contrast(_color(ticked["background"]), fill) >= 3.0  # ticked vs unticked tell apart
    for background in backgrounds:
        assert contrast(_color(ticked["border"]), background) >= 3.0
        assert contrast(_color(rules["QLineEdit"]["border"]), background) >= 3.0
        for role in ("WindowText", "Text", "ButtonText"):  # text: >= 4.5:1 (1.4.3)
            assert contrast(DARK_PALETTE[role], background) >= 4.5
    for role in ("Mid", "PlaceholderText"):  # secondary text and hints are read too
        assert contrast(DARK_PALETTE[role], DARK_PALETTE["Window"]) >= 4.5
        assert contrast(DARK_PALETTE[role], DARK_PALETTE["Base"]) >= 4.5


def test_contrast_formula_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_dark_theme_is_applied(qtbot):
    from PySide6.QtWidgets import QApplication

    from genstudio.gui.settings_dialog import apply_theme

    app = QApplication.instance()
    try:
        apply_theme("dark")
        assert "QCheckBox::indicator" in app.styleSheet()
    finally:
        apply_theme("light")
    assert "QCheckBox::indicator" not in app.styleSheet()
