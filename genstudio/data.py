"""Folder image datasets: find the images in a folder, decode each once, keep the result in a disk cache.

`scan_folder` lists candidate files by extension (cheap, no decoding: the GUI calls it while the user picks a
folder). `open_image` decodes one file defensively: an allowlist of Pillow formats, Pillow's decompression-bomb
limit, a full decode so truncated files fail early, alpha composited over a background. `ImageFolderDataset`
decodes a whole folder into one uint8 tensor, skipping (and reporting) every file that cannot be used, and
stores the tensors as safetensors under `paths.cache_dir()`.

Layouts: images directly in the root (no classes), or one first-level folder per class (label = the folder's
index in sorted order; deeper folders stay in their class when `recursive`).

torch is imported only where tensors are made, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import PIL
from PIL import Image, ImageOps, UnidentifiedImageError

from genstudio import paths
from genstudio.errors import ImageDecodeError, UserError
from genstudio.events import AbortCheck, EventSink, Progress
from genstudio.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import torch

IMAGE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}
PILLOW_FORMATS: tuple[str, ...] = tuple(sorted(set(IMAGE_FORMATS.values())))  # the only decoders Pillow may try

CAPTION_SUFFIX = ".txt"  # image.txt beside image.png holds its captions (genstudio.captions)
CAPTIONS_FILE = "captions.jsonl"  # a folder's captions, one JSON object a line (genstudio.captions)
DATASET_MANIFEST = "manifest.json"  # what `generate --layout folders` wrote (genstudio.augment): not a lost image

ResizePolicy = Literal["center-crop", "stretch", "pad"]
RESIZE_POLICIES: tuple[str, ...] = ("center-crop", "stretch", "pad")
CACHE_FORMAT_VERSION = 1  # bump when the decoded pixels or the cache layout change
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class BadFile:
    """A file that was left out, and why, in a few words ("truncated file", "not an image")."""

    path: str
    reason: str


# ----------------------------------------------------------------------------------------------------------------
# One image


def open_image(
    path: str | os.PathLike[str],
    mode: Literal["RGB", "L"] = "RGB",
    background: tuple[int, int, int] = WHITE,  # what transparent pixels become
) -> Image.Image:
    """Decode the first frame of an image file, upright (EXIF), as 8-bit `mode`.

    Raises `ImageDecodeError` ("PATH: reason") for every file that cannot be used.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise _decode_error(path, _unsupported_reason(suffix))
    try:
        size = path.stat().st_size
    except OSError as err:
        raise _decode_error(path, _os_error_reason(err)) from None
    if size == 0:
        raise _decode_error(path, "zero bytes")
    image = _decode_first_frame(path)
    try:
        return _flatten(image, background).convert(mode)
    except ValueError:  # Pillow has no conversion for exotic modes (LAB, La)
        raise _decode_error(path, f"unsupported colour mode {image.mode}") from None


def _decode_error(path: Path, reason: str) -> ImageDecodeError:
    error = ImageDecodeError(f"{path}: {reason}")
    error.path = str(path)  # type: ignore[attr-defined]
    error.reason = reason  # type: ignore[attr-defined]
    return error


def _unsupported_reason(suffix: str) -> str:
    return f"unsupported format {suffix}" if suffix else "unsupported format (no extension)"


