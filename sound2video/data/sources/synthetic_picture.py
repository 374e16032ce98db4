"""Class-specific synthetic pictures, drawn at a small internal size (ffmpeg scales them up).

Each maker takes (rng, height, width, fps) and returns ``frame(i) -> float32 (h, w, 3) in [0, 1]``. The classes
differ in colour palette, texture and motion, so a model can tell them apart from pictures alone. Which classes there
are is ``synthetic_classes``'s table; each has a maker of its name here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sound2video.data.sources.synthetic_classes import recipes

Rng = np.random.Generator
Frame = Callable[[int], np.ndarray]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return y / max(h - 1, 1), x / max(w - 1, 1)


def _smooth_noise(rng: Rng, h: int, w: int, cells: int = 6) -> np.ndarray:
    """Low-frequency value noise in [0, 1], tileable horizontally, by bilinear upsampling of a coarse grid."""
    ch, cw = cells, max(2, cells * w // max(h, 1))
    coarse = rng.random((ch + 1, cw + 1)).astype(np.float32)
    coarse[:, -1] = coarse[:, 0]
    yi = np.linspace(0, ch, h)
    xi = np.linspace(0, cw, w)
    y0, x0 = np.floor(yi).astype(int).clip(0, ch - 1), np.floor(xi).astype(int).clip(0, cw - 1)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    a, b = coarse[y0][:, x0], coarse[y0][:, x0 + 1]
    c, d = coarse[y0 + 1][:, x0], coarse[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _mix(base: np.ndarray, colour: tuple[float, float, float], alpha: np.ndarray) -> np.ndarray:
    return base * (1 - alpha[..., None]) + np.asarray(colour, np.float32) * alpha[..., None]


def _gradient(y: np.ndarray, top: tuple[float, ...], bottom: tuple[float, ...]) -> np.ndarray:
    t, b = np.asarray(top, np.float32), np.asarray(bottom, np.float32)
    return t * (1 - y[..., None]) + b * y[..., None]


def _discs(h: int, w: int, cy: np.ndarray, cx: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Soft-edged discs (centres in pixels), combined with max."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w), np.float32)
    for y0, x0, rr in zip(cy, cx, r):
        d = np.sqrt((yy - y0) ** 2 + (xx - x0) ** 2)
        out = np.maximum(out, np.clip(1.5 - d / max(rr, 0.5), 0, 1))
    return out


def thunderstorm(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    clouds = _smooth_noise(rng, h, w * 2, 5)
    flashes = set()
    for t in np.sort(rng.uniform(0, 3600, 1100)):  # flash times (s), ~1 per 3 s
        f = int(t * fps)
        flashes.update({f, f + 1})
    bolt_x = rng.integers(w // 6, w - w // 6, 997)

    def frame(i: int) -> np.ndarray:
        shift = int(i * 0.5) % w
        c = clouds[:, shift : shift + w]
        img = _gradient(y, (0.10, 0.11, 0.16), (0.22, 0.23, 0.28)) * (0.7 + 0.5 * c[..., None])
        if i in flashes:
            img = img * 2.2 + 0.25
            bx = bolt_x[i % len(bolt_x)] + (np.cumsum(np.sign(np.sin(np.arange(h) * 1.7 + i))) % 5).astype(int)
            img[np.arange(h), np.clip(bx, 0, w - 1)] = 1.0
        return img

    return frame


def waterfall_burbling(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    rock = _smooth_noise(rng, h, w, 8)
    streaks = rng.random((h * 4, w)).astype(np.float32)
    streaks = np.cumsum(streaks, axis=0) % 1.0 > 0.55
    left, right = 0.32 + 0.05 * rng.random(), 0.68 - 0.05 * rng.random()

    def frame(i: int) -> np.ndarray:
        img = _gradient(y, (0.18, 0.30, 0.16), (0.14, 0.22, 0.12)) * (0.6 + 0.6 * rock[..., None])
        off = (i * max(h // 10, 1)) % (h * 3)
        water = 0.55 + 0.45 * streaks[off : off + h].astype(np.float32)
        band = ((x > left) & (x < right)).astype(np.float32)
        img = _mix(img, (0.80, 0.90, 0.97), band * water)
        mist = np.clip((y - 0.75) * 3, 0, 1) * 0.5
        return _mix(img, (0.92, 0.95, 1.0), mist)

    return frame


def volcano_eruption(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    apex_x, apex_y = 0.5 + 0.1 * (rng.random() - 0.5), 0.45 + 0.1 * rng.random()
    cone = y > apex_y + np.abs(x - apex_x) * 0.9
    n = 60
    px, speed, phase = rng.uniform(-0.08, 0.08, n), rng.uniform(0.01, 0.03, n), rng.uniform(0, 1, n)

    def frame(i: int) -> np.ndarray:
        glow = 0.6 + 0.4 * np.sin(i * 0.9) * rng.random()
        img = _gradient(y, (0.05, 0.02, 0.04), (0.25, 0.06, 0.03))
        d = np.sqrt((x - apex_x) ** 2 + ((y - apex_y) * 1.5) ** 2)
        img = _mix(img, (1.0, 0.45, 0.05), np.clip(0.35 - d, 0, 1) * 2.5 * glow)
        img[cone] = (0.07, 0.05, 0.05)
        prog = (phase + i * speed) % 1.0
        cy, cx = (apex_y - prog * apex_y) * h, (apex_x + px * (1 + 2 * prog)) * w
        return _mix(img, (1.0, 0.6, 0.1), _discs(h, w, cy, cx, np.full(n, 1.2)))

    return frame


def squishing_water(rng: Rng, h: int, w: int, fps: int) -> Frame:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mud = _smooth_noise(rng, h, w, 10)
    centres = [(rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, 1)) for _ in range(6)]

    def frame(i: int) -> np.ndarray:
        img = np.stack([0.36 + 0.2 * mud, 0.25 + 0.14 * mud, 0.12 + 0.08 * mud], -1).astype(np.float32)
        rings = np.zeros((h, w), np.float32)
        for cy, cx, ph in centres:
            age = ((i / fps) * 0.7 + ph) % 1.0
            d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
            rings += np.clip(1 - np.abs(d - age * w * 0.3) / 1.5, 0, 1) * (1 - age)
        return _mix(img, (0.55, 0.45, 0.30), np.clip(rings, 0, 1))

    return frame


def wind_noise(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    horizon = 0.55
    blades = rng.random(w).astype(np.float32)
    streak_y = rng.uniform(0.05, horizon - 0.05, 12)
    streak_v = rng.uniform(0.03, 0.08, 12)

    def frame(i: int) -> np.ndarray:
        img = _gradient(y, (0.45, 0.68, 0.92), (0.75, 0.85, 0.95))
        sway = 0.04 * np.sin(i * 0.35 + x * 9) * (1 - y)
        grass = (y + sway) > horizon + 0.08 * blades[None, :] * (0.7 + 0.3 * np.sin(i * 0.2))
        img[grass] = (0.25, 0.55, 0.18)
        img = img * (0.9 + 0.1 * ((x * 40 + i) % 2 > 1)[..., None])
        for sy, sv in zip(streak_y, streak_v):
            sx = (i * sv) % 1.3 - 0.3
            alpha = ((np.abs(y - sy) < 0.012) & (x > sx) & (x < sx + 0.25)).astype(np.float32) * 0.8
            img = _mix(img, (1.0, 1.0, 1.0), alpha)
        return img

    return frame


def fire_crackling(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    noise = _smooth_noise(rng, h * 3, w, 18)
    cx = 0.5 + 0.1 * (rng.random() - 0.5)

    def frame(i: int) -> np.ndarray:
        off = (i * max(h // 12, 1)) % (h * 2)
        flick = noise[off : off + h]
        shape = np.clip(1.2 - np.abs(x - cx) * 3.2 - (1 - y) * 1.4 + 0.6 * flick, 0, 1)
        shape *= 0.85 + 0.15 * np.sin(i * 2.3)
        img = np.zeros((h, w, 3), np.float32) + np.float32(0.03)
        img = _mix(img, (0.8, 0.15, 0.02), np.clip(shape * 2, 0, 1))
        img = _mix(img, (1.0, 0.55, 0.05), np.clip(shape * 2 - 0.6, 0, 1))
        return _mix(img, (1.0, 0.95, 0.6), np.clip(shape * 2 - 1.3, 0, 1))

    return frame


def raining(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    n = 150
    sx, sy, sp = rng.random(n), rng.random(n), rng.uniform(0.06, 0.12, n)

    def frame(i: int) -> np.ndarray:
        img = _gradient(y, (0.42, 0.46, 0.52), (0.28, 0.31, 0.34))
        py = (sy + i * sp) % 1.0
        px = (sx - (i * sp) * 0.3) % 1.0
        mask = np.zeros((h, w), np.float32)
        for k in range(6):  # each drop is a short diagonal streak
            rows = np.clip(((py - k * 0.012) * h).astype(int), 0, h - 1)
            cols = np.clip(((px + k * 0.004) * w).astype(int), 0, w - 1)
            mask[rows, cols] = 1.0 - k / 7
        return _mix(img, (0.85, 0.88, 0.95), mask * 0.8)

    return frame


def underwater_bubbling(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    n = 25
    bx, phase, speed, size = rng.random(n), rng.random(n), rng.uniform(0.01, 0.025, n), rng.uniform(0.6, 2.5, n)

    def frame(i: int) -> np.ndarray:
        img = _gradient(y, (0.10, 0.45, 0.70), (0.02, 0.12, 0.30))
        caustic = 0.5 + 0.5 * np.sin(x * 25 + np.sin(y * 13 + i * 0.2) * 2 + i * 0.1)
        img = img * (0.85 + 0.15 * caustic[..., None])
        prog = (phase + i * speed) % 1.0
        cy = (1 - prog) * h
        cx = (bx + 0.02 * np.sin(i * 0.4 + phase * 10)) * w
        return _mix(img, (0.85, 0.95, 1.0), _discs(h, w, cy, cx, size) * 0.85)

    return frame


def splashing_water(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    surface = _smooth_noise(rng, h, w * 2, 8)
    n = 40
    ang, vel = rng.uniform(0.2, np.pi - 0.2, n), rng.uniform(0.3, 1.0, n)
    cx0, period = 0.3 + 0.4 * rng.random(), int(fps * 1.2)

    def frame(i: int) -> np.ndarray:
        shift = (i * 2) % w
        s = surface[:, shift : shift + w]
        img = np.stack([0.05 + 0.25 * s, 0.55 + 0.25 * s, 0.60 + 0.25 * s], -1).astype(np.float32)
        sparkle = ((s * 97 + i * 0.37) % 1.0 > 0.97).astype(np.float32)
        img = _mix(img, (1.0, 1.0, 1.0), sparkle)
        age = (i % period) / period
        cy = (0.75 - np.sin(ang) * vel * age * 0.6 + age**2 * 0.4) * h
        cx = (cx0 + np.cos(ang) * vel * age * 0.35) * w
        return _mix(img, (0.97, 0.99, 1.0), _discs(h, w, cy, cx, np.full(n, 1.3)) * (1 - age))

    return frame


def dog_barking(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    lawn = _smooth_noise(rng, h, w, 6)
    cx0 = rng.uniform(0.3, 0.7)

    def frame(i: int) -> np.ndarray:
        img = np.stack([0.35 + 0.1 * lawn, 0.50 + 0.15 * lawn, 0.25 + 0.05 * lawn], -1).astype(np.float32)
        img[y < 0.35] = (0.80, 0.78, 0.72)  # a pale wall
        cx = cx0 + 0.15 * np.sin(i * 0.15)
        jump = 0.04 * abs(np.sin(i * 0.9))
        body = ((x - cx) / 0.12) ** 2 + ((y - 0.62 + jump) / 0.07) ** 2 < 1
        head = ((x - cx - 0.11) / 0.05) ** 2 + ((y - 0.52 + jump) / 0.05) ** 2 < 1
        img[body | head] = (0.45, 0.28, 0.12)
        return img

    return frame


def church_bell_ringing(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    stone = _smooth_noise(rng, h, w, 12)
    period = rng.uniform(1.1, 1.6) * fps

    def frame(i: int) -> np.ndarray:
        img = np.stack([0.55 + 0.15 * stone] * 3, -1).astype(np.float32)
        arch = ((x - 0.5) / 0.25) ** 2 + ((y - 0.35) / 0.3) ** 2 < 1
        img[arch | ((np.abs(x - 0.5) < 0.25) & (y > 0.35) & (y < 0.85))] = (0.12, 0.12, 0.16)
        angle = 0.5 * np.sin(2 * np.pi * i / period)
        dx, dy = x - 0.5, y - 0.25
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        bell = (v > 0.05) & (v < 0.4) & (np.abs(u) < 0.05 + 0.25 * v)
        img[bell] = (0.75, 0.6, 0.2)
        return img

    return frame


def engine_idling(rng: Rng, h: int, w: int, fps: int) -> Frame:
    y, x = _grid(h, w)
    hood = _smooth_noise(rng, h, w, 4)
    colour = np.asarray((0.75, 0.1, 0.08), np.float32) * rng.uniform(0.9, 1.1)  # a red car

    def frame(i: int) -> np.ndarray:
        shake = int(round(np.sin(i * 2.1) * 1.0))
        img = np.roll(colour * (0.6 + 0.4 * hood[..., None]), shake, axis=0)
        grille = (y > 0.6) & (y < 0.8) & (np.abs(x - 0.5) < 0.3) & ((x * 60).astype(int) % 2 == 0)
        img[grille] = (0.05, 0.05, 0.05)
        img[(y > 0.65) & (y < 0.75) & ((np.abs(x - 0.15) < 0.06) | (np.abs(x - 0.85) < 0.06))] = (1.0, 0.95, 0.7)
        exhaust = np.clip(0.4 - np.abs(x - 0.9 - 0.05 * np.sin(i * 0.3)) * 3 - (1 - y) * 0.2, 0, 1) * (y < 0.5)
        return _mix(img, (0.8, 0.8, 0.8), exhaust * 0.6)

    return frame


def frog_croaking(rng: Rng, h: int, w: int, fps: int) -> Frame:
    """Curation demo class: a green frog on a lily pad in a teal pond, its throat sac swelling with each croak."""
    y, x = _grid(h, w)
    pond = _smooth_noise(rng, h, w, 8)
    cx = rng.uniform(0.35, 0.65)
    period = rng.uniform(0.7, 1.0) * fps

    def frame(i: int) -> np.ndarray:
        ripple = 0.03 * np.sin(40 * np.hypot(x - cx, y - 0.7) - i * 0.5)
        img = np.stack([0.1 + 0.2 * pond, 0.45 + 0.3 * pond + ripple, 0.3 + 0.2 * pond], -1).astype(np.float32)
        img[((x - cx) / 0.22) ** 2 + ((y - 0.72) / 0.08) ** 2 < 1] = (0.15, 0.45, 0.12)  # the pad
        img[((x - cx) / 0.1) ** 2 + ((y - 0.6) / 0.08) ** 2 < 1] = (0.35, 0.7, 0.15)  # the frog
        sac = 0.02 + 0.03 * max(0.0, np.sin(2 * np.pi * i / period))
        img[((x - cx) / (sac * 1.4)) ** 2 + ((y - 0.66) / sac) ** 2 < 1] = (0.9, 0.85, 0.55)
        return img

    return frame


def ocean_waves(rng: Rng, h: int, w: int, fps: int) -> Frame:
    """Curation demo class: a blue sea under a pale sky, white surf lines rolling onto yellow sand."""
    y, x = _grid(h, w)
    foam = _smooth_noise(rng, h, w * 2, 10)
    period = rng.uniform(6, 9) * fps

    def frame(i: int) -> np.ndarray:
        img = _gradient(y, (0.7, 0.82, 0.95), (0.05, 0.3, 0.55)).astype(np.float32)
        shore = 0.8 + 0.08 * np.sin(2 * np.pi * i / period)
        img[y > shore] = (0.85, 0.75, 0.45)
        lines = np.sin(30 * (y - 0.02 * i) + 4 * foam[:, i % w : i % w + w]) > 0.85
        img[lines & (y > 0.4) & (y <= shore)] = (0.95, 0.97, 1.0)
        return img

    return frame


# one maker per class of the table in synthetic_classes, found by its name
PICTURES: dict[str, Callable[[Rng, int, int, int], Frame]] = recipes(globals(), "picture")
