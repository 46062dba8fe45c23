"""Large images through a fully convolutional network in overlapping tiles, seams blended away.

Tiles of `tile` pixels overlap by `overlap`. Each tile's output is weighted by a separable ramp: 1 in its middle,
falling linearly toward its edges where a neighbour overlaps, and 0 right at those edges. The weights are
normalised by their sum, so the result is a smooth partition of unity: no visible seams, and memory bounded by
one tile plus the output. The weight sum is separable too (a product of two 1-D sums), so no full-size weight
map is ever allocated.

Tiles go to `process` as 1 x C x h x w float32 arrays in [0, 1] (numpy: no torch here; a torch network is
wrapped at its edge, `genstudio.batch.torch_edge.on_tensors`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Process = Callable[[np.ndarray], Any]  # 1 x C x h x w float32 in [0, 1] -> 1 x C' x h x w (see as_array)


def as_array(result: Any) -> np.ndarray:
    """A processor's result as a float32 numpy array. A torch tensor (a processor that forgot its edge) is
    converted through its own methods, so this module never imports torch."""
    if hasattr(result, "detach"):
        result = result.detach().to("cpu").float().numpy()
    return np.asarray(result, dtype=np.float32)


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis covering 0..length, the last flush with the end."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    positions = list(range(0, length - tile, stride))
    positions.append(length - tile)
    return positions


def _rising(overlap: int) -> np.ndarray:
    """Weights across an overlap, 0 -> 1. The outer quarter next to the tile's edge gets 0: there the tile's
    output is disturbed by its own border (padding reaches a few pixels in), and the neighbour covers it."""
    margin = overlap // 4
    steps = (np.arange(overlap) + 1 - margin) / (overlap - 2 * margin + 1)
    return np.clip(steps, 0.0, 1.0).astype(np.float32)


def ramp(start: int, tile: int, length: int, positions: list[int]) -> np.ndarray:
    """The 1-D weight of the tile at `start`: rises over the overlap with the previous tile, falls over the
    overlap with the next one; 1 elsewhere. Where one tile's weight is 0 its neighbour's is positive."""
    size = min(tile, length - start)
    weight = np.ones(size, np.float32)
    index = positions.index(start)
    if index > 0:
        overlap_before = positions[index - 1] + tile - start
        if overlap_before > 0:
            weight[:overlap_before] = np.minimum(weight[:overlap_before], _rising(overlap_before))
    if index + 1 < len(positions):
        overlap_after = start + tile - positions[index + 1]
        if overlap_after > 0:
            weight[size - overlap_after:] = np.minimum(weight[size - overlap_after:], _rising(overlap_after)[::-1])
    return weight


def run_tiled(
    image: np.ndarray,  # H x W x C uint8
    process: Process,
    tile: int,
    overlap: int,
    abort: Callable[[], bool] | None = None,
    scale: int = 1,  # the network's output is `scale` times its input along each side (an upscaler)
) -> np.ndarray:
    """`process` over overlapping tiles of `image`; returns the blended (H * scale) x (W * scale) x C' uint8
    result. With a scale, the tiles are cut from the input and blended at the output's size (every position and
    ramp multiplied by it)."""
    if overlap < 0 or overlap >= tile:
        raise ValueError(f"overlap must be in [0, tile), got overlap {overlap} for tile {tile}")
    in_ys, in_xs = starts(image.shape[0], tile, overlap), starts(image.shape[1], tile, overlap)
    height, width, tile_out = image.shape[0] * scale, image.shape[1] * scale, tile * scale
    ys, xs = [y * scale for y in in_ys], [x * scale for x in in_xs]
    ramps_y = {y: ramp(y, tile_out, height, ys) for y in ys}
    ramps_x = {x: ramp(x, tile_out, width, xs) for x in xs}
    sum_y = np.zeros(height, np.float32)
    sum_x = np.zeros(width, np.float32)
    for y in ys:
        sum_y[y:y + len(ramps_y[y])] += ramps_y[y]
    for x in xs:
        sum_x[x:x + len(ramps_x[x])] += ramps_x[x]
    output: np.ndarray | None = None
    for y in ys:
        for x in xs:
            if abort is not None and abort():
                from genstudio.errors import Cancelled

                raise Cancelled("tiled processing")
            patch = image[y // scale:y // scale + tile, x // scale:x // scale + tile]
            planar = np.divide(patch.transpose(2, 0, 1)[None], np.float32(255), dtype=np.float32)  # 1 x C x h x w
            result = np.clip(as_array(process(np.ascontiguousarray(planar)))[0], 0, 1).transpose(1, 2, 0)
            expected = (patch.shape[0] * scale, patch.shape[1] * scale)
            if result.shape[:2] != expected:
                raise ValueError(f"the network made a {result.shape[:2]} tile of a {patch.shape[:2]} one; tiling "
                                 f"needs a network whose output is {scale} times its input")
            if output is None:
                output = np.zeros((height, width, result.shape[2]), np.float32)
            rows, cols = expected
            weight = (ramps_y[y][:, None] / sum_y[y:y + rows, None]) * (ramps_x[x][None, :] / sum_x[None, x:x + cols])
            output[y:y + rows, x:x + cols] += result * weight[:, :, None]
    assert output is not None
    np.multiply(output, 255.0, out=output)
    np.rint(output, out=output)
    np.clip(output, 0, 255, out=output)  # in place: the float buffer is the largest allocation
    return output.astype(np.uint8)
