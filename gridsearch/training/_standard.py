"""CIFAR-10/100, MNIST, Fashion-MNIST and SVHN read from their standard files on disk.

The files are read here, not through torchvision's dataset classes: no checksum of the whole file
(a copy that was re-saved, or holds bytes keys, is still read), no network, and an error that
names the file and the layout expected, never a download.  Layouts (``root`` is ``data.root``; the
inner folder may also be given as the root itself):

* cifar10: ``root/cifar-10-batches-py/data_batch_1`` … ``data_batch_5`` (+ ``batches.meta`` for
  the class names) — the "python version" of the CIFAR files, as torchvision unpacks them;
* cifar100: ``root/cifar-100-python/train`` (+ ``meta``);
* mnist, fashionmnist: ``root/MNIST/raw/train-images-idx3-ubyte`` and
  ``train-labels-idx1-ubyte`` (``FashionMNIST/raw/…``), each possibly ``.gz``;
* svhn: ``root/train_32x32.mat`` (MATLAB v5, read with scipy).

Only the training files are read: the subsets (train and validation) are drawn from them, as
before.  CIFAR pickles are unpickled with a loader that accepts numpy arrays and plain values
only, never arbitrary objects.
"""

from __future__ import annotations

import gzip
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridsearch.errors import DataError

STANDARD = ("cifar10", "cifar100", "mnist", "fashionmnist", "svhn")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(i) for i in range(10)]


