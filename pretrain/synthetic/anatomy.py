"""The normal chest of a phantom: body, lung fields, heart, mediastinum, spine, ribs, clavicles,
diaphragm domes and lung markings, drawn as a density map in [0, 1] (bright = dense).

Coordinates are normalised: x, y in [-1, 1], x to the image right, y downwards. Radiographs are
viewed as if facing the patient, so the patient's right is the image left (x < 0). Rotation,
scale and shift jitter are applied to the coordinate grid itself, so nothing is resampled.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

SIDES = ("right", "left")             # patient sides
SIDE_SIGN = {"right": -1.0, "left": 1.0}


@dataclass(frozen=True)
class Anatomy:
    """Shape parameters of one image (a patient's build plus per-image positioning)."""
    scale: float = 1.0                 # thorax size
    shift: tuple[float, float] = (0.0, 0.0)
    rotation: float = 0.0              # radians
    lung_center_x: float = 0.36        # |x| of each lung's centre
    lung_center_y: float = -0.10
    lung_rx: float = 0.26
    lung_ry: float = 0.60
    dome: dict = field(default_factory=lambda: {"right": 0.40, "left": 0.45})  # dome apex y per side
    heart_halfwidth: float = 0.27
    heart_center: tuple[float, float] = (0.07, 0.28)
    tissue: float = 0.45               # soft-tissue density
    lung_air: float = 0.15             # aerated lung density
    view: str = "PA"

    def with_dome(self, side: str, y: float) -> "Anatomy":
        return replace(self, dome={**self.dome, side: y})


def sample_anatomy(rng: np.random.Generator, view: str = "PA") -> Anatomy:
    """A patient's normal build with positioning jitter; AP views magnify the heart (beam geometry)."""
    heart = rng.uniform(0.24, 0.29) * (1.08 if view == "AP" else 1.0)
    right_dome = rng.uniform(0.36, 0.44)
    return Anatomy(
        scale=rng.uniform(0.88, 1.04), shift=(rng.normal(0, 0.03), rng.normal(0, 0.03)),
        rotation=np.deg2rad(rng.normal(0, 3.0)), lung_rx=rng.uniform(0.24, 0.28),
        lung_ry=rng.uniform(0.56, 0.64), dome={"right": right_dome, "left": right_dome + rng.uniform(0.02, 0.07)},
        heart_halfwidth=heart, heart_center=(rng.uniform(0.05, 0.09), rng.uniform(0.25, 0.31)),
        tissue=rng.uniform(0.40, 0.50), lung_air=rng.uniform(0.12, 0.18), view=view)


@lru_cache(maxsize=8)
def base_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in [-1, 1], cached per size (shared read-only by every image)."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    x.flags.writeable = y.flags.writeable = False
    return x, y


def smooth_step(distance: np.ndarray, width: float) -> np.ndarray:
    """1 inside (distance < 0), 0 outside, a linear ramp of ``width`` across the edge (anti-aliasing)."""
    return np.clip(0.5 - distance / width, 0.0, 1.0)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a random ``cells``×``cells`` grid, bilinearly upsampled."""
    grid = rng.random((cells + 1, cells + 1), dtype=np.float32)
    t = np.linspace(0, cells, size, dtype=np.float32)
    i = np.minimum(t.astype(np.int32), cells - 1)
    f = t - i
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


@dataclass
class Canvas:
    """One image being drawn: coordinates, density, and the masks findings need."""
    size: int
    anatomy: Anatomy
    x: np.ndarray
    y: np.ndarray
    edge: float                                        # anti-aliasing width in normalised units
    density: np.ndarray = None                         # type: ignore[assignment]
    lung: dict = field(default_factory=dict)           # side -> visible lung field (soft mask)
    hemithorax: dict = field(default_factory=dict)     # side -> lung ellipse incl. behind heart/dome
    radius: dict = field(default_factory=dict)         # side -> elliptic radius from lung centre
    markings: np.ndarray = None                        # type: ignore[assignment]


def new_canvas(size: int, anatomy: Anatomy) -> Canvas:
    x0, y0 = base_grid(size)
    c, s = np.cos(anatomy.rotation), np.sin(anatomy.rotation)
    xs, ys = x0 - anatomy.shift[0], y0 - anatomy.shift[1]
    x = (c * xs + s * ys) / anatomy.scale
    y = (-s * xs + c * ys) / anatomy.scale
    return Canvas(size, anatomy, x.astype(np.float32), y.astype(np.float32), edge=3.0 / size)


def draw_anatomy(canvas: Canvas, rng: np.random.Generator) -> Canvas:
    """Fill ``canvas.density`` with the normal chest and record the lung masks."""
    a, x, y, e = canvas.anatomy, canvas.x, canvas.y, canvas.edge
    body = smooth_step(np.hypot(x / 0.95, (y - 0.15) / 1.25) - 1.0, e)
    density = 0.04 + body * a.tissue
    heart = smooth_step(np.hypot((x - a.heart_center[0]) / a.heart_halfwidth,
                                 (y - a.heart_center[1]) / 0.24) - 1.0, e * 2)
    canvas.markings = _markings(canvas, rng)
    for side in SIDES:
        cx = SIDE_SIGN[side] * a.lung_center_x
        u, v = (x - cx) / a.lung_rx, (y - a.lung_center_y) / a.lung_ry
        r = np.hypot(u, v)
        ellipse = smooth_step(r - 1.0, e * 4)
        # Dome: highest mid-hemithorax, falling to the costophrenic angle laterally.
        dome_y = a.dome[side] + 0.14 * np.clip(u, -1, 1) ** 2
        above = smooth_step(y - dome_y, e)
        canvas.hemithorax[side] = ellipse
        canvas.radius[side] = r
        canvas.lung[side] = ellipse * above * (1 - heart)
    lungs = canvas.lung["right"] + canvas.lung["left"]
    density = density - lungs * (a.tissue - a.lung_air) + lungs * canvas.markings
    density += body * (_ribs(canvas) + _clavicles(canvas) + _spine(canvas))
    canvas.density = density.astype(np.float32)
    return canvas


def _markings(canvas: Canvas, rng: np.random.Generator) -> np.ndarray:
    """Vessels fan out from the hila: denser centrally, with fine texture."""
    a, x, y = canvas.anatomy, canvas.x, canvas.y
    hila = np.minimum(np.hypot(x + 0.15, y + 0.05), np.hypot(x - 0.15, y + 0.05))
    texture = smooth_noise(rng, canvas.size, max(4, canvas.size // 6))
    return (0.10 * np.exp(-hila / 0.25) + 0.05 * texture).astype(np.float32)


def _ribs(canvas: Canvas) -> np.ndarray:
    """Posterior ribs as a periodic field of arcs sloping down laterally (one expression)."""
    x, y = canvas.x, canvas.y
    phase = (y + 0.75 - 0.35 * (np.abs(x) - 0.1) ** 2) / 0.13
    bands = (0.5 + 0.5 * np.cos(2 * np.pi * phase)) ** 2
    bands *= bands
    bands *= bands                                   # cos^16 of the half angle: thin bright bands
    inside = (np.abs(x) > 0.08) & (np.abs(x) < 0.70) & (y > -0.78) & (y < 0.45)
    return 0.07 * bands * inside


def _clavicles(canvas: Canvas) -> np.ndarray:
    x, y = canvas.x, canvas.y
    line = np.abs(y - (-0.74 + 0.10 * np.abs(x)))
    return 0.10 * smooth_step(line - 0.03, canvas.edge) * ((np.abs(x) > 0.06) & (np.abs(x) < 0.62))


def _spine(canvas: Canvas) -> np.ndarray:
    return 0.06 * smooth_step(np.abs(canvas.x) - 0.07, canvas.edge) * (canvas.y > -0.95)