def _decode_first_frame(path: Path) -> Image.Image:
    """Open with the allowlisted decoders only and decode fully, so bombs and truncation fail here."""
    _register_decoders()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=PILLOW_FORMATS) as image:
                image.load()  # first frame of an animation; raises on truncated data
                return _upright(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _decode_error(path, _bomb_reason(err)) from None
    except UnidentifiedImageError:
        raise _decode_error(path, "not an image") from None
    except (OSError, SyntaxError, EOFError, ValueError) as err:
        raise _decode_error(path, _os_error_reason(err)) from None


def _register_decoders() -> None:
    """Import just the allowlisted decoders (PILLOW_FORMATS). With each registered, Image.open(formats=...) does not
    call Image.init(), which imports all of Pillow's plugins: tens of ms of every command's start-up."""
    from PIL import (  # noqa: F401
        BmpImagePlugin,
        GifImagePlugin,
        JpegImagePlugin,
        PngImagePlugin,
        TiffImagePlugin,
        WebPImagePlugin,
    )


def _upright(image: Image.Image) -> Image.Image:
    """A decoded copy turned as its EXIF orientation says; a broken EXIF block leaves it as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError):
        return image.copy()


def _bomb_reason(err: Exception) -> str:
    match = re.search(r"\((\d+) pixels\)", str(err))
    return f"decompression bomb ({match.group(1)} pixels)" if match else "decompression bomb"


def _os_error_reason(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, EOFError) or "truncated" in text.lower():
        return "truncated file"
    return f"corrupt image ({text[:80]})"


def _flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """An 8-bit L or RGB image; transparency composited over `background`."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        image = _sixteen_bit_to_l(image)
    elif image.mode == "F":
        image = image.convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")  # palette, CMYK, 1-bit, YCbCr
    return image


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """Scale 0..65535 to 0..255 (rounded); Pillow's own conversion would clip instead."""
    wide = np.clip(np.asarray(image).astype(np.int64), 0, 65535)
    return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))


def resize_square(
    image: Image.Image,
    resolution: int,
    resize: ResizePolicy = "center-crop",  # "center-crop" | "stretch" | "pad"
    background: tuple[int, int, int] = WHITE,  # the padding colour for "pad"
) -> Image.Image:
    """`image` as a `resolution` x `resolution` square."""
    size = (resolution, resolution)
    if resize == "center-crop":
        return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS)
    if resize == "stretch":
        return image.resize(size, Image.Resampling.LANCZOS)
    if resize == "pad":
        return ImageOps.pad(image, size, method=Image.Resampling.LANCZOS, color=_fill(image.mode, background))
    raise UserError(f"Unknown resize policy {resize!r}; use one of {', '.join(RESIZE_POLICIES)}")


def aspect_size(resolution: int, aspect: str = "1:1") -> tuple[int, int]:
    """(height, width) for an aspect "W:H" whose longer side is `resolution`, the shorter one the nearest whole
    number of pixels (16:9 at 32 px: 18 x 32)."""
    try:
        across, down = (int(part) for part in str(aspect).split(":"))
    except ValueError:
        raise UserError(f"an aspect is width:height in whole numbers (e.g. 16:9), got {aspect!r}") from None
    if across < 1 or down < 1:
        raise UserError(f"an aspect's width and height must be at least 1, got {aspect!r}")
    if across >= down:
        return max(1, round(resolution * down / across)), resolution
    return resolution, max(1, round(resolution * across / down))


