"""Finding pretrained weights on disk: one locator for every network genstudio cannot train itself.

A backend names the file it needs with a `WeightsRef` (name, file name, sha256 prefix, setting key). The file is
looked for, in this order:

1. an explicit path (a `--vgg-weights` option, a config field);
2. the genstudio setting named by the ref (`genstudio settings set weights.vgg19 PATH`);
3. the torch hub cache, where torchvision's weights API keeps downloads: `<torch.hub.get_dir()>/checkpoints/FILE`.

Nothing is ever downloaded. A missing file is a one-line `UserError` naming the file, where it was expected and
the setting that points elsewhere. When the ref has a sha256 prefix (torchvision puts the first 8 hex digits of
the file's sha256 in its name, `vgg19-dcbb9e9d.pth`), the file's hash is checked the way `torch.hub` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from genstudio.backends import WeightsRef
from genstudio.errors import UserError
from genstudio.fileio import sha256_file

_HASH_CACHE: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: hash a big file once


@dataclass(frozen=True)
class LocatedWeights:
    """A weights file found (and, when asked, verified)."""

    ref: WeightsRef
    path: Path
    source: str  # "explicit path" | "setting weights.vgg19" | "torch hub cache"
    sha256: str = ""  # the full hex digest, when verified

    def to_dict(self) -> dict[str, str]:
        """What a model.json records to name the network it was trained against."""
        return {"name": self.ref.name, "filename": self.path.name, "sha256": self.sha256, "source": self.source}


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch.hub (and torchvision's weights API) keeps downloaded weights: <hub dir>/checkpoints/<filename>."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256, cached per (path, size, mtime) for the life of the process."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = sha256_file(path)
    return _HASH_CACHE[key]


def verify_weights(ref: WeightsRef, path: Path) -> str:
    """The file's sha256; a UserError when it does not start with the ref's prefix (a wrong or truncated file)."""
    digest = file_sha256(path)
    if ref.sha256_prefix and not digest.startswith(ref.sha256_prefix.lower()):
        raise UserError(
            f"{ref.name} weights {path} fail the hash check: sha256 starts with {digest[:8]}, expected "
            f"{ref.sha256_prefix} ({ref.filename}); the file is wrong or incomplete"
        )
    return digest


def locate_weights(
    ref: WeightsRef,
    explicit: str | os.PathLike[str] | None = None,  # a path given by the caller; wins over everything
    *,
    hint: str = "",  # appended to the not-found message, e.g. "download URL there"
) -> tuple[Path, str]:
    """(path, source) of the weights file without reading it. Never downloads."""
    origin, described = "explicit path", "the given path"
    if not explicit and ref.setting:
        from genstudio.settings import Settings

        explicit = Settings.load().get(ref.setting)
        origin, described = f"setting {ref.setting}", f"the genstudio setting {ref.setting}"
    if explicit:
        path = Path(str(explicit)).expanduser()
        if not path.is_file():
            elsewhere = f" (or point the genstudio setting {ref.setting} at it)" if origin == "explicit path" else ""
            raise UserError(f"{ref.name} weights {path} (from {described}) do not exist; expected the file "
                            f"{ref.filename}{elsewhere}")
        return path, origin
    path = hub_checkpoint_path(ref.filename)
    if not path.is_file():
        setting = f", or set the genstudio setting {ref.setting} to the file's path" if ref.setting else ""
        raise UserError(f"{ref.name} weights not found: expected {ref.filename} at {path}"
                        f"{' (' + hint + ')' if hint else ''}{setting}")
    return path, "torch hub cache"


def find_weights(
    ref: WeightsRef,
    explicit: str | os.PathLike[str] | None = None,  # see locate_weights
    *,
    verify: bool = True,  # check the sha256 prefix (when the ref has one)
    hint: str = "",
) -> LocatedWeights:
    """Locate the file and check its hash: the one entry point backends use."""
    path, source = locate_weights(ref, explicit, hint=hint)
    digest = verify_weights(ref, path) if verify else ""
    return LocatedWeights(ref, path, source, digest)
