"""Data on disk, never downloaded: stratified, seeded train/validation subsets as tensors.

Sources: scikit-learn's bundled 8×8 digits (the offline default), ``shapes`` (generated here, at
``image_size`` px, with classes that need fine detail and layout: :mod:`gridsearch.training._shapes`),
torchvision's CIFAR-10/100,
MNIST, FashionMNIST and SVHN read from a local root with downloads disabled, and an ImageFolder
tree.  Images are kept at their stored size as float tensors (N, 3, H, W), normalised with the
training subset's statistics; the trainer resizes each batch to the candidate's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gridsearch.errors import DataError


@dataclass(frozen=True)
class Subsets:
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int
    source: str

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])


def stratified_indices(labels: np.ndarray, train_size: int, val_size: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint train/val index sets with class proportions of ``labels``; same seed, same sets."""
    n = len(labels)
    if train_size + val_size > n:
        raise DataError(f"data: train_size + val_size = {train_size + val_size} exceeds the "
                        f"{n} images available")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    # Interleave classes round-robin over a shuffled order: every prefix is stratified.
    by_class: dict[int, list[int]] = {}
    for i in order:
        by_class.setdefault(int(labels[i]), []).append(int(i))
    queues = [by_class[c] for c in sorted(by_class)]
    share = np.array([len(q) for q in queues], dtype=float) / n
    picked: list[int] = []
    taken = np.zeros(len(queues), dtype=int)
    while len(picked) < train_size + val_size:
        # Next index from the class that is furthest below its share of what is picked so far.
        deficit = share * (len(picked) + 1) - taken
        deficit[taken >= [len(q) for q in queues]] = -np.inf
        c = int(np.argmax(deficit))
        picked.append(queues[c][taken[c]])
        taken[c] += 1
    picked_arr = np.array(picked)
    val, train = picked_arr[:val_size], picked_arr[val_size:]
    return np.sort(train), np.sort(val)


def load_data(source: str, root: str | Path = "", train_size: int = 512, val_size: int = 256,
         seed: int = 0, image_size: int = 64) -> Subsets:
    """Load the stratified subsets of ``source``. Raises :class:`DataError` with a clear message."""
    images, labels, num_classes = _read(source, Path(root) if root else None, image_size,
                                        train_size + val_size, seed)
    tr, va = stratified_indices(labels, train_size, val_size, seed)
    x = images(np.concatenate([tr, va]))
    train_x, val_x = x[: len(tr)], x[len(tr):]
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    y = torch.as_tensor(labels, dtype=torch.long)
    return Subsets((train_x - mean) / std, y[tr], (val_x - mean) / std, y[va], num_classes, source)


def _read(source: str, root: Path | None, image_size: int, count: int = 0, seed: int = 0):
    """Return (fetch(indices) -> float tensor N×3×H×W in [0, 1], labels, num_classes).

    A generated source makes exactly ``count`` images (class-balanced) from ``seed``."""
    if source == "shapes":
        from gridsearch.training import _shapes

        arr, labels = _shapes.generate(count, image_size, seed)
        return (lambda idx: torch.from_numpy(arr[idx])), labels.copy(), _shapes.NUM_CLASSES
    if source == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()  # bundled with scikit-learn: no download
        arr = torch.as_tensor(d.images / 16.0, dtype=torch.float32)
        return (lambda idx: arr[idx].unsqueeze(1).expand(-1, 3, -1, -1).contiguous()), d.target, 10
    if root is None or not root.is_dir():
        raise DataError(f"data.root: no such directory: {root}")
    if source == "imagefolder":
        return _imagefolder(root, image_size)
    return _torchvision(source, root)


def _torchvision(source: str, root: Path):
    import torchvision.datasets as tvd

    ctor = {"cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100, "mnist": tvd.MNIST,
            "fashionmnist": tvd.FashionMNIST, "svhn": tvd.SVHN}[source]
    kwargs = {"split": "train"} if source == "svhn" else {"train": True}
    try:
        ds = ctor(str(root), download=False, **kwargs)
    except (RuntimeError, OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"data: cannot read {source} under {root}: {first}") from None
    data = ds.data if not isinstance(ds.data, torch.Tensor) else ds.data.numpy()
    labels = np.asarray(ds.labels if source == "svhn" else ds.targets)
    if data.ndim == 3:                      # MNIST-like: N×H×W
        data = data[:, None]
    elif source != "svhn":                  # CIFAR: N×H×W×C
        data = data.transpose(0, 3, 1, 2)
    num_classes = len(getattr(ds, "classes", None) or np.unique(labels))

    def fetch(idx):
        x = torch.as_tensor(np.ascontiguousarray(data[idx]), dtype=torch.float32) / 255.0
        return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x

    return fetch, labels, num_classes


def _imagefolder(root: Path, image_size: int):
    from PIL import Image
    import torchvision.datasets as tvd
    import torchvision.transforms.functional as TF

    try:
        ds = tvd.ImageFolder(str(root))
    except (FileNotFoundError, RuntimeError) as e:
        raise DataError(f"data: not an ImageFolder tree under {root}: {e}") from None
    labels = np.asarray(ds.targets)

    def fetch(idx):
        out = torch.empty(len(idx), 3, image_size, image_size)
        for k, i in enumerate(idx):
            path = ds.samples[int(i)][0]
            try:
                with Image.open(path) as im:
                    im = im.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
            except OSError as e:
                raise DataError(f"data: cannot read image {path}: {e}") from None
            out[k] = TF.to_tensor(im)
        return out

    return fetch, labels, len(ds.classes)
