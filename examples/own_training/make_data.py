"""Write a small train/ + val/ image tree for the example: scikit-learn's bundled 8×8 digits
(1,797 images, 10 classes), upscaled to 32 px PNGs.  Offline: nothing is downloaded.

    python examples/own_training/make_data.py            # → examples/own_training/data/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def make(root: Path, size: int = 32, val_share: float = 0.25, seed: int = 0) -> Path:
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.images))
    n_val = int(len(order) * val_share)
    for rank, i in enumerate(order):
        split = "val" if rank < n_val else "train"
        folder = root / split / str(digits.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels).resize((size, size), Image.BILINEAR).convert("RGB") \
            .save(folder / f"{i:04d}.png")
    return root


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "data"
    make(out)
    print(f"wrote {sum(1 for _ in out.rglob('*.png'))} images under {out}")