def fit_image(
    image: Image.Image,
    resolution: int,
    resize: ResizePolicy = "center-crop",
    background: tuple[int, int, int] = WHITE,
    aspect: str = "1:1",  # W:H of the picture inside the square
) -> Image.Image:
    """`image` as a `resolution` x `resolution` square: all of it for 1:1 (`resize_square`), else the aspect's
    centred height x width window (the longer side `resolution`) filled from the image by `resize` (a non-square
    model trains on its window: the picture's own aspect, not a centred square of it), the rest `background`."""
    height, width = aspect_size(resolution, aspect)
    if (height, width) == (resolution, resolution):
        return resize_square(image, resolution, resize, background)
    if resize == "center-crop":
        inner = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    elif resize == "stretch":
        inner = image.resize((width, height), Image.Resampling.LANCZOS)
    elif resize == "pad":
        inner = ImageOps.pad(image, (width, height), method=Image.Resampling.LANCZOS,
                             color=_fill(image.mode, background))
    else:
        raise UserError(f"Unknown resize policy {resize!r}; use one of {', '.join(RESIZE_POLICIES)}")
    canvas = Image.new(image.mode, (resolution, resolution), _fill(image.mode, background))
    canvas.paste(inner, ((resolution - width) // 2, (resolution - height) // 2))  # the window's top left
    return canvas


def _fill(mode: str, background: tuple[int, int, int]) -> Any:
    """`background` as a pixel value of `mode` (a grey level for L)."""
    return Image.new("RGB", (1, 1), background).convert(mode).getpixel((0, 0))


# ----------------------------------------------------------------------------------------------------------------
# Scanning a folder


@dataclass
class FolderScan:
    """The candidate images of a folder, their labels, and what was passed over before decoding."""

    root: Path
    files: list[Path]
    labels: list[int]  # index into `classes`; 0 when there are no classes
    classes: list[str]  # sorted first-level folder names; [] for a flat folder
    skipped: list[BadFile]


def scan_folder(root: str | os.PathLike[str], recursive: bool = True) -> FolderScan:
    """List the images under `root` by extension (no decoding). Hidden files and folders are ignored.

    `recursive`: also look below each class folder (a flat root is never searched deeper, since any subfolder
    holding images makes it a class folder).
    """
    root = existing_folder(root)
    root_files = [path for path in _files_in(root, recursive=False) if path.name != DATASET_MANIFEST]
    loose_images, skipped = _split_by_extension(root_files)
    class_folders: list[tuple[str, list[Path]]] = []
    for folder in _subfolders(root):
        images, unsupported = _split_by_extension(_files_in(folder, recursive))
        if images:
            class_folders.append((folder.name, images))
            skipped += unsupported
    if not class_folders:
        return FolderScan(root, loose_images, [0] * len(loose_images), [], skipped)
    skipped += [BadFile(str(path), "outside any class folder") for path in loose_images]
    files = [path for _, images in class_folders for path in images]
    labels = [label for label, (_, images) in enumerate(class_folders) for _ in images]
    return FolderScan(root, files, labels, [name for name, _ in class_folders], skipped)


GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
CHANNEL_SAMPLE = 256  # images whose headers decide a folder's channels (spread evenly over the folder)


def detect_channels(scan: FolderScan) -> int:
    """1 when the folder's images are greyscale (judged from the headers of up to CHANNEL_SAMPLE of them, spread
    over every class; no pixels are decoded), else 3. Files that do not open are left to the decoder to report."""
    files = scan.files
    step = max(1, len(files) // CHANNEL_SAMPLE)
    modes = set()
    for path in files[::step]:
        try:
            with Image.open(path) as image:
                modes.add(image.mode)
        except Exception:  # noqa: BLE001 - unreadable files are reported when the dataset decodes them
            continue
    return 1 if modes and modes <= GREY_MODES else 3


def existing_folder(root: str | os.PathLike[str]) -> Path:
    """`root` as an absolute path; a `UserError` when it is missing or not a folder."""
    folder = Path(root).expanduser().resolve()
    if not folder.exists():
        raise UserError(f"Dataset folder not found: {folder}")
    if not folder.is_dir():
        raise UserError(f"Not a folder: {folder}")
    return folder


def _subfolders(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def _files_in(folder: Path, recursive: bool) -> list[Path]:
    """Visible files in `folder` (and below it when `recursive`), in a stable order."""
    found: list[Path] = []
    for current, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith(".")) if recursive else []
        found += [Path(current) / name for name in sorted(filenames) if not name.startswith(".")]
    return found


def _split_by_extension(files: list[Path]) -> tuple[list[Path], list[BadFile]]:
    images = [path for path in files if path.suffix.lower() in IMAGE_FORMATS]
    captioned = {path.with_suffix(CAPTION_SUFFIX) for path in images}  # image.txt beside image.png: its captions
    others = [BadFile(str(path), _unsupported_reason(path.suffix.lower())) for path in files
              if path not in images and path not in captioned and path.name != CAPTIONS_FILE]
    return images, others


# ----------------------------------------------------------------------------------------------------------------
# The dataset


@dataclass
class DataReport:
    """What loading a folder found: shown to the user and stored with jobs."""

    root: str
    found: int  # files looked at: loaded + skipped
    loaded: int
    classes: list[str]
    skipped: list[BadFile]
    from_cache: bool

    def summary(self, max_names: int = 5) -> str:
        """One line: "1498 images in 10 classes from DIR; 2 skipped: a.png (truncated file), ..."."""
        classes = f" in {len(self.classes)} class{'es' if len(self.classes) != 1 else ''}" if self.classes else ""
        line = f"{self.loaded} image{'s' if self.loaded != 1 else ''}{classes} from {self.root}"
        return f"{line}; {self.skipped_text(max_names)}" if self.skipped else line

    def skipped_text(self, max_names: int = 5) -> str:
        """ "2 skipped: a.png (truncated file), b.png (not an image)", naming at most `max_names`."""
        named = ", ".join(f"{self._short(bad.path)} ({bad.reason})" for bad in self.skipped[:max_names])
        rest = len(self.skipped) - max_names
        return f"{len(self.skipped)} skipped: {named}" + (f" and {rest} more" if rest > 0 else "")

    def _short(self, path: str) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Decoded:
    images: torch.Tensor  # uint8, N x C x R x R
    labels: torch.Tensor  # int64, N
    skipped: list[BadFile]  # files that failed to decode


class ImageFolderDataset:
    """Every image of a folder, decoded once into memory: a map-style dataset for `torch.utils.data.DataLoader`.

    Items are `(image, label)`: float32 C x R x R in [0, 1] and an int. Bad files are skipped and listed in
    `report`; only a folder with no usable image at all is an error.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        resolution: int,  # side of the square images, in pixels
        channels: int = 3,  # 1 (grey) or 3 (RGB)
        *,
        background: tuple[int, int, int] = WHITE,  # what transparency and "pad" borders become
        resize: ResizePolicy = "center-crop",  # "center-crop" | "stretch" | "pad"
        recursive: bool = True,  # look below class folders too
        aspect: str = "1:1",  # W:H: each image fills the centred window of that aspect (`fit_image`)
        cache: bool = True,  # keep the decoded tensors under paths.cache_dir()
        progress: EventSink | None = None,  # receives the "Reading ..." events
        abort: AbortCheck | None = None,  # polled between files; True raises Cancelled
    ):
        _check_options(resolution, channels, resize)
        aspect_size(resolution, aspect)  # a malformed aspect is one line, before any file is read
        self.aspect = str(aspect)
        self.resolution = resolution
        self.channels = channels
        self.background = tuple(background)
        self.resize = resize
        scan = scan_folder(root, recursive)
        self.cache_file = _cache_file(scan, self._options(recursive)) if cache else None
        reading = Progress(progress, f"Reading {scan.root}", total=len(scan.files), abort=abort)
        reading.check_abort()
        decoded = _read_cache(self.cache_file, scan, channels, resolution) if self.cache_file else None
        from_cache = decoded is not None
        if decoded is None:
            decoded = self._decode_all(scan, reading)
        else:
            reading.update(len(scan.files))
        self.images = decoded.images
        self.labels = decoded.labels
        self.classes = scan.classes
        skipped = sorted(scan.skipped + decoded.skipped, key=lambda bad: bad.path)
        found = len(scan.files) + len(scan.skipped)
        self.report = DataReport(str(scan.root), found, len(self.images), scan.classes, skipped, from_cache)
        if len(self.images) == 0:
            raise UserError(_nothing_loaded_message(self.report))
        if self.cache_file is not None and not from_cache:
            _write_cache(self.cache_file, decoded, scan.classes, reading)
        reading.finish(self.report.summary())

    def _options(self, recursive: bool) -> dict[str, Any]:
        """Everything besides the files that changes the decoded tensors."""
        return {
            "resolution": self.resolution,
            "channels": self.channels,
            "background": list(self.background),
            "resize": self.resize,
            "recursive": recursive,
            **({"aspect": self.aspect} if self.aspect != "1:1" else {}),  # 1:1 keeps the caches it always had
        }

    def _decode_all(self, scan: FolderScan, reading: Progress) -> _Decoded:
        import torch

        mode = "L" if self.channels == 1 else "RGB"
        arrays: list[np.ndarray] = []
        labels: list[int] = []
        skipped: list[BadFile] = []
        every = max(1, len(scan.files) // 200)  # at most ~200 progress events
        for index, (path, label) in enumerate(zip(scan.files, scan.labels, strict=True)):
            reading.check_abort()
            try:
                image = open_image(path, mode, self.background)
            except ImageDecodeError as err:
                skipped.append(BadFile(str(path), getattr(err, "reason", str(err))))
            else:
                arrays.append(_to_chw(fit_image(image, self.resolution, self.resize, self.background, self.aspect)))
                labels.append(label)
            if (index + 1) % every == 0 or index + 1 == len(scan.files):
                reading.update(index + 1)
        shape = (0, self.channels, self.resolution, self.resolution)
        images = torch.from_numpy(np.stack(arrays)) if arrays else torch.zeros(shape, dtype=torch.uint8)
        return _Decoded(images, torch.tensor(labels, dtype=torch.int64), skipped)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].float().div_(255.0), int(self.labels[index])


def _check_options(resolution: int, channels: int, resize: str) -> None:
    if not isinstance(resolution, int) or resolution < 1:
        raise UserError(f"Resolution must be a positive whole number of pixels, not {resolution!r}")
    if channels not in (1, 3):
        raise UserError(f"Channels must be 1 (grey) or 3 (RGB), not {channels!r}")
    if resize not in RESIZE_POLICIES:
        raise UserError(f"Unknown resize policy {resize!r}; use one of {', '.join(RESIZE_POLICIES)}")


def _to_chw(image: Image.Image) -> np.ndarray:
    """uint8 C x H x W from an L or RGB image."""
    pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _nothing_loaded_message(report: DataReport) -> str:
    if not report.skipped:
        extensions = ", ".join(IMAGE_FORMATS)
        return f"No images found in {report.root} (looked for {extensions})"
    return f"No usable images in {report.root}; {report.skipped_text()}"


# ----------------------------------------------------------------------------------------------------------------
# The disk cache: one safetensors file per (folder contents, options)


def _cache_file(scan: FolderScan, options: dict[str, Any]) -> Path:
    """Where the tensors for this exact folder state and these options live."""
    listing = [[path.relative_to(scan.root).as_posix(), *_size_and_mtime(path)] for path in scan.files]
    identity = {
        "root": str(scan.root),
        "version": CACHE_FORMAT_VERSION,
        "pillow": PIL.__version__,
        **options,
        "files": listing,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
    return paths.cache_dir() / "datasets" / f"{key}.safetensors"


def _size_and_mtime(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return -1, -1  # gone since the scan: decoding will report it
    return stat.st_size, stat.st_mtime_ns


def _write_cache(file: Path, decoded: _Decoded, classes: list[str], reading: Progress) -> None:
    """Store the tensors atomically; a cache that cannot be written is only a warning."""
    from safetensors.torch import save

    metadata = {
        "format": "genstudio-dataset",
        "version": str(CACHE_FORMAT_VERSION),
        "classes": json.dumps(classes),
        "skipped": json.dumps([[bad.path, bad.reason] for bad in decoded.skipped]),
    }
    tensors = {"images": decoded.images.contiguous(), "labels": decoded.labels.contiguous()}
    try:
        atomic_write_bytes(file, save(tensors, metadata=metadata))
    except OSError as err:
        reading.log(f"Could not write the dataset cache {file}: {err}", level="warning")


def _read_cache(file: Path, scan: FolderScan, channels: int, resolution: int) -> _Decoded | None:
    """The cached tensors, or None when there is no usable cache file (missing, corrupt, inconsistent)."""
    import torch

    if not file.is_file():
        return None
    try:
        decoded = _load_cache(file)
    except Exception:  # a cache is disposable: any damage means "rebuild", never an error
        return None
    images, labels = decoded.images, decoded.labels
    consistent = (
        images.dtype == torch.uint8
        and labels.dtype == torch.int64
        and images.ndim == 4
        and tuple(images.shape[1:]) == (channels, resolution, resolution)
        and labels.shape == (len(images),)
        and len(images) + len(decoded.skipped) == len(scan.files)
    )
    return decoded if consistent else None


def _load_cache(file: Path) -> _Decoded:
    from safetensors import safe_open

    with safe_open(str(file), framework="pt") as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != "genstudio-dataset" or metadata.get("version") != str(CACHE_FORMAT_VERSION):
            raise ValueError("not a current genstudio dataset cache")
        skipped = [BadFile(str(path), str(reason)) for path, reason in json.loads(metadata["skipped"])]
        return _Decoded(handle.get_tensor("images"), handle.get_tensor("labels"), skipped)
