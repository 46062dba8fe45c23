"""Procedural shapes: anti-aliased circles, squares and triangles rendered from a latent vector.

Nothing here is trained and the module has no learned weights: an image is a fixed function of its latent vector
z (standard normal) and its class label. That makes it a generator the app can run with no training, and a source
of labelled sample datasets for demos and tests (class = shape type: 0 circle, 1 square, 2 triangle).

How z is read (LATENT_DIM = 44, whatever the config):
- six shape slots of SLOT_DIM = 7 numbers, z[:, 7s : 7s + 7] = centre x, centre y, size, rotation and three
  colour numbers; an image draws the first `shapes_per_image` slots, in order, all of its class;
- z[:, 42] picks the class when no labels are given (its normal CDF, split in three equal parts);
- z[:, 43] is the direction of the gradient background.

Each shape is a signed distance function (SDF) on the pixel grid, negative inside (formulas from Inigo Quilez,
"2D distance functions", https://iquilezles.org/articles/distfunctions2d/). Its coverage of a pixel is
clamp(0.5 - sdf / softness, 0, 1) with sdf in pixels: a linear ramp `softness` pixels wide centred on the edge,
whose integral over a straight edge is exactly the area inside it. Shapes are composited over the background in
slot order. The three shapes of one size have the same area (that of a circle of radius `size`), so the classes
differ in shape only.

Everything is element-wise tensor arithmetic (no loops over pixels or images, no reductions), so an image does not
depend on the batch it is generated in, and the module traces for export.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

CLASS_NAMES = ("circle", "square", "triangle")
MAX_SHAPES = 6
SLOT_DIM = 7  # centre x, centre y, size, rotation, colour a, colour b, colour c
CLASS_INDEX = MAX_SHAPES * SLOT_DIM  # 42: the class when no labels are given
GRADIENT_INDEX = CLASS_INDEX + 1  # 43: direction of the gradient background
LATENT_DIM = GRADIENT_INDEX + 1  # 44

RADIUS_RANGE = (0.12, 0.26)  # equal-area radius of a lone shape, in image widths; divided by sqrt(shapes)
SQUARE_HALF_SIDE = math.sqrt(math.pi) / 2  # x radius: (2 a)^2 = pi r^2
TRIANGLE_HALF_SIDE = math.sqrt(math.pi / math.sqrt(3))  # x radius: sqrt(3) a^2 = pi r^2
EXTENT = 2 * TRIANGLE_HALF_SIDE / math.sqrt(3)  # farthest point of any class from its centre, x radius (~1.56)
MONO_GREYS = {"white": (0.0, 0.55), "black": (0.45, 1.0), "gradient": (0.0, 1.0)}  # shape grey range per background
GRADIENT_GREYS = (0.95, 0.35)  # the gradient background runs from this grey to that one


class ShapeLayout(NamedTuple):
    """What z (and the labels) decide, before any pixel is drawn. Lengths are in image widths."""

    classes: torch.Tensor  # N, int64 in 0..2
    centres: torch.Tensor  # N x S x 2 (x right, y down), S = shapes_per_image
    radii: torch.Tensor  # N x S: radius of the circle with the shape's area
    angles: torch.Tensor  # N x S, radians
    colours: torch.Tensor  # N x S x 3, RGB in [0, 1]


class ShapesGenerator(nn.Module):
    """kind = generator: `generate(z, labels)` -> N x 3 x R x R images in [0, 1]. No parameters."""

    class_names = CLASS_NAMES

    def __init__(
        self,
        resolution: int = 64,  # R: images are R x R
        shapes_per_image: int = 1,  # slots of z drawn per image, 1..MAX_SHAPES
        palette: str = "vivid",  # vivid | pastel | mono
        background: str = "white",  # white | black | gradient
        softness: float = 1.0,  # width of the anti-aliased edge, in pixels
    ):
        super().__init__()
        if not 1 <= shapes_per_image <= MAX_SHAPES:
            raise ValueError(f"shapes_per_image must be in 1..{MAX_SHAPES}, got {shapes_per_image}")
        self.latent_dim = LATENT_DIM
        self.num_classes = len(CLASS_NAMES)
        self.resolution = resolution
        self.shapes_per_image = shapes_per_image
        self.palette = palette
        self.background = background
        self.softness = softness
        # Pixel centres in image widths: R x R x 2 (x, y). Not saved: it follows from the config.
        coords = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution
        ys, xs = torch.meshgrid(coords, coords, indexing="ij")
        self.register_buffer("grid", torch.stack([xs, ys], dim=-1), persistent=False)

    def extra_repr(self) -> str:
        return (
            f"resolution={self.resolution}, shapes_per_image={self.shapes_per_image}, palette={self.palette!r}, "
            f"background={self.background!r}, softness={self.softness}"
        )

    # -- z -> layout ------------------------------------------------------------------------------------------
    def layout(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> ShapeLayout:
        """Read centres, sizes, rotations, colours and classes out of z (N x LATENT_DIM)."""
        if z.dim() != 2 or z.shape[1] != LATENT_DIM:
            raise ValueError(f"z must be N x {LATENT_DIM}, got {tuple(z.shape)}")
        count = self.shapes_per_image
        slots = z[:, : count * SLOT_DIM].reshape(-1, count, SLOT_DIM)  # N x S x 7
        unit = normal_cdf(slots)  # N x S x 7, uniform in (0, 1) for standard normal z
        radii = (RADIUS_RANGE[0] + (RADIUS_RANGE[1] - RADIUS_RANGE[0]) * unit[..., 2]) / math.sqrt(count)
        margin = (EXTENT * radii)[..., None]  # N x S x 1: keeps every class of shape inside the image
        centres = margin + (1 - 2 * margin) * unit[..., 0:2]  # N x S x 2
        angles = 2 * math.pi * unit[..., 3]  # N x S
        colours = self._colours(unit[..., 4:7])  # N x S x 3
        classes = self._classes(z, labels)  # N
        return ShapeLayout(classes, centres, radii, angles, colours)

    def _classes(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if labels is None:
            uniform = normal_cdf(z[:, CLASS_INDEX])  # N: three equally likely classes
            return torch.clamp(torch.floor(uniform * self.num_classes), 0, self.num_classes - 1).long()
        labels = labels.to(device=z.device, dtype=torch.long).reshape(-1)
        if labels.shape[0] != z.shape[0]:
            raise ValueError(f"got {labels.shape[0]} labels for {z.shape[0]} latent vectors")
        tracing = torch.jit.is_tracing() or torch.compiler.is_compiling()
        if not tracing and bool(((labels < 0) | (labels >= self.num_classes)).any()):
            raise ValueError(f"labels must be in 0..{self.num_classes - 1} ({', '.join(CLASS_NAMES)})")
        return labels

    def _colours(self, unit: torch.Tensor) -> torch.Tensor:
        """N x S x 3 numbers in (0, 1) -> N x S x 3 RGB in the configured palette."""
        hue, a, b = unit.unbind(-1)  # each N x S
        if self.palette == "mono":
            low, high = MONO_GREYS[self.background]
            grey = low + (high - low) * hue
            return grey[..., None].expand(*grey.shape, 3)
        if self.palette == "pastel":
            return hsv_to_rgb(hue, 0.25 + 0.2 * a, 0.9 + 0.1 * b)
        return hsv_to_rgb(hue, 0.75 + 0.25 * a, 0.7 + 0.25 * b)  # vivid

    # -- layout -> pixels -------------------------------------------------------------------------------------
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z: N x LATENT_DIM standard normal; labels: N int64 class ids or None (taken from z). -> N x 3 x R x R."""
        shapes = self.layout(z, labels)
        grid = self.grid.to(z.dtype)  # R x R x 2
        image = self._background(z, grid)  # N x 3 x R x R
        classes = shapes.classes[:, None, None]  # N x 1 x 1
        for slot in range(self.shapes_per_image):
            offset = grid - shapes.centres[:, slot, None, None, :]  # N x R x R x 2
            distance = shape_distance(offset, classes, shapes.radii[:, slot, None, None], shapes.angles[:, slot])
            coverage = torch.clamp(0.5 - distance * self.resolution / self.softness, 0, 1)  # N x R x R
            colour = shapes.colours[:, slot, :, None, None]  # N x 3 x 1 x 1
            image = image + (colour - image) * coverage[:, None]  # "over": N x 3 x R x R
        return image

    forward = generate

    def _background(self, z: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """N x 3 x R x R background."""
        size = (z.shape[0], 3, self.resolution, self.resolution)
        if self.background == "black":
            return z.new_zeros(size)
        if self.background == "white":
            return z.new_ones(size)
        angle = 2 * math.pi * normal_cdf(z[:, GRADIENT_INDEX])[:, None, None]  # N x 1 x 1
        along = (grid[..., 0] - 0.5) * torch.cos(angle) + (grid[..., 1] - 0.5) * torch.sin(angle)  # N x R x R
        ramp = 0.5 + along / math.sqrt(2)  # N x R x R in [0, 1]: the corners are sqrt(2)/2 from the centre
        start, end = GRADIENT_GREYS
        return (start + (end - start) * ramp)[:, None].expand(size)


# ----------------------------------------------------------------------------------------------------------------
# Signed distance functions (negative inside), after Quilez, "2D distance functions"
# ----------------------------------------------------------------------------------------------------------------


def shape_distance(offset: torch.Tensor, classes: torch.Tensor, radius: torch.Tensor, angle: torch.Tensor):
    """Distance from each point to its image's shape, all classes of one size having the area pi radius^2.

    offset: N x R x R x 2 points relative to the shape's centre; classes, radius: N x 1 x 1; angle: N.
    Returns N x R x R, in the units of `offset`.
    """
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]  # N x 1 x 1
    x = cos * offset[..., 0] + sin * offset[..., 1]  # rotate the points by -angle: the shape's own frame
    y = -sin * offset[..., 0] + cos * offset[..., 1]
    circle = torch.sqrt(x * x + y * y) - radius
    square = box_distance(x, y, SQUARE_HALF_SIDE * radius)
    triangle = triangle_distance(x, -y, TRIANGLE_HALF_SIDE * radius)  # -y: image rows run down; point it up
    return torch.where(classes == 0, circle, torch.where(classes == 1, square, triangle))


