"""The folder dataset: a zoo of good and bad image files, class folders, the disk cache, progress and abort.

Every file is generated in tmp_path; the cache goes to tmp_path/"home" through GENSTUDIO_HOME.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from genstudio import paths
from genstudio.data import (
    IMAGE_FORMATS,
    BadFile,
    DataReport,
    ImageFolderDataset,
    open_image,
    resize_square,
    scan_folder,
)
from genstudio.errors import Cancelled, ImageDecodeError, UserError
from genstudio.events import EventCollector

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO.parent / "shared" / "data" / "digits"
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GENSTUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# ----------------------------------------------------------------------------------------------------------------
# The zoo: each writer makes one file at `path`


def noise_image(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write_solid_png(path: Path, colour=RED, size=(16, 16)) -> None:
    Image.new("RGB", size, colour).save(path, "PNG")


def write_truncated_png(path: Path) -> None:
    data = encoded(noise_image(), "PNG")
    path.write_bytes(data[: len(data) // 2])


def write_truncated_jpeg(path: Path) -> None:
    data = encoded(noise_image(), "JPEG", quality=95)
    path.write_bytes(data[: len(data) // 2])


def write_zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def write_text(path: Path) -> None:
    path.write_text("this is not an image\n")


def write_eps(path: Path) -> None:
    """An EPS header: Pillow's EPS plugin (Ghostscript) would accept it if it were allowed to probe."""
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> None:
    """A tiny PNG whose header claims width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    body = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def write_one_pixel_png(path: Path) -> None:
    Image.new("RGB", (1, 1), (10, 200, 30)).save(path)


def write_cmyk_jpeg(path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, "JPEG", quality=95)  # red in CMYK


SIXTEEN_BIT_LEVELS = [0, 257 * 100, 32768, 65535]  # a 16-bit gradient; 8-bit: 0, 100, 128, 255


def write_sixteen_bit_png(path: Path) -> None:
    row = np.array(SIXTEEN_BIT_LEVELS, dtype=np.uint16)
    image = Image.fromarray(np.tile(row, (2, 1)))
    assert image.mode.startswith("I;16")
    image.save(path)


def write_palette_png(path: Path) -> None:
    """Two pixels: palette index 0 (transparent) then index 1 (opaque orange)."""
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * (256 * 3 - 6))
    image.putdata([0, 1])
    image.save(path, transparency=0)


def write_rgba_png(path: Path) -> None:
    """Two pixels: half-transparent red, then opaque green."""
    image = Image.new("RGBA", (2, 1))
    image.putdata([(255, 0, 0, 128), (0, 255, 0, 255)])
    image.save(path)


def write_exif_rotated_jpeg(path: Path) -> None:
    """Stored 40 wide x 20 high, red block in the stored top-left corner; orientation 6 (turn 90 degrees clockwise)."""
    image = Image.new("RGB", (40, 20), WHITE)
    image.paste(RED, (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())


def write_animated_gif(path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, GREEN, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)


BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated.png": (write_truncated_png, "truncated file"),
    "truncated.jpg": (write_truncated_jpeg, "truncated file"),
    "empty.png": (write_zero_bytes, "zero bytes"),
    "text.png": (write_text, "not an image"),
    "disguised_eps.png": (write_eps, "not an image"),
    "bomb.png": (write_bomb_png, "decompression bomb"),
    "notes.txt": (write_text, "unsupported format .txt"),
    "layers.psd": (write_text, "unsupported format .psd"),
}
GOOD_FILES: dict[str, Callable[[Path], None]] = {
    "one_pixel.png": write_one_pixel_png,
    "cmyk.jpg": write_cmyk_jpeg,
    "sixteen_bit.png": write_sixteen_bit_png,
    "palette.png": write_palette_png,
    "rgba.png": write_rgba_png,
    "rotated.jpg": write_exif_rotated_jpeg,
    "animated.gif": write_animated_gif,
}
HIDDEN_FILES = (".DS_Store", ".hidden.png")


def make_zoo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (write, _) in BAD_FILES.items():
        write(folder / name)
    for name, write in GOOD_FILES.items():
        write(folder / name)
    for name in HIDDEN_FILES:
        write_solid_png(folder / name)
    return folder


def cache_files() -> list[Path]:
    return sorted((paths.cache_dir() / "datasets").glob("*.safetensors"))


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    return value if isinstance(value, tuple) else (value,)


def assert_close(actual, expected, tolerance: int = 3) -> None:
    assert np.abs(np.array(actual, dtype=int) - np.array(expected, dtype=int)).max() <= tolerance, (actual, expected)


# ----------------------------------------------------------------------------------------------------------------
# open_image: good files


def test_one_pixel_png_loads(tmp_path: Path) -> None:
    write_one_pixel_png(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png")
    assert (image.mode, image.size, pixel(image, (0, 0))) == ("RGB", (1, 1), (10, 200, 30))


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    write_cmyk_jpeg(tmp_path / "a.jpg")
    image = open_image(tmp_path / "a.jpg")
    assert image.mode == "RGB"
    assert_close(pixel(image, (8, 8)), RED, tolerance=8)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    write_sixteen_bit_png(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png", mode="L")
    assert [pixel(image, (x, 0))[0] for x in range(4)] == [0, 100, 128, 255]


def test_palette_transparency_becomes_background(tmp_path: Path) -> None:
    write_palette_png(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png", background=(0, 128, 255))
    assert pixel(image, (0, 0)) == (0, 128, 255)
    assert pixel(image, (1, 0)) == (200, 100, 50)


def test_rgba_is_composited_over_background(tmp_path: Path) -> None:
    write_rgba_png(tmp_path / "a.png")
    image = open_image(tmp_path / "a.png", background=BLUE)
    assert_close(pixel(image, (0, 0)), (128, 0, 127), tolerance=1)
    assert pixel(image, (1, 0)) == GREEN
    grey = open_image(tmp_path / "a.png", mode="L", background=WHITE)
    assert grey.mode == "L" and 150 < pixel(grey, (0, 0))[0] < 230  # pink-ish red over white, as grey


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    write_exif_rotated_jpeg(tmp_path / "a.jpg")
    image = open_image(tmp_path / "a.jpg")
    assert image.size == (20, 40)  # transposed
    assert_close(pixel(image, (17, 2)), RED, tolerance=40)  # stored top-left lands top-right
    assert_close(pixel(image, (2, 2)), WHITE, tolerance=40)


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    write_animated_gif(tmp_path / "a.gif")
    image = open_image(tmp_path / "a.gif")
    assert image.mode == "RGB" and pixel(image, (4, 4)) == RED


# ----------------------------------------------------------------------------------------------------------------
# open_image: bad files


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_image_decode_error(tmp_path: Path, name: str) -> None:
    write, reason = BAD_FILES[name]
    write(tmp_path / name)
    with pytest.raises(ImageDecodeError) as caught:
        open_image(tmp_path / name)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / name}: ") and reason in message
    assert "\n" not in message


def test_bomb_reason_gives_the_pixel_count(tmp_path: Path) -> None:
    write_bomb_png(tmp_path / "bomb.png")
    with pytest.raises(ImageDecodeError, match=r"decompression bomb \(10000000000 pixels\)"):
        open_image(tmp_path / "bomb.png")


def test_bomb_warning_range_is_refused_too(tmp_path: Path) -> None:
    """Between the limit and twice the limit Pillow only warns; genstudio refuses."""
    side = math.isqrt(int(Image.MAX_IMAGE_PIXELS * 1.5))
    write_bomb_png(tmp_path / "bomb.png", side, side)
    with pytest.raises(ImageDecodeError, match=rf"decompression bomb \({side * side} pixels\)"):
        open_image(tmp_path / "bomb.png")


def test_missing_file_is_an_image_decode_error(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="file not found"):
        open_image(tmp_path / "gone.png")


def test_pillow_safety_settings_are_untouched(tmp_path: Path) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    write_bomb_png(tmp_path / "bomb.png")
    with pytest.raises(ImageDecodeError):
        open_image(tmp_path / "bomb.png")
    assert limit is not None and limit == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ----------------------------------------------------------------------------------------------------------------
# Resizing


def test_resize_policies(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), RED)
    image.paste(GREEN, (0, 0, 8, 20))  # a green stripe along the left edge
    cropped = resize_square(image, 10, "center-crop")
    stretched = resize_square(image, 10, "stretch")
    padded = resize_square(image, 10, "pad", background=BLUE)
    assert cropped.size == stretched.size == padded.size == (10, 10)
    assert_close(pixel(cropped, (0, 5)), RED, tolerance=10)  # the stripe is cropped away
    assert_close(pixel(stretched, (0, 5)), GREEN, tolerance=10)  # the stripe is squeezed in
    assert pixel(padded, (5, 0)) == BLUE and pixel(padded, (5, 9)) == BLUE  # bars above and below
    assert_close(pixel(padded, (8, 5)), RED, tolerance=10)


def test_pad_in_grey_uses_the_background_as_grey() -> None:
    padded = resize_square(Image.new("L", (20, 10), 0), 10, "pad", background=WHITE)
    assert pixel(padded, (5, 0)) == (255,)


# ----------------------------------------------------------------------------------------------------------------
# scan_folder


def test_scan_lists_candidates_by_extension_without_decoding(tmp_path: Path) -> None:
    scan = scan_folder(make_zoo(tmp_path / "zoo"))
    names = {path.name for path in scan.files}
    assert names == {name for name in {*BAD_FILES, *GOOD_FILES} if Path(name).suffix in IMAGE_FORMATS}
    assert {Path(bad.path).name: bad.reason for bad in scan.skipped} == {
        "notes.txt": "unsupported format .txt",
        "layers.psd": "unsupported format .psd",
    }
    assert scan.classes == [] and scan.labels == [0] * len(scan.files)


def test_scan_finds_class_folders(tmp_path: Path) -> None:
    root = tmp_path / "classes"
    for relative in ("dog/a.png", "cat/b.png", "cat/deeper/c.png", "loose.png", ".hidden/d.png"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_solid_png(root / relative)
    (root / "empty").mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "readme.txt").write_text("no images here")
    scan = scan_folder(root)
    assert scan.classes == ["cat", "dog"]
    assert [path.relative_to(root).as_posix() for path in scan.files] == ["cat/b.png", "cat/deeper/c.png", "dog/a.png"]
    assert scan.labels == [0, 0, 1]
    assert scan.skipped == [BadFile(str(root / "loose.png"), "outside any class folder")]
    shallow = scan_folder(root, recursive=False)
    assert [path.name for path in shallow.files] == ["b.png", "a.png"]


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing", lambda tmp: tmp / "file.png"])
def test_scan_refuses_a_missing_or_non_folder_root(tmp_path: Path, make) -> None:
    write_solid_png(tmp_path / "file.png")
    with pytest.raises(UserError):
        scan_folder(make(tmp_path))


# ----------------------------------------------------------------------------------------------------------------
# ImageFolderDataset


def test_zoo_loads_the_good_files_and_reports_the_bad(tmp_path: Path) -> None:
    root = make_zoo(tmp_path / "zoo")
    dataset = ImageFolderDataset(root, 8, 3, cache=False)
    report = dataset.report
    assert len(dataset) == report.loaded == len(GOOD_FILES)
    assert {Path(bad.path).name: bad.reason.split(" (")[0] for bad in report.skipped} == {
        name: reason for name, (_, reason) in BAD_FILES.items()
    }
    assert report.found == len(GOOD_FILES) + len(BAD_FILES)
    assert not any(name in json.dumps(report.to_dict()) for name in HIDDEN_FILES)
    assert dataset.images.shape == (len(GOOD_FILES), 3, 8, 8) and dataset.images.dtype == torch.uint8
    assert dataset.labels.tolist() == [0] * len(GOOD_FILES) and dataset.classes == []


def test_summary_names_counts_and_files(tmp_path: Path) -> None:
    dataset = ImageFolderDataset(make_zoo(tmp_path / "zoo"), 8, cache=False)
    line = dataset.report.summary(max_names=3)
    assert "\n" not in line
    assert line.startswith(f"{len(GOOD_FILES)} images from {tmp_path / 'zoo'}; {len(BAD_FILES)} skipped: ")
    assert "bomb.png (decompression bomb" in line  # skipped files are listed by name, sorted
    assert line.endswith(f"and {len(BAD_FILES) - 3} more")


def test_summary_and_to_dict() -> None:
    report = DataReport("/d", 3, 2, ["a", "b"], [BadFile("/d/a/x.png", "zero bytes")], False)
    assert report.summary() == "2 images in 2 classes from /d; 1 skipped: a/x.png (zero bytes)"
    assert json.loads(json.dumps(report.to_dict()))["skipped"] == [{"path": "/d/a/x.png", "reason": "zero bytes"}]


def test_class_folders_give_labels(tmp_path: Path) -> None:
    root = tmp_path / "classes"
    for relative, colour in (("b/x.png", GREEN), ("a/x.png", RED), ("a/y.png", RED), ("stray.png", BLUE)):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_solid_png(root / relative, colour)
    dataset = ImageFolderDataset(root, 4, cache=False)
    assert dataset.classes == ["a", "b"] and dataset.labels.tolist() == [0, 0, 1]
    assert dataset.images[2, :, 0, 0].tolist() == list(GREEN)
    assert dataset.report.skipped == [BadFile(str(root / "stray.png"), "outside any class folder")]
    assert "3 images in 2 classes" in dataset.report.summary()


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("resize", ["center-crop", "stretch", "pad"])
def test_items_are_float_images_in_unit_range(tmp_path: Path, channels: int, resize: str) -> None:
    root = tmp_path / "noise"
    root.mkdir()
    for seed in range(3):
        noise_image(30 + 10 * seed, 20, seed).save(root / f"{seed}.png")
    dataset = ImageFolderDataset(root, 12, channels, resize=resize, cache=False)
    image, label = dataset[1]
    assert image.dtype == torch.float32 and image.shape == (channels, 12, 12) and label == 0
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.5
    batch, labels = next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))
    assert batch.shape == (3, channels, 12, 12) and labels.tolist() == [0, 0, 0]


def test_options_are_checked(tmp_path: Path) -> None:
    write_solid_png(tmp_path / "a.png")
    for options in ({"resolution": 0}, {"channels": 2}, {"resize": "zoom"}):
        with pytest.raises(UserError):
            ImageFolderDataset(tmp_path, **{"resolution": 8, **options})


def test_empty_folder_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No images found"):
        ImageFolderDataset(tmp_path / "empty", 8)


def test_folder_of_only_bad_files_is_a_user_error_naming_them(tmp_path: Path) -> None:
    write_zero_bytes(tmp_path / "a.png")
    write_text(tmp_path / "b.jpg")
    with pytest.raises(UserError, match=r"2 skipped: a.png \(zero bytes\), b.jpg \(not an image\)"):
        ImageFolderDataset(tmp_path, 8)
    assert cache_files() == []  # nothing worth caching


def test_missing_root_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        ImageFolderDataset(tmp_path / "nowhere", 8)


def test_progress_events_and_abort(tmp_path: Path) -> None:
    for index in range(5):
        write_solid_png(tmp_path / f"{index}.png")
    events = EventCollector()
    ImageFolderDataset(tmp_path, 4, cache=False, progress=events)
    assert [event.kind for event in events.events][:1] == ["begin"] and events.events[-1].kind == "end"
    assert events.events[0].task == f"Reading {tmp_path.resolve()}" and events.events[0].total == 5
    assert events.of_kind("progress")[-1].done == 5
    calls = []

    def abort_on_third_check() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        ImageFolderDataset(tmp_path, 4, cache=False, abort=abort_on_third_check)
    assert len(calls) == 3


# ----------------------------------------------------------------------------------------------------------------
# The disk cache


def test_cache_is_written_and_reused(tmp_path: Path, home: Path) -> None:
    root = make_zoo(tmp_path / "zoo")
    first = ImageFolderDataset(root, 8, 1)
    assert not first.report.from_cache
    assert cache_files() == [first.cache_file] and first.cache_file.is_relative_to(home)
    second = ImageFolderDataset(root, 8, 1)
    assert second.report.from_cache
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.report.skipped == first.report.skipped and second.classes == first.classes
    assert ImageFolderDataset(root, 16, 1).report.from_cache is False  # other options, other cache file
    assert len(cache_files()) == 2


def test_changing_a_file_invalidates_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "solid"
    root.mkdir()
    write_solid_png(root / "a.png", RED)
    write_solid_png(root / "b.png", RED)
    assert not ImageFolderDataset(root, 4).report.from_cache
    assert ImageFolderDataset(root, 4).report.from_cache
    write_solid_png(root / "a.png", BLUE)  # same size in bytes, new contents
    stat = (root / "a.png").stat()
    os.utime(root / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = ImageFolderDataset(root, 4)
    assert not changed.report.from_cache and changed.images[0, :, 0, 0].tolist() == list(BLUE)
    os.utime(root / "b.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touch only
    assert not ImageFolderDataset(root, 4).report.from_cache
    write_solid_png(root / "c.png", GREEN)  # a new file
    grown = ImageFolderDataset(root, 4)
    assert not grown.report.from_cache and len(grown) == 3


@pytest.mark.parametrize("damage", [b"", b"garbage that is not safetensors", b"\xff" * 8 + b"{}"])
def test_corrupt_cache_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    write_solid_png(tmp_path / "a.png", GREEN)
    first = ImageFolderDataset(tmp_path, 4)
    first.cache_file.write_bytes(damage)
    rebuilt = ImageFolderDataset(tmp_path, 4)
    assert not rebuilt.report.from_cache and torch.equal(rebuilt.images, first.images)
    assert ImageFolderDataset(tmp_path, 4).report.from_cache  # the rebuilt cache is good again


def test_cache_with_wrong_shapes_is_rebuilt(tmp_path: Path) -> None:
    from safetensors.torch import save

    write_solid_png(tmp_path / "a.png", GREEN)
    first = ImageFolderDataset(tmp_path, 4)
    tensors = {"images": torch.zeros(1, 3, 5, 5, dtype=torch.uint8), "labels": torch.zeros(1, dtype=torch.int64)}
    metadata = {"format": "genstudio-dataset", "version": "1", "classes": "[]", "skipped": "[]"}
    first.cache_file.write_bytes(save(tensors, metadata=metadata))
    rebuilt = ImageFolderDataset(tmp_path, 4)
    assert not rebuilt.report.from_cache and rebuilt.images.shape == (1, 3, 4, 4)


def test_no_cache_when_asked(tmp_path: Path) -> None:
    write_solid_png(tmp_path / "a.png")
    dataset = ImageFolderDataset(tmp_path, 4, cache=False)
    assert dataset.cache_file is None and cache_files() == []


# ----------------------------------------------------------------------------------------------------------------
# Import cost and the real data


def test_import_does_not_import_torch() -> None:
    code = "import genstudio.data, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not (DIGITS / "train").is_dir(), reason="the shared digits data set is not here")
def test_digits_train_set_loads() -> None:
    dataset = ImageFolderDataset(DIGITS / "train", 32, 1)
    assert dataset.classes == [str(digit) for digit in range(10)]
    assert len(dataset) == 1500 and dataset.report.skipped == []
    assert dataset.images.shape == (1500, 1, 32, 32)
    assert sorted(set(dataset.labels.tolist())) == list(range(10))
    assert "1500 images in 10 classes" in dataset.report.summary()


def test_fit_image_fills_the_aspect_window_and_refuses_a_malformed_aspect():
    from PIL import Image as PILImage

    from genstudio.data import aspect_size, fit_image

    tall = PILImage.new("RGB", (10, 40), (255, 0, 0))  # 1:4
    padded = np.asarray(fit_image(tall, 16, "pad", (255, 255, 255), "1:2"))  # a 16 x 8 window in the middle
    assert aspect_size(16, "1:2") == (16, 8)
    assert (padded[:, :4] == 255).all() and (padded[:, 12:] == 255).all()  # outside the window: background
    assert (padded[:, 6:10] == (255, 0, 0)).all()  # the picture, scaled to fit the window (4 x 16)
    assert (padded[:, 4:6] == 255).all() and (padded[:, 10:12] == 255).all()  # 1:4 in 1:2: padded at the sides
    cropped = np.asarray(fit_image(tall, 16, "center-crop", (255, 255, 255), "1:2"))
    assert (cropped[:, 4:12] == (255, 0, 0)).all()  # the window's whole height and width
    assert fit_image(tall, 16, "pad", (255, 255, 255)).size == (16, 16)
    for bad in ("wide", "0:1", "3"):
        with pytest.raises(UserError, match="aspect"):
            aspect_size(16, bad)
