"""Findings a phantom can show: each a registered class that samples its parameters, may change
the anatomy (a bigger heart, a raised hemidiaphragm) and draws itself on the density map.

Names are PadChest / ontology labels, so phantom manifests feed the real label pipeline.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from cxr.core.registry import Registry
from cxr.pretrain.synthetic.anatomy import SIDE_SIGN, SIDES, Anatomy, Canvas, smooth_noise, smooth_step

#: finding name -> the (stateless) instance that samples and draws it
FINDINGS: Registry["Finding"] = Registry("phantom finding")


def register_finding(cls: type["Finding"]) -> type["Finding"]:
    """Class decorator: the name is the class's own ``name``, so it is not written twice."""
    FINDINGS.register(cls.name)(cls())
    return cls


class Finding:
    name: ClassVar[str]
    prevalence: ClassVar[float]        # per-study probability (per-patient when persistent)
    persistent: ClassVar[bool] = False  # devices and chronic findings stay on a patient's follow-ups

    def sample(self, rng: np.random.Generator) -> dict:
        return {"side": SIDES[rng.integers(2)]}

    def adjust(self, anatomy: Anatomy, params: dict) -> Anatomy:
        return anatomy

    def draw(self, canvas: Canvas, params: dict, rng: np.random.Generator) -> None:
        raise NotImplementedError


def _size_word(value: float, low: float, high: float) -> str:
    """small / moderate / large by thirds of the sampled range (used by the report writer)."""
    t = (value - low) / (high - low)
    return "small" if t < 1 / 3 else "moderate" if t < 2 / 3 else "large"


@register_finding
class Cardiomegaly(Finding):
    name, prevalence, persistent = "cardiomegaly", 0.22, True

    def sample(self, rng):
        factor = rng.uniform(1.35, 1.6)
        return {"factor": factor, "degree": "mild" if factor < 1.45 else "moderate"}

    def adjust(self, anatomy, params):
        from dataclasses import replace
        return replace(anatomy, heart_halfwidth=anatomy.heart_halfwidth * params["factor"])

    def draw(self, canvas, params, rng):
        pass  # the enlarged silhouette is drawn by the anatomy itself


@register_finding
class PleuralEffusion(Finding):
    name, prevalence = "pleural effusion", 0.20

    def sample(self, rng):
        height = rng.uniform(0.12, 0.5)
        return {"side": SIDES[rng.integers(2)], "height": height, "size": _size_word(height, 0.12, 0.5)}

    def draw(self, canvas, params, rng):
        a, side = canvas.anatomy, params["side"]
        lateral = (canvas.x - SIDE_SIGN[side] * a.lung_center_x) / a.lung_rx * SIDE_SIGN[side]
        # Meniscus: the fluid climbs the lateral chest wall.
        level = a.dome[side] - params["height"] - 0.12 * np.clip(lateral + 0.3, 0, None) ** 2
        fluid = smooth_step(level - canvas.y, 0.05) * canvas.lung[side]
        canvas.density += fluid * (a.tissue - a.lung_air + 0.02)


@register_finding
class Pneumothorax(Finding):
    name, prevalence = "pneumothorax", 0.10

    def sample(self, rng):
        rim = rng.uniform(0.15, 0.35)
        return {"side": SIDES[rng.integers(2)], "rim": rim, "size": "small" if rim < 0.25 else "moderate"}

    def draw(self, canvas, params, rng):
        a, side, rim = canvas.anatomy, params["side"], params["rim"]
        r = canvas.radius[side]
        upper = smooth_step(canvas.y - (a.lung_center_y + 0.3 * a.lung_ry), 0.1)
        zone = smooth_step((1 - rim) - r, canvas.edge * 2) * upper * canvas.lung[side]
        # Air without lung markings, bounded by the visceral pleural line.
        canvas.density -= zone * (canvas.markings + a.lung_air * 0.6)
        line = smooth_step(np.abs(r - (1 - rim)) * a.lung_rx - 0.004, canvas.edge) * upper * canvas.lung[side]
        canvas.density += 0.10 * line


@register_finding
class Nodule(Finding):
    name, prevalence, persistent = "nodule", 0.12, True

    def sample(self, rng):
        radius = rng.uniform(0.04, 0.07)
        return {"side": SIDES[rng.integers(2)], "uv": (rng.uniform(-0.5, 0.5), rng.uniform(-0.6, 0.3)),
                "radius": radius, "mm": int(round(radius * 250))}

    def draw(self, canvas, params, rng):
        a = canvas.anatomy
        cx = SIDE_SIGN[params["side"]] * a.lung_center_x + params["uv"][0] * a.lung_rx
        cy = a.lung_center_y + params["uv"][1] * a.lung_ry
        d = np.hypot(canvas.x - cx, canvas.y - cy)
        canvas.density += 0.24 * smooth_step(d - params["radius"], canvas.edge * 1.5)


