"""Loading a large image folder: today's loader (commit 3098fde) against the cached one, side by side.

    python benchmarks/data_load.py [--images 20000] [--classes 10] [--width 500] [--height 375]
        [--image-size 64] [--train N] [--val N] [--workers 2] [--folder DIR] [--keep]

Writes ``--images`` JPEGs (``--width`` × ``--height``, ``--classes`` class folders; in a temporary
folder, or ``--folder`` to keep and reuse one), then loads the subset (``--train`` + ``--val``,
default all images, 3:1) in fresh processes, each measured from outside:

* ``old``: ``gridsearch.training._data.load`` as of commit 3098fde (copied below as the reference:
  one thread, float32 normalised tensors, every process decodes);
* ``new, cold``: the current loader with an empty cache (decodes in threads into the cache);
* ``new, cached``: the same again (maps the cache).

Each with 1 process, then ``--workers`` processes started together (as ``run --workers N``).
Reported: the load's seconds (inside the process, imports excluded; the slowest process), its CPU
seconds (all threads, all processes: steadier than wall time on a shared machine), the
peak and steady memory of the processes together, sampled every 20 ms, and that memory as a
multiple of the uint8 subset (N × 3 × size² bytes).  Memory is the processes' anonymous memory
(the sum of their ``Pss_Anon``, ``/proc/PID/smaps_rollup``: a page shared by k processes counts
1/k in each) minus that of as many processes that only imported the same modules, plus the
cache files' pages in the page cache (``mincore``), counted once however many processes map
them.  Shared libraries are left out (their PSS moves with every other process on the host that
maps them); so is the page cache of the JPEGs, which both loaders read.
Each process touches every pixel after loading (as training does).  Goals: ``new`` with N
workers ≤ 1.2× the uint8 subset at its peak; a cached load ≥ 20× faster than a cold one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]

from common import print_table  # noqa: E402


# -- the reference: today's loader (gridsearch/training/_data.py at 3098fde, ImageFolder part) ---
def old_load(root, train_size=512, val_size=256, seed=0, image_size=64):
    import numpy as np
    import torch

    from gridsearch.training._data import stratified_indices  # unchanged since 3098fde

    images, labels, num_classes = _old_imagefolder(Path(root), image_size)
    tr, va = stratified_indices(labels, train_size, val_size, seed)
    x = images(np.concatenate([tr, va]))
    train_x, val_x = x[: len(tr)], x[len(tr):]
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    y = torch.as_tensor(labels, dtype=torch.long)
    return (train_x - mean) / std, y[tr], (val_x - mean) / std, y[va], num_classes


def _old_imagefolder(root: Path, image_size: int):
    import numpy as np
    import torch
    import torchvision.datasets as tvd
    import torchvision.transforms.functional as TF
    from PIL import Image

    ds = tvd.ImageFolder(str(root))
    labels = np.asarray(ds.targets)

    def fetch(idx):
        out = torch.empty(len(idx), 3, image_size, image_size)
        for k, i in enumerate(idx):
            path = ds.samples[int(i)][0]
            with Image.open(path) as im:
                im = im.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
            out[k] = TF.to_tensor(im)
        return out

    return fetch, labels, len(ds.classes)


# -- one measured process ---------------------------------------------------------------------
def child(args) -> None:
    """Import, signal ready, wait for go, load, touch every pixel, report, wait for stop."""
    import torch  # noqa: F401  (what every worker imports: not timed)
    import torchvision.datasets
    import torchvision.transforms.functional  # noqa: F401
    from PIL import Image, JpegImagePlugin  # noqa: F401

    from gridsearch.training import _cache, _data as data, _folders, _pixels  # noqa: F401

    go, ready, stop = Path(args.go), Path(args.ready), Path(args.stop)
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    start, cpu = time.perf_counter(), time.process_time()
    out = {}
    if args.mode == "old":
        tx, ty, vx, vy, _ = old_load(args.root, args.train, args.val, 0, args.image_size)
        touched = float(tx.sum() + vx.sum())       # float32 already: no copy
    elif args.mode == "new":
        s = data.load_data("imagefolder", args.root, args.train, args.val, 0, args.image_size,
                      crop="stretch")
        import numpy as np  # numpy sums uint8 into uint64 in small buffers, no copy

        touched = int(sum(np.sum(x.numpy(), dtype=np.uint64) for x in (s.train_x, s.val_x)))
        out["hit"] = s.manifest.cache["hit"]
    else:
        touched = 0
    out.update(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, touched=touched)
    Path(args.ready + ".done").write_text(json.dumps(out))
    while not stop.exists():
        time.sleep(0.01)


def anonymous(pid: int) -> int:
    """The process's proportional share of anonymous memory (``Pss_Anon``, bytes)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def resident(folder: Path) -> int:
    """Bytes of the files in ``folder`` held in the page cache (``mincore`` on a fresh mapping,
    which faults nothing in): the host memory of the shared cache, counted once however many
    processes map it."""
    import ctypes
    import mmap

    import numpy as np

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    total = 0
    for path in folder.glob("*.u8*"):
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    continue
                m = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY)
        except (OSError, ValueError):
            continue
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = (ctypes.c_ubyte * pages)()
        buf = ctypes.c_char.from_buffer(m)
        if libc.mincore(ctypes.addressof(buf), size, vec) == 0:
            total += int((np.frombuffer(vec, dtype=np.uint8) & 1).sum()) * mmap.PAGESIZE
        del buf
        m.close()
    return total


