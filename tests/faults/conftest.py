"""Fixtures for the fault sweep (issue: nothing lost, nothing written outside): the real `genstudio` entry point
run in-process (one-line errors, exit codes), sentinel trees whose checksum proves nothing outside changed, and
tiny data with the awkward files users really have."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

TINY_DCGAN = ["--resolution", "32", "--batch-size", "4", "--set", "ngf=4", "--set", "ndf=4", "--set", "latent_dim=4"]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def gs(capsys, monkeypatch):
    """`genstudio ARGS` through its console-script entry point, in this process."""
    from genstudio.cli import main

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["genstudio", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "300")
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def tree_digest(root: Path) -> str:
    """Every path, link target and file content under `root` (hidden ones included), hashed."""
    digest = hashlib.sha256()
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(current) / name
            digest.update(os.fsencode(path.relative_to(root)))
            if path.is_symlink():
                digest.update(os.fsencode(os.readlink(path)))
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def sentinel(tmp_path):
    """A folder outside every output, with files, a subfolder and a hidden folder; `.unchanged()` checks it."""
    root = tmp_path / "outside"
    (root / "keep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "keep" / "notes.txt").write_text("precious\n")
    (root / ".hidden" / "key").write_bytes(b"\x00secret")
    (root / "journal").write_text("user file\n")

    class Sentinel:
        path = root
        digest = tree_digest(root)

        def unchanged(self) -> bool:
            return root.is_dir() and tree_digest(root) == self.digest

    return Sentinel()


def grey_folder(root: Path, count: int = 6, size: int = 8) -> Path:
    """`count` small grey PNGs in one class folder."""
    (root / "a").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.new("L", (size, size), 30 + 30 * index).save(root / "a" / f"{index}.png")
    return root


def odd_name(folder: Path, stem: bytes = b"odd\xff", suffix: bytes = b".png") -> Path:
    """A file whose name is not valid UTF-8 (as str, with a surrogate escape), holding a real image."""
    raw = os.path.join(os.fsencode(folder), stem + suffix)
    Image.new("RGB", (8, 8), (200, 40, 40)).save(raw, format="PNG")
    return Path(os.fsdecode(raw))
