"""``shapes``: a generated, offline data set whose classes need fine detail AND global layout.

Ten classes = five layouts × two stripe orientations.  A layout is an arrangement of two to four
objects (a horizontal pair, a vertical pair, a triangle pointing up, one pointing down, a 2×2
square); every object of an image is filled with the same sinusoidal stripes, horizontal (detail 0)
or vertical (detail 1).  The same layout differs in detail between two classes, and the same detail
differs in layout between five.  Every layout and both orientations are symmetric under a horizontal
flip, so flipping keeps every class.

The stripes' frequency is drawn per image, uniformly between 1/12 and 1/4 cycles per pixel of the
drawn size (8 to 24 cycles across an image drawn at 96 px), well below the drawing's own Nyquist
limit (1/2), so the drawing is free of aliasing.  Shown at R px, stripes with more than R/2 cycles
across the image are gone (the trainer's downscaling is antialiased) and those above about R/3
(a period under 3 px) are dimmed by it, while the layout survives at any of these resolutions.
Drawn at 96 px, the stripes are clear in 1/6 of the images at 32 px, 1/2 at 48 px, 5/6 at 64 px
and all from 72 px up (3/4 of the drawn size).  So accuracy can rise with resolution alone, which
it cannot on 8×8 digits upscaled.  Draw at about 4/3 of the largest resolution a study trains at.

Nuisances: position jitter, object size, discs or squares at random, the stripes' phase, contrast
and brightness, a colour tint, pixel noise.  Everything is drawn from ``numpy.random.default_rng
(seed)``: the same (n, size, seed) gives the same images, bit for bit.  Drawn with numpy, vectorised
over chunks of images (about a second or two for 3,000 images at 96 px on one core, see
``benchmarks/resolution_curve.py``), cached in memory.
"""

from __future__ import annotations

import functools

import numpy as np

NUM_CLASSES = 10
# Object centres per layout, in image coordinates [-1, 1] (x right, y down).
LAYOUTS = (
    ((-0.25, 0.0), (0.25, 0.0)),                                      # horizontal pair
    ((0.0, -0.25), (0.0, 0.25)),                                      # vertical pair
    ((0.0, -0.25), (-0.25, 0.2), (0.25, 0.2)),                        # triangle, apex up
    ((0.0, 0.25), (-0.25, -0.2), (0.25, -0.2)),                       # triangle, apex down
    ((-0.22, -0.22), (0.22, -0.22), (-0.22, 0.22), (0.22, 0.22)),     # 2×2 square
)
CYCLES = (1 / 12, 1 / 4)  # stripe frequency range, cycles per pixel of the drawn size
RADIUS = (0.14, 0.2)      # object radius (a square's half side), share of the half-width
AMPLITUDE = (0.3, 0.4)    # of the stripes, around a level of 0.45-0.75
MIN_SIZE = 16
_CHUNK = 64             # images per vectorised step (keeps the temporaries in cache)


@functools.lru_cache(maxsize=4)
def generate(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (float32, n×3×size×size, in [0, 1]) and their labels (exactly balanced:
    image i has class i mod 10 before a seeded shuffle).  Cached: the arrays are read-only."""
    if n < 1 or size < MIN_SIZE:
        raise ValueError(f"shapes: need n ≥ 1 and size ≥ {MIN_SIZE}, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % NUM_CLASSES)
    layout, detail = labels // 2, labels % 2
    k = max(len(p) for p in LAYOUTS)
    centres = np.zeros((n, k, 2))
    present = np.zeros((n, k), dtype=np.float32)
    for i, pts in enumerate(LAYOUTS):
        m = layout == i
        centres[m, :len(pts)] = pts
        present[m, :len(pts)] = 1.0
    f32 = np.float32
    centres = (centres + rng.uniform(-0.05, 0.05, (n, 1, 2))            # the whole layout moves
               + rng.uniform(-0.03, 0.03, (n, k, 2))).astype(f32)       # and each object a little
    radius = rng.uniform(*RADIUS, (n, k)).astype(f32)
    square = rng.random((n, k)) < 0.5
    cycles = (rng.uniform(*CYCLES, n) * size).astype(f32)      # cycles per image width
    phase = rng.uniform(0, 2 * np.pi, n).astype(f32)
    amplitude = rng.uniform(*AMPLITUDE, n).astype(f32)
    level = rng.uniform(0.45, 0.75, n).astype(f32)
    tint = rng.uniform(0.6, 1.0, (n, 3)).astype(f32)
    noise = rng.standard_normal((n, size, size), dtype=f32) * f32(0.04)

    c = (np.arange(size, dtype=f32) + f32(0.5)) / f32(size) * f32(2) - f32(1)  # pixel centres
    half_px = f32(size / 2)
    # The stripes are one sinusoid per image along y (horizontal stripes) or x (vertical ones).
    wave = np.sin(f32(np.pi) * cycles[:, None] * c[None, :] + phase[:, None]) * amplitude[:, None]
    out = np.empty((n, 3, size, size), dtype=f32)
    for s in range(0, n, _CHUNK):
        e = min(n, s + _CHUNK)
        dx = np.abs(c[None, None, None, :] - centres[s:e, :, 0, None, None])
        dy = np.abs(c[None, None, :, None] - centres[s:e, :, 1, None, None])
        r = radius[s:e, :, None, None]
        # Signed distance inside the edge (a disc's to first order), antialiased over one pixel.
        inside = np.where(square[s:e, :, None, None], r - np.maximum(dx, dy),
                          (r * r - dx * dx - dy * dy) / (2 * r))
        cover = (np.clip(inside * half_px + f32(0.5), 0, 1) * present[s:e, :, None, None]).max(1)
        w = wave[s:e]
        texture = np.where((detail[s:e] == 0)[:, None, None], w[:, :, None], w[:, None, :])
        gray = cover * (texture + level[s:e, None, None]) + noise[s:e] + f32(0.1)
        np.multiply(gray[:, None], tint[s:e, :, None, None], out=out[s:e])
    np.clip(out, 0, 1, out=out)
    out.flags.writeable = False
    labels.flags.writeable = False
    return out, labels