def measure(mode: str, n: int, args, cache: Path) -> dict:
    """Start ``n`` processes in ``mode`` together; their loads' seconds, peak and steady PSS sum."""
    tmp = Path(tempfile.mkdtemp(prefix="gs-bench-"))
    go, stop = tmp / "go", tmp / "stop"
    env = {**os.environ, "GRIDSEARCH_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs, ready = [], []
    for i in range(n):
        r = tmp / f"ready{i}"
        ready.append(r)
        procs.append(subprocess.Popen(
            [sys.executable, __file__, "--child", mode, "--root", str(args.folder),
             "--train", str(args.train), "--val", str(args.val), "--image-size",
             str(args.image_size), "--go", str(go), "--ready", str(r), "--stop", str(stop)],
            env=env))
    while not all(r.exists() for r in ready):
        time.sleep(0.01)
    time.sleep(0.3)
    def memory() -> int:
        return sum(anonymous(p.pid) for p in procs) + resident(cache)

    base = sum(anonymous(p.pid) for p in procs)
    go.touch()
    peak = base
    done = [Path(str(r) + ".done") for r in ready]
    while not all(d.exists() for d in done):
        peak = max(peak, memory())
        if any(p.poll() not in (None, 0) for p in procs):
            raise SystemExit(f"a {mode} process failed")
        time.sleep(0.02)
    steady, anon = memory(), sum(anonymous(p.pid) for p in procs)
    peak = max(peak, steady)
    results = [json.loads(d.read_text()) for d in done]
    stop.touch()
    for p in procs:
        p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"seconds": max(r["seconds"] for r in results), "cpu": sum(r["cpu"] for r in results),
            "peak": peak, "steady": steady, "anon": anon,
            "imports": base, "hits": [r.get("hit") for r in results]}


# -- the folder -----------------------------------------------------------------------------------
def _write(job) -> None:
    import numpy as np
    from PIL import Image

    folder, start, stop, classes, w, h = job
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(start, stop):
        c = i % classes
        rng = np.random.default_rng(i)
        angle = np.pi * c / classes
        f = rng.uniform(0.02, 0.06)
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * f + rng.uniform(0, 6.3))
        tint = rng.uniform(0.3, 1.0, 3)
        img = (0.5 + 0.35 * wave)[..., None] * tint * 255
        img += rng.normal(0, 6, (h, w, 1))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            Path(folder) / f"class{c:02d}" / f"{i:06d}.jpg", quality=85)


def make_folder(folder: Path, n: int, classes: int, w: int, h: int) -> None:
    from concurrent.futures import ProcessPoolExecutor

    for c in range(classes):
        (folder / f"class{c:02d}").mkdir(parents=True, exist_ok=True)
    step = 250
    jobs = [(str(folder), s, min(n, s + step), classes, w, h) for s in range(0, n, step)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_write, jobs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--width", type=int, default=500)
    p.add_argument("--height", type=int, default=375)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--train", type=int, default=0, help="default: 3/4 of the images")
    p.add_argument("--val", type=int, default=0, help="default: the rest")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--folder", type=Path, help="the image folder (written if empty; kept)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--child", choices=["old", "new", "none"], help=argparse.SUPPRESS)
    for name in ("--root", "--go", "--ready", "--stop"):
        p.add_argument(name, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.mode = args.child
        return child(args)
    args.train = args.train or args.images * 3 // 4
    args.val = args.val or args.images - args.train
    made = args.folder is None
    args.folder = args.folder or Path(tempfile.mkdtemp(prefix="gs-images-"))
    if not any(args.folder.glob("class*/*.jpg")):
        t = time.perf_counter()
        make_folder(args.folder, args.images, args.classes, args.width, args.height)
        print(f"wrote {args.images} JPEGs {args.width}×{args.height} in {args.folder} "
              f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    cache = Path(tempfile.mkdtemp(prefix="gs-cache-"))
    n, size = args.train + args.val, args.image_size
    subset = n * 3 * size * size
    print(f"subset: {args.train} + {args.val} images at {size} px = {subset / 2**20:.0f} MiB as "
          f"uint8 ({4 * subset / 2**20:.0f} MiB as float32); {os.cpu_count()} cores")
    rows = []
    runs = [("old", 1, "old"), ("new, cold", 1, "new"), ("new, cached", 1, "new"),
            ("old", args.workers, "old"), ("new, cold", args.workers, "new"),
            ("new, cached", args.workers, "new")]
    baselines = {}
    for label, k, mode in runs:
        if label == "new, cold":
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
        if k not in baselines:
            baselines[k] = measure("none", k, args, cache)["anon"]
        r = measure(mode, k, args, cache)
        rows.append({"loader": label, "processes": k, "load s": round(r["seconds"], 2),
                     "cpu s": round(r["cpu"], 2),
                     "peak MiB": round((r["peak"] - baselines[k]) / 2**20),
                     "peak/uint8": round((r["peak"] - baselines[k]) / subset, 2),
                     "steady MiB": round((r["steady"] - baselines[k]) / 2**20),
                     "per process MiB": round((r["steady"] - baselines[k]) / k / 2**20),
                     "cache hits": ",".join("-" if h is None else ("hit" if h else "decoded")
                                            for h in r["hits"])})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print_table(rows, list(rows[0]))
    one = {r["loader"]: r for r in rows if r["processes"] == 1}
    def ratio(a, b, col):
        return one[a][col] / max(one[b][col], 1e-9)

    print(f"one process: a cached load {ratio('new, cold', 'new, cached', 'load s'):.0f}× faster "
          f"than a cold one (goal ≥ 20×; CPU {ratio('new, cold', 'new, cached', 'cpu s'):.0f}×); "
          f"the old loader {ratio('old', 'new, cached', 'load s'):.0f}× slower than a cached load "
          f"and {ratio('old', 'new, cold', 'load s'):.1f}× than a cold one (CPU "
          f"{ratio('old', 'new, cold', 'cpu s'):.1f}×)")
    shutil.rmtree(cache, ignore_errors=True)
    if made and not args.keep:
        shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