def box_distance(x: torch.Tensor, y: torch.Tensor, half_side: torch.Tensor) -> torch.Tensor:
    """Axis-aligned square centred on the origin: length(max(q, 0)) + min(max(qx, qy), 0), q = |p| - half."""
    qx, qy = x.abs() - half_side, y.abs() - half_side
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
    inside = torch.clamp(torch.maximum(qx, qy), max=0)
    return outside + inside


def triangle_distance(x: torch.Tensor, y: torch.Tensor, half_side: torch.Tensor) -> torch.Tensor:
    """Equilateral triangle, side 2 * half_side, centroid at the origin, one vertex on +y (Quilez's sdEquilateral-
    Triangle): fold by the y axis, then by the right edge's normal, then measure to the bottom edge."""
    k = math.sqrt(3)
    x = x.abs() - half_side  # fold: x >= 0 half; the bottom-right vertex moves to the origin
    y = y + half_side / k
    beyond = (x + k * y) > 0  # past the right edge's bisector: reflect onto the bottom edge's side
    x, y = torch.where(beyond, (x - k * y) / 2, x), torch.where(beyond, (-k * x - y) / 2, y)
    x = x - torch.clamp(torch.maximum(x, -2 * half_side), max=0)  # nearest point on the bottom edge's segment
    return -torch.sqrt(x * x + y * y) * torch.sign(y)


def normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2: maps standard normal numbers to uniform ones in (0, 1)."""
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def hsv_to_rgb(hue: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """HSV (each ... in [0, 1]) -> ... x 3 RGB: f(n) = v - v s max(0, min(k, 4 - k, 1)), k = (n + 6 h) mod 6,
    for n = 5, 3, 1 (Wikipedia, "HSL and HSV", section "HSV to RGB alternative")."""
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = torch.remainder(n + 6 * hue, 6)
        channels.append(value - value * saturation * torch.clamp(torch.minimum(k, 4 - k), 0, 1))
    return torch.stack(channels, dim=-1)


class ShapesBackend:
    """The implementation `genstudio_shapes.render:ShapesBackend` names: builds a ShapesGenerator from a config."""

    @staticmethod
    def build(config: dict[str, Any]) -> ShapesGenerator:
        return ShapesGenerator(**config)
