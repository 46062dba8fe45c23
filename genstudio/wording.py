"""Qt-free: the app's words for what the command line calls options.

The core writes its one-line errors for the command line (`--set features=random`, `--device cpu`, "the genstudio
setting weights.vgg19"). `for_app(text, schema)` says the same with the names of the app's controls (the setting
"Features" = random, "Device", "VGG19 weights" in Settings), from the tables here and the backend's schema labels,
so the app never rewrites messages itself and a new option is named in one place.
"""

from __future__ import annotations

import re
from typing import Any

# CLI option -> the app control that sets the same thing (its visible label)
CLI_CONTROLS = {
    "--data": "Dataset", "--data-b": "Domain B folder", "--out": "Save model to", "--steps": "Steps",
    "--epochs": "Epochs", "--resolution": "Resolution", "-r": "Resolution", "--batch-size": "Batch size",
    "--device": "Device", "--seed": "Seed", "--count": "Count", "--truncation": "Truncation",
    "--truncation-cutoff": "Truncate below", "--mix-with": "Column seeds", "--mix-from": "Crossover layer",
    "--style": "Style image", "--styles": "Style images folder", "--strength": "Strength",
    "--direction": "Direction", "--max-size": "Max size", "--vgg-weights": "VGG19 weights",
    "--resume": "Retry / resume", "--sample-every": "Preview every", "--label": "Class",
}
# settings file keys -> their label in Settings (pretrained weights: "<NAME> weights")
SETTING_LABELS = {"gui.device": "Device", "gui.models_folder": "Models folder", "gui.output_folder": "Output folder",
                  "gui.theme": "Theme"}

_USE = re.compile(r"\buse (--[a-z][a-z-]*) ([^\s,;)]+(?: or [^\s,;)]+)?)")
_SET = re.compile(r"(?:use |with )?--set\s+([a-z_][a-z0-9_]*)=(\S+?)(?=[\s,;)]|$)")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-r)(?![\w-])")
_SETTING = re.compile(r"(?:the genstudio setting |setting )?\b((?:weights|gui)\.[a-z0-9_]+)\b")
_FIELD_AT_START = re.compile(r"^([a-z_][a-z0-9_]*): ")


def setting_label(key: str) -> str:
    """The Settings dialog's label for a settings key: "weights.vgg19" -> "VGG19 weights"."""
    if key in SETTING_LABELS:
        return SETTING_LABELS[key]
    group, _, name = key.partition(".")
    if group == "weights" and name:  # "vgg19" -> "VGG19 weights", "inception" -> "Inception weights"
        words = name.replace("_", " ")
        return f"{words.upper() if any(ch.isdigit() for ch in words) else words.capitalize()} weights"
    return key.replace(".", " ").replace("_", " ").capitalize()


def form_label(item: Any) -> str:
    """A config field's label in forms: its title with the first letter raised ("DiffAugment" stays as written)."""
    title = item.title
    return title[:1].upper() + title[1:]


def field_label(schema: Any, name: str) -> str:
    """A schema field's form label ("Spectral norm"), or the name when the schema has no such field."""
    if schema is not None and name in schema:
        return form_label(schema.field(name))
    return name


def for_app(text: str, schema: Any = None) -> str:
    """`text` (a CLI-worded message) with the app's control names; `schema`: the selected backend's ConfigSchema."""

    def setting(match: re.Match) -> str:
        return f'set "{field_label(schema, match.group(1))}" to {match.group(2)} in the parameters panel'

    text = _SET.sub(setting, text)
    text = _USE.sub(lambda m: f'choose {m.group(2)} in "{CLI_CONTROLS[m.group(1)]}"' if m.group(1) in CLI_CONTROLS
                    else m.group(0), text)
    text = _OPTION.sub(lambda m: f'"{CLI_CONTROLS[m.group(1)]}"' if m.group(1) in CLI_CONTROLS else m.group(1), text)
    text = _SETTING.sub(lambda m: f'"{setting_label(m.group(1))}" in Settings', text)
    start = _FIELD_AT_START.match(text)
    if start and schema is not None and start.group(1) in schema:
        text = f"{field_label(schema, start.group(1))}: {text[start.end():]}"
    return text
