"""Finding pretrained weights on disk: one locator for every network genstudio cannot train itself.

A backend names the file it needs with a `WeightsRef` (name, file name, sha256 or its prefix, setting key, package
data). The file is looked for, in this order:

1. an explicit path (a `--vgg-weights` option, a config field);
2. the genstudio setting named by the ref (`genstudio settings set weights.vgg19 PATH`);
3. the model folder, when the backend runs from one (`folder=`): `<folder>/FILE`;
4. the plugin's own package data, when the ref is `bundled` ("package:path/in/it");
5. the torch hub cache, where torchvision's weights API keeps downloads: `<torch hub dir>/checkpoints/FILE`.

Nothing is ever downloaded, and torch is never imported to look (the hub folder follows torch's own rule:
$TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch; torch.hub.get_dir() when torch is loaded already).
A missing file is a one-line `UserError` naming the file, where it was expected and the setting that points
elsewhere. A ref with a full `sha256` has it checked; one with only a prefix (torchvision puts the first 8 hex
digits of the file's sha256 in its name, `vgg19-dcbb9e9d.pth`) has that checked, the way `torch.hub` does.
"""

from __future__ import annotations

import os
import sys
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
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):  # loaded already: honour torch.hub.set_dir
        return Path(torch.hub.get_dir()) / "checkpoints" / filename
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    home = os.path.expanduser(os.environ.get("TORCH_HOME") or os.path.join(cache, "torch"))
    return Path(home) / "hub" / "checkpoints" / filename


def bundled_path(ref: WeightsRef) -> Path | None:
    """The file a `bundled` ref names inside its package (None when the ref is not bundled or the package has no
    such file). Imports the package (a plugin's light top-level module), nothing else."""
    if not ref.bundled:
        return None
    import importlib.resources

    package, _, inside = ref.bundled.partition(":")
    try:
        resource = importlib.resources.files(package).joinpath(*inside.split("/"))
    except (ImportError, TypeError, ValueError):
        return None
    path = Path(str(resource))
    return path if path.is_file() else None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256, cached per (path, size, mtime) for the life of the process."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = sha256_file(path)
    return _HASH_CACHE[key]


def verify_weights(ref: WeightsRef, path: Path) -> str:
    """The file's sha256; a UserError when it is not the ref's sha256 or does not start with its prefix (a wrong,
    replaced or truncated file)."""
    digest = file_sha256(path)
    if ref.sha256 and digest != ref.sha256.lower():
        raise UserError(f"{ref.name} weights {path} fail the hash check: sha256 {digest[:12]}..., expected "
                        f"{ref.sha256[:12].lower()}... ({ref.filename}); the file is wrong, replaced or incomplete")
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
    folder: str | os.PathLike[str] | None = None,  # the model folder the backend runs from, looked in first
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
    if folder is not None and (Path(folder) / ref.filename).is_file():
        return Path(folder) / ref.filename, "model folder"
    bundled = bundled_path(ref)
    if bundled is not None:
        return bundled, f"package data of {ref.bundled.partition(':')[0]}"
    path = hub_checkpoint_path(ref.filename)
    if not path.is_file():
        setting = f", or set the genstudio setting {ref.setting} to the file's path" if ref.setting else ""
        places = (f"{Path(folder) / ref.filename}, " if folder is not None else "") + \
                 (f"the package data {ref.bundled}, " if ref.bundled else "")
        raise UserError(f"{ref.name} weights not found: expected {ref.filename} at {places}{path}"
                        f"{' (' + hint + ')' if hint else ''}{setting}")
    return path, "torch hub cache"


def find_weights(
    ref: WeightsRef,
    explicit: str | os.PathLike[str] | None = None,  # see locate_weights
    *,
    verify: bool = True,  # check the sha256 or its prefix (when the ref has one)
    hint: str = "",
    folder: str | os.PathLike[str] | None = None,  # the model folder the backend runs from (see locate_weights)
) -> LocatedWeights:
    """Locate the file and check its hash: the one entry point backends use."""
    path, source = locate_weights(ref, explicit, hint=hint, folder=folder)
    digest = verify_weights(ref, path) if verify else ""
    return LocatedWeights(ref, path, source, digest)
