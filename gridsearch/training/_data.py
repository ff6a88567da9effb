"""Data on disk, never downloaded: stratified, seeded train/validation subsets, and what they are.

Sources: scikit-learn's bundled 8×8 digits (the offline default), ``shapes`` (generated here, at
``image_size`` px: :mod:`gridsearch.training._shapes`), CIFAR-10/100, MNIST, Fashion-MNIST and SVHN
read from their standard files (:mod:`gridsearch.training._standard`), and an image folder, one
tree of class folders or ``train/`` + ``val/`` splits (:mod:`gridsearch.training._folders`),
decoded to 8-bit RGB at ``image_size`` (:mod:`gridsearch.training._pixels`).

Disk sources are decoded once per host into a memory-mapped uint8 cache shared by every process
(:mod:`gridsearch.training._cache`); :class:`Subsets` holds those uint8 pixels (N, 3, H, W) and the
training subset's per-channel mean and std, and the trainer turns each batch into normalised
floats on its device (:meth:`Subsets.norm`).  Generated sources are made in memory as floats in
[0, 1], normalised the same way.  Everything loaded is described by a :class:`Manifest`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gridsearch.config import CROPS
from gridsearch.errors import DataError
from gridsearch.training import _cache as cache_mod
from gridsearch.training._manifest import Manifest

GENERATED = ("digits", "shapes")
SHOWN = 3   # unreadable files named in the error


@dataclass(frozen=True)
class Subsets:
    """The training and validation subsets.  ``*_x`` are the stored pixels: uint8 in [0, 255]
    (disk sources, memory-mapped) or float in [0, 1] (generated), with ``mean``/``std`` per
    channel of the training subset in [0, 1] units; or, when ``mean`` is None, floats already
    normalised (what older code built by hand)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int
    source: str
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    manifest: Manifest | None = None

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def classes(self) -> list[str]:
        return list(self.manifest.classes) if self.manifest else [str(i) for i in
                                                                   range(self.num_classes)]

    def norm(self, device: torch.device | str | None = None
             ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(scale, shift), each 1×3×1×1 float32 on ``device``: a stored batch ``x`` becomes the
        network's input as ``x.float() * scale + shift`` (see ``trainer.inputs``); None when the
        tensors are normalised already."""
        if self.mean is None or self.std is None:
            return None
        unit = 255.0 if self.train_x.dtype == torch.uint8 else 1.0
        mean = torch.tensor(self.mean, dtype=torch.float64).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float64).view(1, -1, 1, 1)
        scale, shift = 1.0 / (std * unit), -mean / std
        return scale.float().to(device or "cpu"), shift.float().to(device or "cpu")


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
    sizes = np.array([len(q) for q in queues])
    picked: list[int] = []
    taken = np.zeros(len(queues), dtype=int)
    while len(picked) < train_size + val_size:
        # Next index from the class that is furthest below its share of what is picked so far.
        deficit = share * (len(picked) + 1) - taken
        deficit[taken >= sizes] = -np.inf
        c = int(np.argmax(deficit))
        picked.append(queues[c][taken[c]])
        taken[c] += 1
    picked_arr = np.array(picked, dtype=np.int64)
    val, train = picked_arr[:val_size], picked_arr[val_size:]
    return np.sort(train), np.sort(val)


def load_data(source: str, root: str | Path = "", train_size: int = 512, val_size: int = 256,
              seed: int = 0, image_size: int = 64, *, layout: str = "auto",
              train_dir: str = "train", val_dir: str = "", crop: str = "center",
              skip_bad: bool = False, cache: bool | str | Path = True,
              threads: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Subsets:
    """Load the stratified subsets of ``source``. Raises :class:`DataError` with a clear message.

    ``layout``, ``train_dir``, ``val_dir``: an image folder's layout (:mod:`._folders`); ``crop``:
    ``center`` or ``stretch`` (:mod:`._pixels`); ``skip_bad``: leave out unreadable images
    (listed in the manifest) instead of failing.  ``cache``: True for the default folder
    (``$GRIDSEARCH_CACHE_DIR`` …), a folder, or False for none.  ``threads``: decoding threads
    (default: the usable cores).  ``progress(done, total)`` is called while images are decoded.
    """
    if source in GENERATED:
        return _generated(source, train_size, val_size, seed, image_size)
    where = Path(root) if root else None
    if where is None or not where.is_dir():
        raise DataError(f"data.root: no such directory: {where}")
    if source == "imagefolder":
        from gridsearch.training import _folders

        if crop not in CROPS:
            raise DataError(f"data.crop: must be one of {', '.join(CROPS)}, got {crop!r}")
        src: Any = _folders.scan(where, layout, train_dir, val_dir)
        params = dict(image_size=image_size, crop=crop)
    else:
        from gridsearch.training import _standard

        if source not in _standard.STANDARD:
            raise DataError(f"data.source: unknown source {source!r}")
        src = _standard.locate(source, where)
        params = {}
    params.update(source=source, seed=seed, train_size=train_size, val_size=val_size)
    folder = (cache_mod.default_dir() if cache is True else Path(cache) if cache else None)
    digest = cache_mod.key(src.identity(), **params)
    entry = cache_mod.entry(folder, f"{source}-{digest[:24]}")
    warn = []
    if folder is not None and entry is None:
        warn.append(f"cannot write the data cache in {folder}: decoded into memory "
                    f"(set {cache_mod.ENV} to a writable folder)")
    lock = entry.locked() if entry else contextlib.nullcontext(0.0)
    with lock as waited:
        got = entry.read() if entry else None
        hit = got is not None
        if got is None:
            build = _build_folder if source == "imagefolder" else _build_standard
            start = time.perf_counter()
            pixels, meta = build(src, entry, train_size, val_size, seed, image_size, crop,
                                 skip_bad, threads, progress, warn)
            meta["decoded_by"] = {"pid": os.getpid(), "host": socket.gethostname(),
                                  "seconds": round(time.perf_counter() - start, 3),
                                  "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            got = (pixels, meta)
            if entry is not None and isinstance(pixels, np.memmap):
                try:
                    entry.commit(pixels, meta)
                    got = entry.read() or got
                except OSError as e:
                    entry.discard()
                    warn.append(f"cannot write the data cache in {folder} ({e.strerror or e}): "
                                "decoded into memory")
    pixels, meta = got
    manifest = Manifest.from_dict(meta["manifest"])
    if manifest.unreadable and not skip_bad:   # cached by a run with skip_bad = true
        raise _unreadable_error(manifest.unreadable)
    manifest.warnings = list(manifest.warnings) + warn
    by = meta.get("decoded_by", {})
    mapped = (entry.pixels if entry is not None and isinstance(pixels, np.memmap)
              and entry.pixels.exists() else None)
    manifest.cache = {"path": str(mapped) if mapped is not None else "", "key": digest, "hit": hit,
                      "decoded_by": by.get("pid"), "decoded_on": by.get("host"),
                      "decode_seconds": by.get("seconds"), "waited_seconds": round(waited, 3),
                      "bytes": int(pixels.nbytes)}
    n_train = meta["n_train"]
    x = torch.from_numpy(pixels)
    return Subsets(x[:n_train], torch.as_tensor(meta["train_y"], dtype=torch.long),
                   x[n_train:], torch.as_tensor(meta["val_y"], dtype=torch.long),
                   len(manifest.classes), source, tuple(meta["mean"]), tuple(meta["std"]),
                   manifest)


# -- generated sources -----------------------------------------------------------------------
def _generated(source: str, train_size: int, val_size: int, seed: int, image_size: int) -> Subsets:
    if source == "shapes":
        from gridsearch.training import _shapes

        arr, labels = _shapes.generate(train_size + val_size, image_size, seed)
        classes = [f"layout{c // 2}-{'vertical' if c % 2 else 'horizontal'}"
                   for c in range(_shapes.NUM_CLASSES)]
    else:
        from sklearn.datasets import load_digits

        d = load_digits()  # bundled with scikit-learn: no download
        arr = np.repeat((d.images / 16.0).astype(np.float32)[:, None], 3, axis=1)
        labels = d.target
        classes = [str(i) for i in range(10)]
    labels = np.array(labels)   # a copy: the generated arrays are read-only
    tr, va = stratified_indices(labels, train_size, val_size, seed)
    train_x, val_x = torch.from_numpy(arr[tr]), torch.from_numpy(arr[va])
    mean, std = _stats(train_x.numpy(), 1.0)
    k = len(classes)
    m = Manifest(source, layout="generated" if source == "shapes" else "bundled", classes=classes,
                 available={"all": np.bincount(labels, minlength=k).tolist()},
                 subset={"train": np.bincount(labels[tr], minlength=k).tolist(),
                         "val": np.bincount(labels[va], minlength=k).tolist()},
                 seed=seed, image_size=int(arr.shape[-1]))
    y = torch.as_tensor(labels, dtype=torch.long)
    return Subsets(train_x, y[tr], val_x, y[va], k, source, mean, std, m)


def _stats(x: np.ndarray, unit: float, chunk_bytes: int = 1 << 21) -> tuple[tuple, tuple]:
    """Per-channel mean and (unbiased) std of N×C×H×W ``x`` in [0, 1] units, in chunks of about
    ``chunk_bytes`` (``x`` may be a memory map larger than memory; the temporaries stay small).
    Sums are float64; a uint8 value's square is exact in float32."""
    c = x.shape[1]
    s, s2, n = np.zeros(c), np.zeros(c), 0
    step = max(1, chunk_bytes // max(1, x[0].nbytes))
    for i in range(0, len(x), step):
        b = np.asarray(x[i:i + step], dtype=np.float32)
        s += b.sum(axis=(0, 2, 3), dtype=np.float64)
        s2 += np.square(b).sum(axis=(0, 2, 3), dtype=np.float64)
        n += b.shape[0] * b.shape[2] * b.shape[3]
    mean = s / n
    var = np.maximum(s2 - n * mean * mean, 0) / max(n - 1, 1)
    std = np.maximum(np.sqrt(var) / unit, 1e-6)
    return tuple(float(v) for v in mean / unit), tuple(float(v) for v in std)


# -- disk sources ----------------------------------------------------------------------------
def _allocate(entry, shape: tuple[int, ...], warn: list[str]) -> np.ndarray:
    if entry is not None:
        try:
            return entry.create(shape)
        except OSError as e:
            warn.append(f"cannot write the data cache in {entry.folder} ({e.strerror or e}): "
                        "decoded into memory")
            entry.discard()
    return np.empty(shape, dtype=np.uint8)


def _pick(labels: list[int], size: int, seed: int, split: str, key: str) -> np.ndarray:
    arr = np.asarray(labels, dtype=np.int64)
    if size > len(arr):
        raise DataError(f"data.{key}: {size} but {split}/ holds {len(arr)} images; set "
                        f"data.{key} ≤ {len(arr)}")
    return stratified_indices(arr, size, 0, seed)[0]


def _build_folder(folder, entry, train_size, val_size, seed, image_size, crop, skip_bad,
                  threads, progress, warn) -> tuple[np.ndarray, dict]:
    k = len(folder.classes)
    tree = folder.train
    if folder.val is None:
        tr, va = stratified_indices(np.asarray(tree.labels), train_size, val_size, seed)
        items = [(tree.paths[i], tree.labels[i]) for i in np.concatenate([tr, va])]
        available = {"all": tree.per_class(k)}
        splits = {}
    else:
        tr = _pick(tree.labels, train_size, seed, tree.folder, "train_size")
        va = _pick(folder.val.labels, val_size, seed, folder.val.folder, "val_size")
        items = ([(tree.paths[i], tree.labels[i]) for i in tr]
                 + [(folder.val.paths[i], folder.val.labels[i]) for i in va])
        available = {"train": tree.per_class(k), "val": folder.val.per_class(k)}
        splits = {"train": tree.folder, "val": folder.val.folder}
    n, n_train = len(items), len(tr)
    pixels = _allocate(entry, (n, 3, image_size, image_size), warn)
    infos, failed = _decode_all([str(folder.root / p) for p, _ in items], pixels, image_size,
                                crop, threads, progress)
    unreadable = [[str(folder.root / items[i][0]), reason] for i, reason in sorted(failed.items())]
    if unreadable and not skip_bad:
        if entry is not None:
            entry.discard()
        raise _unreadable_error(unreadable)
    good = [i for i in range(n) if i not in failed]
    if failed:
        pixels = _compact(pixels, good, entry)
        n_train = sum(1 for i in good if i < len(tr))
        if n_train == 0 or n_train == len(good):
            raise DataError(f"data: every image of the {'training' if n_train == 0 else 'validation'}"
                            f" subset is unreadable (first: {unreadable[0][0]}: {unreadable[0][1]})")
    labels = [items[i][1] for i in good]
    train_y, val_y = labels[:n_train], labels[n_train:]
    mean, std = _stats(pixels[:n_train], 255.0)
    modes = Counter(infos[i].mode for i in good)
    dims = Counter((infos[i].width, infos[i].height) for i in good)
    notes = Counter(note for i in good for note in infos[i].notes)
    small = sum(1 for i in good if _upscaled(infos[i].width, infos[i].height, image_size, crop))
    skipped, skipped_examples = folder.skipped.as_dicts()
    m = Manifest("imagefolder", str(folder.root.resolve()), folder.layout, splits,
                 list(folder.classes), available,
                 {"train": np.bincount(train_y, minlength=k).tolist(),
                  "val": np.bincount(val_y, minlength=k).tolist()},
                 seed, image_size, crop, dict(modes), _sizes(dims), small, dict(notes),
                 skipped, skipped_examples, unreadable,
                 list(folder.warnings))
    if small:
        m.warnings.append(f"{small} of {len(good)} images are smaller than data.image_size = "
                          f"{image_size} px and were upscaled")
    return pixels, {"n_train": n_train, "train_y": train_y, "val_y": val_y, "mean": mean,
                    "std": std, "manifest": m.as_dict()}


def _upscaled(w: int, h: int, size: int, crop: str) -> bool:
    return min(w, h) < size if crop == "center" else (w < size or h < size)


def _sizes(dims: Counter) -> dict[str, Any]:
    if not dims:
        return {}
    by_area = sorted(dims, key=lambda d: (d[0] * d[1], d))
    return {"min": list(by_area[0]), "max": list(by_area[-1]),
            "common": [[w, h, c] for (w, h), c in dims.most_common(3)]}


def _decode_all(paths: list[str], pixels: np.ndarray, size: int, crop: str,
                threads: int | None, progress) -> tuple[list, dict[int, str]]:
    """Decode ``paths`` into ``pixels`` rows in parallel threads; (infos, {row: reason})."""
    from PIL import Image

    from gridsearch.training import _pixels
    from gridsearch.training._threads import usable_cores

    infos: list = [None] * len(paths)
    failed: dict[int, str] = {}

    def some(start: int) -> int:
        stop = min(len(paths), start + _BATCH)
        for i in range(start, stop):
            try:
                _, infos[i] = _pixels.decode(paths[i], size, crop, out=pixels[i])
            except _pixels.Unreadable as e:
                failed[i] = str(e)
        return stop - start

    workers = max(1, threads or usable_cores())
    done, last = 0, time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
            for n in pool.map(some, range(0, len(paths), _BATCH)):
                done += n
                if progress and time.perf_counter() - last > 1.0:
                    last = time.perf_counter()
                    progress(done, len(paths))
    if progress:
        progress(len(paths), len(paths))
    return infos, failed


_BATCH = 32   # images per decoding task


def _compact(pixels: np.ndarray, good: list[int], entry) -> np.ndarray:
    """``pixels`` without the failed rows (in place for the cache's file)."""
    for new, old in enumerate(good):
        if new != old:
            pixels[new] = pixels[old]
    shape = (len(good), *pixels.shape[1:])
    if entry is None or not isinstance(pixels, np.memmap):
        return np.ascontiguousarray(pixels[:len(good)])
    return entry.shrink(pixels, shape)


def _unreadable_error(unreadable: list[list[str]]) -> DataError:
    shown = "; ".join(f"{p}: {r}" for p, r in unreadable[:SHOWN])
    more = f"; and {len(unreadable) - SHOWN} more" if len(unreadable) > SHOWN else ""
    n = len(unreadable)
    return DataError(f"data: {n} image{'s' if n > 1 else ''} cannot be read: {shown}{more} "
                     "(fix or remove them, or set data.skip_bad = true to leave them out)")


def _build_standard(src, entry, train_size, val_size, seed, image_size, crop, skip_bad,
                    threads, progress, warn) -> tuple[np.ndarray, dict]:
    x, y, classes = src.read()
    k = len(classes)
    tr, va = stratified_indices(y, train_size, val_size, seed)
    idx = np.concatenate([tr, va])
    n, (c, h, w) = len(idx), x.shape[1:]
    pixels = _allocate(entry, (n, 3, h, w), warn)
    for i in range(0, n, 4096):
        pixels[i:i + 4096] = x[idx[i:i + 4096]]      # a grey channel is repeated three times
    mean, std = _stats(pixels[:len(tr)], 255.0)
    m = Manifest(src.source, str(src.folder.resolve()), src.layout, {}, list(classes),
                 {"all": np.bincount(y, minlength=k).tolist()},
                 {"train": np.bincount(y[tr], minlength=k).tolist(),
                  "val": np.bincount(y[va], minlength=k).tolist()},
                 seed, int(w), "", {("L" if c == 1 else "RGB"): n}, _sizes(Counter({(w, h): n})))
    return pixels, {"n_train": len(tr), "train_y": y[tr].tolist(), "val_y": y[va].tolist(),
                    "mean": mean, "std": std, "manifest": m.as_dict()}


# -- a study's data --------------------------------------------------------------------------
def for_config(cfg, progress: Callable[[int, int], None] | None = None) -> Subsets | None:
    """The subsets of a study config's ``[data]``, checked against ``model.num_classes``; None
    with ``source = "external"`` (the training function brings its own data)."""
    d = cfg.data
    if d.source == "external":
        return None
    subsets = load_data(d.source, cfg.data_root() if d.root else "", d.train_size, d.val_size,
                        d.seed, d.image_size, layout=d.layout, train_dir=d.train_dir,
                        val_dir=d.val_dir, crop=d.crop, skip_bad=d.skip_bad, progress=progress)
    check_classes(subsets, cfg.model.num_classes)
    return subsets


def check_classes(subsets: Subsets, num_classes: int) -> None:
    """The classes found must be the network's outputs: one line with the fix otherwise."""
    k = subsets.num_classes
    if k == num_classes:
        return
    names = ", ".join(subsets.classes[:6]) + (", …" if k > 6 else "")
    m = subsets.manifest
    where = f" in {m.root}" if m and m.root else f" in {subsets.source}"
    raise DataError(f"model.num_classes: {num_classes}, but there are {k} classes{where} "
                    f"({names}); set model.num_classes = {k}, or point data.root at the "
                    f"folder whose sub-folders are the {num_classes} classes")


def resolution_warning(subsets: Subsets, max_resolution: int) -> str | None:
    """A warning when candidates train above the stored image size (every image upscaled)."""
    size = subsets.image_size
    if max_resolution <= size:
        return None
    if subsets.source in ("imagefolder", "shapes"):
        return (f"data.image_size = {size} px but candidates train at up to {max_resolution} px: "
                f"images are upscaled (no detail is gained); set data.image_size ≥ "
                f"{max_resolution}")
    return (f"{subsets.source} images are {size} px; candidates train at up to {max_resolution}"
            f" px, upscaled (no detail is gained)")
