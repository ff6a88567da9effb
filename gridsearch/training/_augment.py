"""On-device augmentation of a training batch, seeded.

Applied by the trainer to each batch at the data's stored size, before the batch is resized to the
candidate's resolution (so a crop keeps the stored detail and the antialiased downscaling still
decides what a resolution can show).  One ``grid_sample`` per batch on the batch's device; the
random parameters come from a CPU generator seeded from the recipe's seed, so a run is reproducible
and draws the same augmentations on a CPU and a GPU.

- ``crop``: the image padded by 1/8 of its size on every side (with zeros: the data is normalised,
  so zero is the mean colour) and cropped back at a random whole-pixel offset (CIFAR's pad-4-crop-32).
- ``random_resized_crop``: a random box of 35-100% of the area, aspect ratio 3/4-4/3, stretched to
  the full size (bilinear).  It can cut objects off: for data whose class is the layout of the
  whole image it can change the class.
- ``hflip``: mirror half of the images, on its own or with either crop.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MODES = ("none", "crop", "random_resized_crop")
PAD_FRACTION = 1 / 8
SCALE = (0.35, 1.0)
RATIO = (3 / 4, 4 / 3)
_SEED_OFFSET = 0x5EED_A06   # its own stream: turning augmentation on keeps the batch order


class Augmenter:
    """``aug(x)`` returns the augmented batch (a new tensor), or ``x`` itself when off."""

    def __init__(self, mode: str = "none", hflip: bool = False, seed: int = 0):
        if mode not in MODES:
            raise ValueError(f"augment: must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode, self.hflip = mode, hflip
        self.gen = torch.Generator(device="cpu").manual_seed(seed + _SEED_OFFSET)

    @property
    def active(self) -> bool:
        return self.mode != "none" or self.hflip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return x
        n, _, h, w = x.shape
        sign = torch.ones(n)
        if self.hflip:
            sign = torch.where(torch.rand(n, generator=self.gen) < 0.5, -1.0, 1.0)
        if self.mode == "none":
            return torch.where((sign < 0).to(x.device)[:, None, None, None], x.flip(-1), x)
        theta = torch.zeros(n, 2, 3)
        if self.mode == "crop":
            # Whole-pixel shifts in [-pad, pad]; sampled "nearest" at pixel centres: exact copies.
            pad = max(1, round(PAD_FRACTION * min(h, w)))
            shift = torch.randint(-pad, pad + 1, (n, 2), generator=self.gen).float()
            theta[:, 0, 0], theta[:, 1, 1] = sign, 1.0
            theta[:, 0, 2], theta[:, 1, 2] = shift[:, 0] * 2 / w, shift[:, 1] * 2 / h
            interp = "nearest"
        else:
            area = torch.empty(n).uniform_(*SCALE, generator=self.gen)
            log_ratio = torch.empty(n).uniform_(math.log(RATIO[0]), math.log(RATIO[1]),
                                                generator=self.gen)
            bw = (area * log_ratio.exp()).sqrt().clamp(max=1.0)    # box width, share of the image
            bh = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
            # The box centre: anywhere the box stays inside the image ([-1, 1] coordinates).
            cx = (torch.rand(n, generator=self.gen) * 2 - 1) * (1 - bw)
            cy = (torch.rand(n, generator=self.gen) * 2 - 1) * (1 - bh)
            theta[:, 0, 0], theta[:, 1, 1] = bw * sign, bh
            theta[:, 0, 2], theta[:, 1, 2] = cx, cy
            interp = "bilinear"
        theta = theta.to(device=x.device, dtype=x.dtype, non_blocking=True)
        grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
        return F.grid_sample(x, grid, mode=interp, padding_mode="zeros", align_corners=False)
