"""Pixels <-> Qt images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(pixels: np.ndarray) -> QImage:
    """H x W x C uint8 (C = 1, 3 or 4) -> a QImage that owns a copy of the pixels."""
    array = np.ascontiguousarray(pixels)
    if array.ndim == 2:
        array = array[:, :, None]
    height, width, channels = array.shape
    formats = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}
    if channels not in formats:
        raise ValueError(f"cannot show an image with {channels} channels")
    return QImage(array.data, width, height, width * channels, formats[channels]).copy()


def load_pixmap(path: str | Path, max_side: int | None = None) -> QPixmap:
    """A pixmap of an image file (null when unreadable), scaled down to `max_side` when given."""
    image = QImage(str(path))
    if image.isNull():
        return QPixmap()
    if max_side and max(image.width(), image.height()) > max_side:
        from PySide6.QtCore import Qt

        image = image.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(image)