@dataclass
class Standard:
    source: str
    layout: str                 # a description of the layout, for the manifest
    files: list[Path]           # every file read (for the cache's key)
    folder: Path

    def identity(self):
        yield ["standard", self.source, str(self.folder.resolve())]
        for f in self.files:
            st = f.stat()
            yield [f.name, st.st_size, st.st_mtime_ns]

    def read(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(images uint8 N×C×H×W with C 1 or 3, labels int64, class names)."""
        return _READERS[self.source](self)


def locate(source: str, root: Path) -> Standard:
    """The files of ``source`` under ``root``; raises :class:`DataError` naming what is missing."""
    if not root.is_dir():
        raise DataError(f"data.root: no such directory: {root}")
    if source == "cifar10":
        return _find(source, root, "cifar-10-batches-py",
                     [f"data_batch_{i}" for i in range(1, 6)], ["batches.meta"],
                     "the python version of CIFAR-10")
    if source == "cifar100":
        return _find(source, root, "cifar-100-python", ["train"], ["meta"],
                     "the python version of CIFAR-100")
    if source in ("mnist", "fashionmnist"):
        inner = "MNIST" if source == "mnist" else "FashionMNIST"
        return _find_idx(source, root, inner)
    if source == "svhn":
        return _find(source, root, "", ["train_32x32.mat"], [], "SVHN format 2 (cropped digits)")
    raise DataError(f"data.source: not a standard data set: {source!r}")


def _find(source, root: Path, inner: str, required: list[str], optional: list[str],
          what: str) -> Standard:
    folder = root / inner if inner and (root / inner).is_dir() else root
    missing = [n for n in required if not (folder / n).is_file()]
    if missing:
        where = f"{root}/{inner}/" if inner else f"{root}/"
        raise DataError(f"data.root: {source} expects {where}{', '.join(required)} ({what}); "
                        f"missing in {folder}: {', '.join(missing)}")
    files = [folder / n for n in required] + [folder / n for n in optional if (folder / n).is_file()]
    desc = f"{inner}/ ({', '.join(p.name for p in files)})" if inner else ", ".join(p.name for p in files)
    return Standard(source, desc, files, folder)


def _find_idx(source: str, root: Path, inner: str) -> Standard:
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    for folder in (root / inner / "raw", root / "raw", root):
        found = [f for n in names
                 for f in [next((folder / (n + ext) for ext in ("", ".gz")
                                 if (folder / (n + ext)).is_file()), None)] if f is not None]
        if len(found) == len(names):
            return Standard(source, f"{folder.relative_to(root) if folder != root else '.'}/ "
                            f"({', '.join(f.name for f in found)})", found, folder)
    raise DataError(f"data.root: {source} expects {root}/{inner}/raw/{names[0]} and {names[1]} "
                    f"(the idx files, .gz or unpacked); not found under {root}")


# -- readers ------------------------------------------------------------------------------------
class _Arrays(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings, bytes and numpy arrays; nothing else."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refers to {module}.{name}")
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def _unpickle(path: Path, source: str) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _Arrays(f, encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - any failure is "not such a file"
        raise DataError(f"data: {path}: not a {source} python batch ({_first(e)})") from None
    if not isinstance(obj, dict):
        raise DataError(f"data: {path}: not a {source} python batch (holds a "
                        f"{type(obj).__name__}, not a dict)")
    # Python 2 pickles read with latin1 have str keys; a copy re-pickled by Python 3 after
    # reading with encoding="bytes" has bytes keys (b"data"): the same file to a user.
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _first(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _key(d: dict, path: Path, source: str, *names: str):
    for n in names:
        if n in d:
            return d[n]
    raise DataError(f"data: {path}: not a {source} python batch (no {names[0]!r} entry; it has "
                    f"{', '.join(map(str, list(d)[:6]))})")


def _names(d: dict, *keys: str) -> list[str] | None:
    for k in keys:
        if k in d:
            return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in d[k]]
    return None


def _cifar(s: Standard) -> tuple[np.ndarray, np.ndarray, list[str]]:
    label_key = ("labels",) if s.source == "cifar10" else ("fine_labels",)
    meta_name = "batches.meta" if s.source == "cifar10" else "meta"
    xs, ys = [], []
    for f in s.files:
        if f.name == meta_name:
            continue
        d = _unpickle(f, s.source)
        x = np.asarray(_key(d, f, s.source, "data"))
        y = np.asarray(_key(d, f, s.source, *label_key), dtype=np.int64)
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
            raise DataError(f"data: {f}: not a {s.source} python batch (data is {x.dtype} "
                            f"{x.shape}, labels {y.shape}; expected uint8 N×3072 and N labels)")
        xs.append(x.reshape(-1, 3, 32, 32))
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    k = 10 if s.source == "cifar10" else 100
    if y.min() < 0 or y.max() >= k:
        raise DataError(f"data: {s.folder}: {s.source} labels outside 0…{k - 1}")
    classes = None
    meta = s.folder / meta_name
    if meta.is_file():
        classes = _names(_unpickle(meta, s.source),
                         "label_names" if s.source == "cifar10" else "fine_label_names")
    if classes is None or len(classes) != k:
        classes = CIFAR10_CLASSES if s.source == "cifar10" else [str(i) for i in range(k)]
    return x, y, classes


def _idx(path: Path, ndim: int, source: str) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"data: {path}: cannot read it ({_first(e)})") from None
    bad = f"data: {path}: not an idx file of {source} (expected unsigned bytes, {ndim} dimensions"
    if len(raw) < 4 + 4 * ndim or raw[:2] != b"\0\0" or raw[2] != 0x08 or raw[3] != ndim:
        raise DataError(bad + ")")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise DataError(bad + f"; the header says {dims}, {int(np.prod(dims))} bytes, the file "
                        f"holds {len(body)})")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _mnist(s: Standard) -> tuple[np.ndarray, np.ndarray, list[str]]:
    images, labels = s.files
    x = _idx(images, 3, s.source)
    y = _idx(labels, 1, s.source).astype(np.int64)
    if len(x) != len(y):
        raise DataError(f"data: {s.folder}: {len(x)} images but {len(y)} labels")
    if y.max(initial=0) > 9:
        raise DataError(f"data: {labels}: labels outside 0…9")
    return x[:, None], y, DIGITS if s.source == "mnist" else FASHION_CLASSES


def _svhn(s: Standard) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import scipy.io

    f = s.files[0]
    try:
        m = scipy.io.loadmat(io.BytesIO(f.read_bytes()))
    except Exception as e:  # noqa: BLE001 - scipy raises many types
        raise DataError(f"data: {f}: not a MATLAB v5 file of SVHN ({_first(e)})") from None
    if "X" not in m or "y" not in m:
        raise DataError(f"data: {f}: no X and y arrays (the cropped-digits format 2 has both)")
    x, y = np.asarray(m["X"]), np.asarray(m["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y) or x.dtype != np.uint8:
        raise DataError(f"data: {f}: X is {x.dtype} {x.shape}; expected uint8 32×32×3×N with N "
                        f"= {len(y)} labels")
    if y.min(initial=1) < 0 or y.max(initial=0) > 10:
        raise DataError(f"data: {f}: labels outside 1…10")
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)), y % 10, DIGITS   # label 10 is digit 0


_READERS = {"cifar10": _cifar, "cifar100": _cifar, "mnist": _mnist, "fashionmnist": _mnist,
            "svhn": _svhn}