@register_finding
class Consolidation(Finding):
    name, prevalence = "consolidation", 0.15

    def sample(self, rng):
        return {"side": SIDES[rng.integers(2)], "zone": ("lower", "mid")[rng.integers(2)],
                "radii": (rng.uniform(0.13, 0.2), rng.uniform(0.14, 0.24))}

    def draw(self, canvas, params, rng):
        a = canvas.anatomy
        v = 0.35 if params["zone"] == "lower" else 0.0
        cx = SIDE_SIGN[params["side"]] * (a.lung_center_x + 0.05)
        cy = a.lung_center_y + v * a.lung_ry
        blob = smooth_step(np.hypot((canvas.x - cx) / params["radii"][0], (canvas.y - cy) / params["radii"][1]) - 1, 0.6)
        # Patchy, not a ball: several confluent puffs with aerated gaps between them.
        patch = np.clip((smooth_noise(rng, canvas.size, max(6, canvas.size // 10)) - 0.35) * 3, 0, 1)
        canvas.density += 0.30 * blob * patch * canvas.lung[params["side"]]


@register_finding
class Atelectasis(Finding):
    name, prevalence = "atelectasis", 0.14

    def sample(self, rng):
        return {"side": SIDES[rng.integers(2)], "v": rng.uniform(0.25, 0.5), "tilt": rng.uniform(-0.35, 0.1),
                "lift": rng.uniform(0.05, 0.1)}

    def adjust(self, anatomy, params):
        # Volume loss pulls the hemidiaphragm up.
        return anatomy.with_dome(params["side"], anatomy.dome[params["side"]] - params["lift"])

    def draw(self, canvas, params, rng):
        a, side = canvas.anatomy, params["side"]
        x0 = SIDE_SIGN[side] * a.lung_center_x
        y0 = a.lung_center_y + params["v"] * a.lung_ry
        slope = params["tilt"] * SIDE_SIGN[side]
        dist = np.abs((canvas.y - y0) - slope * (canvas.x - x0)) / np.sqrt(1 + slope ** 2)
        band = smooth_step(dist - 0.022, canvas.edge) * smooth_step(np.abs(canvas.x - x0) - 0.17, 0.05)
        canvas.density += 0.26 * band * canvas.lung[side]


def draw_curve(canvas: Canvas, points: np.ndarray, width: float, value: float) -> None:
    """Burn a bright polyline (a wire, a line) into the density map, working only in its box."""
    pad = width + 2 * canvas.edge
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    box = (canvas.x >= lo[0]) & (canvas.x <= hi[0]) & (canvas.y >= lo[1]) & (canvas.y <= hi[1])
    if not box.any():
        return
    p = np.stack([canvas.x[box], canvas.y[box]], axis=1)[:, None, :]        # [P, 1, 2]
    a, b = points[:-1][None], points[1:][None]                               # [1, K, 2]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
    d = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)
    line = smooth_step(d - width, canvas.edge)
    canvas.density[box] = np.maximum(canvas.density[box], value * line + canvas.density[box] * (1 - line))


def bezier(p0, p1, p2, n: int = 14) -> np.ndarray:
    t = np.linspace(0, 1, n, dtype=np.float32)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float32) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


@register_finding
class Pacemaker(Finding):
    name, prevalence, persistent = "pacemaker", 0.08, True

    def sample(self, rng):
        return {"box": (rng.uniform(0.38, 0.52), rng.uniform(-0.66, -0.54)), "leads": int(rng.integers(1, 3))}

    def draw(self, canvas, params, rng):
        a, e = canvas.anatomy, canvas.edge
        bx, by = params["box"]
        box = smooth_step(np.maximum(np.abs(canvas.x - bx) - 0.075, np.abs(canvas.y - by) - 0.05), e)
        canvas.density = np.maximum(canvas.density, 0.97 * box)
        hx, hy = a.heart_center
        targets = [(hx + 0.5 * a.heart_halfwidth, hy + 0.12), (hx - 0.35 * a.heart_halfwidth, hy - 0.12)]
        for tx, ty in targets[:params["leads"]]:
            draw_curve(canvas, bezier((bx - 0.06, by), (0.0, by - 0.05), (tx, ty)), 0.008, 0.9)


@register_finding
class CentralVenousCatheter(Finding):
    name, prevalence = "central venous catheter", 0.14

    def sample(self, rng):
        return {"route": ("jugular", "subclavian")[rng.integers(2)], "tip": rng.uniform(-0.3, -0.1)}

    def draw(self, canvas, params, rng):
        tip = (-0.05, params["tip"])
        if params["route"] == "jugular":
            points = bezier((-0.24, -1.0), (-0.14, -0.6), tip)
        else:
            points = bezier((-0.62, -0.66), (-0.12, -0.62), tip)
        draw_curve(canvas, points, 0.007, 0.85)


@register_finding
class GroundGlassPattern(Finding):
    """The held-out class of zero-shot demos: bilateral, peripheral, lower-zone hazy opacity that,
    unlike consolidation, leaves the lung markings visible (a COVID-19-like pattern)."""
    name, prevalence = "ground glass pattern", 0.12

    def sample(self, rng):
        return {"extent": rng.uniform(0.5, 1.0)}

    def draw(self, canvas, params, rng):
        a = canvas.anatomy
        lower = smooth_step((a.lung_center_y - 0.1) - canvas.y, 0.3)
        for side in SIDES:
            periphery = np.clip((canvas.radius[side] - 0.45) / 0.35, 0, 1)
            patch = 0.5 + 0.5 * smooth_noise(rng, canvas.size, 5)
            canvas.density += 0.14 * params["extent"] * periphery * lower * patch * canvas.lung[side]


DEFAULT_FINDINGS = ("cardiomegaly", "pleural effusion", "pneumothorax", "nodule", "consolidation",
                    "atelectasis", "pacemaker", "central venous catheter")
NOVEL_FINDING = "ground glass pattern"
