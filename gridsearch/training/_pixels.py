"""One image file → 8-bit RGB pixels at ``size`` × ``size``: every PIL mode, the eval crop.

Modes (what ``Image.convert("RGB")`` gets wrong is done here by hand):

* 16-bit grey (``I;16``, ``I;16B``, ``I;16L``, ``I;16N``) and 32-bit integer (``I``, read as
  16-bit: what PNG and TIFF store in it) are *scaled* to 8 bits, v·255/65535 rounded — PIL's own
  conversion clips every value above 255 to white.
* 32-bit float (``F``): values within [0, 1] are scaled by 255, within [0, 255] kept, any other
  range stretched from the image's minimum to its maximum (counted: :data:`STRETCHED_FLOAT`).
* Alpha (``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La``, a palette with a transparent colour) is
  composited over black: a half-transparent pixel is half as bright, a transparent one black
  (most files store black under full transparency, so this is what dropping alpha mostly gave).
* ``CMYK``: PIL's conversion, R = (255 − C)(255 − K)/255 (and so on); an Adobe-inverted CMYK JPEG
  is un-inverted by PIL when it opens it.  ``1``, ``L``, ``P``, ``YCbCr`` and the rest: PIL's
  conversion, which is exact for them.
* EXIF orientation is applied (a portrait photo stored sideways is turned upright).

Geometry (``crop``): ``"center"`` resizes the shorter side to ``size`` (bilinear, antialiased)
then cuts the centre square — torchvision's ``Resize(size)`` + ``CenterCrop(size)``, the usual eval
transform, pixel for pixel; ``"stretch"`` resizes the whole image to ``size`` × ``size`` (the aspect
ratio is lost).  A JPEG is decoded at a reduced DCT scale when that still leaves at least the
size needed twice over (PIL's ``draft``: faster on large photos, within a few levels of a full
decode).

PIL releases the GIL while it decodes, converts and resizes, so :func:`decode` runs in threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gridsearch.config import CROPS

# Extensions read as images (lower case); any other file is skipped and counted.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
                              ".ppm", ".pgm", ".pbm", ".pnm"})
SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
STRETCHED_FLOAT = "float image stretched from its own range"


@dataclass(frozen=True)
class Decoded:
    """What one file held: its stored mode and size (before the EXIF turn), and notes."""

    mode: str
    width: int
    height: int
    notes: tuple[str, ...] = ()


class Unreadable(Exception):
    """A file that is not a readable image; the message is one line without the path."""


def decode(path: str, size: int, crop: str = "center", out: np.ndarray | None = None
           ) -> tuple[np.ndarray, Decoded]:
    """The pixels of ``path`` as uint8 (3, size, size), written into ``out`` if given.

    Raises :class:`Unreadable` with the reason (never another exception for a bad file)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            info = Decoded(opened.mode, *opened.size)
            if opened.format == "JPEG":
                _draft(opened, size, crop)
            im, notes = to_rgb(ImageOps.exif_transpose(opened))
            im = fit(im, size, crop)
            arr = np.asarray(im)
    except Image.DecompressionBombError as e:
        raise Unreadable(f"too large for PIL's decompression-bomb guard ({_first(e)}); "
                         "downscale or remove it") from None
    except UnidentifiedImageError:
        raise Unreadable("not an image PIL can read (its format is not recognised)") from None
    except Unreadable:
        raise
    except Exception as e:  # noqa: BLE001 - PIL raises many types for a broken file
        raise Unreadable(_first(e)) from None
    target = out if out is not None else np.empty((3, size, size), dtype=np.uint8)
    target[...] = arr.transpose(2, 0, 1)
    return target, Decoded(info.mode, info.width, info.height, notes)


def _first(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _draft(im, size: int, crop: str) -> None:
    """Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while every side stays ≥ twice what the
    resize needs (PIL picks the smallest such scale, or none): the bilinear resize then still
    does the filtering, and the pixels stay within a few levels of a full decode (measured:
    mean 0.3, at most 13 of 255 on a 500×375 photo at 32-64 px; identical from 96 px)."""
    w, h = im.size
    if crop == "center":
        s = size / min(w, h)
        need = (max(size, math.ceil(w * s)), max(size, math.ceil(h * s)))
    else:
        need = (size, size)
    im.draft(im.mode, (2 * need[0], 2 * need[1]))


def to_rgb(im):
    """``im`` as an 8-bit RGB image; returns (image, notes)."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im, ()
    if mode in SIXTEEN_BIT:
        a: np.ndarray = np.asarray(im).astype(np.int64)
        a = (np.clip(a, 0, 65535) * 255 + 32767) // 65535
        return Image.fromarray(a.astype(np.uint8), "L").convert("RGB"), ()
    if mode == "F":
        a = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        notes: tuple[str, ...] = ()
        if lo >= 0 and hi <= 1:
            a = a * 255
        elif lo < 0 or hi > 255:
            a = (a - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(a)
            notes = (STRETCHED_FLOAT,)
        return Image.fromarray(np.rint(a).astype(np.uint8), "L").convert("RGB"), notes
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ALPHA:
        rgba = im.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB"), ()
    return im.convert("RGB"), ()


def fit(im, size: int, crop: str = "center"):
    """``im`` at ``size`` × ``size``: the shorter side resized then the centre cut (as
    torchvision's ``Resize(size)`` + ``CenterCrop(size)`` do it), or stretched."""
    from PIL import Image

    w, h = im.size
    if crop == "stretch":
        return im if (w, h) == (size, size) else im.resize((size, size), Image.Resampling.BILINEAR)
    if crop != "center":
        raise ValueError(f"crop: must be one of {', '.join(CROPS)}, got {crop!r}")
    # torchvision: the shorter side becomes size, the longer int(size · long / short)
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
    top, left = round((nh - size) / 2.0), round((nw - size) / 2.0)
    if (nw, nh) == (size, size):
        return im
    return im.crop((left, top, left + size, top + size))
