"""Drawing for the synthetic benchmark: backgrounds, shapes, textures, clutter.

All randomness comes from the ``numpy.random.Generator`` passed in, so the
same generator state gives the same pixels. Images are ``float32`` arrays of
shape ``(H, W, 3)`` in 0-255 until :func:`finish` quantises them.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Array = np.ndarray

# Stroke glyphs in a unit box: each letter is a list of line segments.
_GLYPH_STROKES: dict[str, list[tuple[float, float, float, float]]] = {
    'letter T': [(0, 0, 1, 0), (0.5, 0, 0.5, 1)],
    'letter L': [(0, 0, 0, 1), (0, 1, 0.8, 1)],
    'letter X': [(0, 0, 1, 1), (1, 0, 0, 1)],
    'letter H': [(0, 0, 0, 1), (1, 0, 1, 1), (0, 0.5, 1, 0.5)],
    'letter Z': [(0, 0, 1, 0), (1, 0, 0, 1), (0, 1, 1, 1)],
}
# Shapes whose orientation is free; letters only tilt a little to stay legible.
_FREE_ROTATION = {
    'square', 'triangle', 'star', 'hexagon', 'diamond', 'cross', 'arrow',
    'crescent'
}


def _rotate(points: Array, angle: float) -> Array:
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _regular(n: int, radii: tuple[float, ...] = (1.0, )) -> Array:
    """Vertices of a regular (star) polygon with alternating radii."""
    k = n * len(radii)
    ang = -math.pi / 2 + 2 * math.pi * np.arange(k) / k
    r = np.array([radii[i % len(radii)] for i in range(k)])
    return np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1)


_POLYGONS: dict[str, Array] = {
    'square':
    _regular(4) / math.sqrt(2) * 1.0,
    'triangle':
    _regular(3) + np.array([0.0, 0.2]),
    'star':
    _regular(5, (1.0, 0.42)),
    'hexagon':
    _regular(6),
    'diamond':
    _regular(4) * np.array([0.62, 1.0]),
    'cross':
    np.array([[-.3, -1], [.3, -1], [.3, -.3], [1, -.3], [1, .3], [.3, .3],
              [.3, 1], [-.3, 1], [-.3, .3], [-1, .3], [-1, -.3], [-.3, -.3]]),
    'arrow':
    np.array([[-1, -.22], [.25, -.22], [.25, -.6], [1, 0], [.25, .6],
              [.25, .22], [-1, .22]]),
}


def shape_mask(shape: str, size: float, rng: np.random.Generator) -> Array:
    """Binary mask of one object, cropped to its tight box.

    Args:
        shape: one of :data:`spec.SHAPES`.
        size: object extent in pixels (before rotation).
        rng: random generator (orientation).

    Returns:
        bool array ``(h, w)`` with at least one True pixel in every border row
        and column.
    """
    canvas = int(math.ceil(size * 1.6)) + 4
    c = canvas / 2.0
    r = size / 2.0
    img = Image.new('L', (canvas, canvas), 0)
    draw = ImageDraw.Draw(img)
    if shape in _FREE_ROTATION:
        angle = rng.uniform(0, 2 * math.pi)
    elif shape.startswith('letter'):
        angle = rng.uniform(-0.35, 0.35)
    else:
        angle = 0.0
    if shape == 'circle':
        draw.ellipse([c - r, c - r, c + r, c + r], fill=255)
    elif shape == 'ring':
        draw.ellipse([c - r, c - r, c + r, c + r], fill=255)
        ri = r * 0.55
        draw.ellipse([c - ri, c - ri, c + ri, c + ri], fill=0)
    elif shape == 'crescent':
        draw.ellipse([c - r, c - r, c + r, c + r], fill=255)
        off = _rotate(np.array([[0.45 * r, -0.2 * r]]), angle)[0]
        ri = r * 0.85
        draw.ellipse([
            c + off[0] - ri, c + off[1] - ri, c + off[0] + ri, c + off[1] + ri
        ],
                     fill=0)
    elif shape in _GLYPH_STROKES:
        width = max(2, int(round(size * 0.2)))
        for x0, y0, x1, y1 in _GLYPH_STROKES[shape]:
            seg = (np.array([[x0, y0], [x1, y1]]) - 0.5) * size * 0.8
            seg = _rotate(seg, angle) + c
            draw.line([tuple(p) for p in seg], fill=255, width=width)
            for p in seg:  # round caps so strokes join cleanly
                draw.ellipse([
                    p[0] - width / 2, p[1] - width / 2, p[0] + width / 2,
                    p[1] + width / 2
                ],
                             fill=255)
    elif shape in _POLYGONS:
        pts = _rotate(_POLYGONS[shape] * r, angle) + c
        draw.polygon([tuple(p) for p in pts], fill=255)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    mask = np.asarray(img) > 127
    ys, xs = np.nonzero(mask)
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def texture_patch(colour: Array, texture: str, shape: tuple[int, int],
                  rng: np.random.Generator) -> Array:
    """Fill colours for an object's box: ``(h, w, 3)`` float32."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    if texture == 'solid':
        return base.copy()
    if texture == 'shaded':
        a = rng.uniform(0, 2 * math.pi)
        proj = (xx * math.cos(a) + yy * math.sin(a))
        proj = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)
        return base * (1.15 - 0.4 * proj)[..., None]
    if texture == 'stripes':
        period = rng.integers(3, 7)
        a = rng.uniform(0, math.pi)
        band = ((xx * math.cos(a) + yy * math.sin(a)) // period) % 2
        return base * (1.0 - 0.4 * band)[..., None]
    if texture == 'dots':
        period = rng.integers(4, 7)
        dots = ((xx % period) < 2) & ((yy % period) < 2)
        return base * (1.0 - 0.5 * dots)[..., None]
    if texture == 'glow':
        d = np.hypot(xx - w / 2, yy - h / 2) / max(h, w)
        return base * (1.2 - 0.7 * d)[..., None]
    raise ValueError(f'unknown texture {texture!r}')


def _value_noise(h: int, w: int, cells: int,
                 rng: np.random.Generator) -> Array:
    """Smooth noise in [-1, 1]: random low-res grid upsampled bicubically."""
    low = rng.uniform(0, 255, size=(cells, cells)).astype(np.uint8)
    up = Image.fromarray(low).resize((w, h), Image.BICUBIC)
    return np.asarray(up, dtype=np.float32) / 127.5 - 1.0


def draw_background(style: str, size: tuple[int, int],
                    rng: np.random.Generator) -> Array:
    """Background of a domain.

    Args:
        style: 'gradient', 'asphalt', 'night' or 'paper'.
        size: (width, height).

    Returns:
        float32 ``(H, W, 3)``.
    """
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if style == 'gradient':
        c0, c1 = rng.uniform(150, 250, size=(2, 3)).astype(np.float32)
        a = rng.uniform(0, 2 * math.pi)
        t = xx * math.cos(a) + yy * math.sin(a)
        t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
        return c0 + (c1 - c0) * t[..., None]
    if style == 'asphalt':
        grey = rng.uniform(70, 125)
        tint = rng.uniform(-8, 8, size=3).astype(np.float32)
        blotch = 22 * _value_noise(h, w, 6, rng)
        grain = rng.normal(0, 7, size=(h, w)).astype(np.float32)
        return (grey + blotch + grain)[..., None] + tint
    if style == 'night':
        top = rng.uniform(5, 35, size=3).astype(np.float32)
        bottom = rng.uniform(20, 60, size=3).astype(np.float32)
        img = top + (bottom - top) * (yy / max(h - 1, 1))[..., None]
        stars = rng.random((h, w)) < 0.004
        img[stars] = rng.uniform(120, 200)
        return img
    if style == 'paper':
        cream = np.array([235, 226, 200], np.float32) + rng.uniform(
            -12, 12, size=3).astype(np.float32)
        img = cream + rng.normal(0, 5, size=(h, w, 1)).astype(np.float32)
        period = int(rng.integers(12, 20))
        offset = int(rng.integers(0, period))
        img[offset::period] -= np.array([40, 25, 0], np.float32)
        return img
    raise ValueError(f'unknown background style {style!r}')


def draw_clutter(img: Array, count: int, palette: str,
                 rng: np.random.Generator) -> Array:
    """Unlabelled distractors (lines and jagged blobs) drawn onto ``img``."""
    if count <= 0:
        return img
    h, w = img.shape[:2]
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        # Greys that stay clear of the white/black object categories.
        grey = rng.uniform(130, 200) if palette == 'light' else rng.uniform(
            50, 120)
        colour = tuple(
            int(np.clip(grey + rng.uniform(-15, 15), 0, 255))
            for _ in range(3))
        if rng.random() < 0.5:
            pts = rng.uniform(0, 1, size=(int(rng.integers(2, 5)), 2))
            pts = [(float(x * w), float(y * h)) for x, y in pts]
            draw.line(pts, fill=colour, width=int(rng.integers(1, 3)))
        else:
            n = int(rng.integers(7, 12))
            ang = np.sort(rng.uniform(0, 2 * math.pi, size=n))
            rad = rng.uniform(0.3, 1.0, size=n) * rng.uniform(3, 0.08 * w + 4)
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            pts = [(float(cx + r * math.cos(a)), float(cy + r * math.sin(a)))
                   for a, r in zip(ang, rad)]
            draw.polygon(pts, fill=colour)
    return np.asarray(canvas, dtype=np.float32)


def finish(img: Array, blur: float, noise: float,
           rng: np.random.Generator) -> Image.Image:
    """Blur (optics) then add Gaussian noise (sensor), quantise to uint8."""
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if blur > 0.05:
        out = out.filter(ImageFilter.GaussianBlur(radius=float(blur)))
    if noise > 0.05:
        arr = np.asarray(out, dtype=np.float32)
        arr = arr + rng.normal(0, noise, size=arr.shape).astype(np.float32)
        out = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    return out
