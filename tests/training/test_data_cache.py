"""The decoded-subset cache: one decode per host, shared by processes, invalidated by any change of
the files; and the trainer's per-batch conversion of the cached uint8 pixels."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from gridsearch.training import _cache as cache, _data as data, _trainer as trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(d))
    return d


def folder(root, n=12, size=(24, 18)):
    """Two classes, dark and bright, of noisy images (a label is checkable from its pixels)."""
    rng = np.random.default_rng(0)
    for c, level in (("dark", 60), ("bright", 190)):
        (root / c).mkdir(parents=True)
        for i in range(n):
            a = np.clip(level + rng.normal(0, 20, (size[1], size[0], 3)), 0, 255)
            Image.fromarray(a.astype(np.uint8)).save(root / c / f"{i:03d}.png")
    return root


def test_a_second_load_maps_the_same_pixels(tmp_path, cache_dir):
    root = folder(tmp_path / "d")
    first = data.load_data("imagefolder", root, 12, 6, image_size=16)
    again = data.load_data("imagefolder", root, 12, 6, image_size=16)
    assert first.manifest.cache["hit"] is False and again.manifest.cache["hit"] is True
    assert again.manifest.cache["decoded_by"] == os.getpid()
    assert torch.equal(first.train_x, again.train_x) and torch.equal(first.val_y, again.val_y)
    assert first.mean == again.mean and first.std == again.std
    assert first.train_x.dtype == torch.uint8 and first.train_x.shape == (12, 3, 16, 16)
    assert again.manifest.record() == first.manifest.record()      # what a study stores
    assert first.manifest.record()["cache"] == {"key": first.manifest.cache["key"]}
    json.dumps(first.manifest.record())
    files = sorted(p.suffix for p in cache_dir.iterdir())
    assert files == [".json", ".lock", ".u8"]                    # one entry, no temporary left
    assert (cache_dir / os.path.basename(first.manifest.cache["path"])).stat().st_size == \
        first.train_x.numel() + first.val_x.numel()


WORKER = """
import hashlib, json, sys, time
from pathlib import Path
from gridsearch.training import _data      # imported before the start line: both start together
go = Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not go.exists():
    time.sleep(0.005)
s = _data.load_data("imagefolder", sys.argv[1], 40, 20, image_size=48, threads=1)
print(json.dumps({**s.manifest.cache, "pid": __import__("os").getpid(),
                  "sha": hashlib.sha256(s.train_x.numpy().tobytes()).hexdigest()}))
"""


@pytest.mark.slow
def test_two_processes_starting_together_decode_once(tmp_path, cache_dir):
    root = folder(tmp_path / "d", n=30, size=(160, 120))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(root), str(go), str(r)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        out.append(json.loads(stdout))
    decoded = [o for o in out if not o["hit"]]
    assert len(decoded) == 1                                      # one decode …
    assert {o["decoded_by"] for o in out} == {decoded[0]["pid"]}  # … by that process, for both
    assert out[0]["sha"] == out[1]["sha"] and out[0]["path"] == out[1]["path"]
    assert len(list(cache_dir.glob("*.u8"))) == 1
    # they did start together: the second waited for the first's decode (here ≈ 0.1-0.5 s)
    assert max(o["waited_seconds"] for o in out) > 0.02, out


def test_any_change_of_the_files_is_another_entry(tmp_path, cache_dir):
    root = folder(tmp_path / "d")
    base = data.load_data("imagefolder", root, 16, 8, image_size=16)      # every image
    keys = {base.manifest.cache["key"]}

    def reload(**kw):
        s = data.load_data("imagefolder", root, **{"train_size": 16, "val_size": 8, "image_size": 16,
                                              **kw})
        assert s.manifest.cache["hit"] is False and s.manifest.cache["key"] not in keys
        keys.add(s.manifest.cache["key"])
        return s

    def whites(s):
        return int((torch.cat([s.train_x, s.val_x]).float().mean((1, 2, 3)) == 255).sum())

    # a file is replaced by a white image, its mtime kept: its size tells
    first = root / "dark" / "000.png"
    st = first.stat()
    Image.new("RGB", (24, 18), (255, 255, 255)).save(first)
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert whites(base) == 0 and whites(reload()) == 1
    # only the mtime of a file changes
    os.utime(root / "dark" / "005.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    reload()
    # a file is added
    Image.new("RGB", (24, 18)).save(root / "dark" / "999.png")
    reload()
    # another subset, image size or crop
    reload(seed=1)
    reload(image_size=12)
    reload(crop="stretch")
    assert data.load_data("imagefolder", root, 16, 8, image_size=16).manifest.cache["hit"] is True


def test_the_cache_can_be_off_or_unwritable(tmp_path, monkeypatch):
    root = folder(tmp_path / "d")
    monkeypatch.setenv(cache.ENV, "off")
    s = data.load_data("imagefolder", root, 12, 6, image_size=16)
    assert s.manifest.cache["path"] == "" and not s.manifest.warnings
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(cache.ENV, str(blocked / "cache"))
    t = data.load_data("imagefolder", root, 12, 6, image_size=16)
    assert t.manifest.cache["path"] == "" and torch.equal(s.train_x, t.train_x)
    assert any("cannot write the data cache" in w and cache.ENV in w for w in t.manifest.warnings)


def test_default_location(monkeypatch):
    assert cache.default_dir({"XDG_CACHE_HOME": "/x"}) == cache.Path("/x/gridsearch/data")
    assert cache.default_dir({cache.ENV: "/y/z"}) == cache.Path("/y/z")
    assert cache.default_dir({cache.ENV: "off"}) is None
    home = cache.Path(os.path.expanduser("~"))
    assert cache.default_dir({}) == home / ".cache" / "gridsearch" / "data"


def test_standard_sets_are_cached_too(tmp_path, cache_dir):
    import pickle

    folder_ = tmp_path / "c" / "cifar-10-batches-py"
    folder_.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        x = rng.integers(0, 256, (10, 3072), dtype=np.uint8)
        folder_.joinpath(f"data_batch_{i}").write_bytes(
            pickle.dumps({"data": x, "labels": list(range(10))}))
    a = data.load_data("cifar10", tmp_path / "c", 20, 10)
    b = data.load_data("cifar10", tmp_path / "c", 20, 10)
    assert (a.manifest.cache["hit"], b.manifest.cache["hit"]) == (False, True)
    assert torch.equal(a.train_x, b.train_x)


# -- the trainer's side -------------------------------------------------------------------------
def test_inputs_are_the_normalised_floats(tmp_path, cache_dir):
    s = data.load_data("imagefolder", folder(tmp_path / "d"), 12, 6, image_size=16)
    mean = torch.tensor(s.mean).view(1, 3, 1, 1)
    std = torch.tensor(s.std).view(1, 3, 1, 1)
    expected = (s.train_x.double() / 255 - mean) / std
    got = trainer.inputs(s.train_x, s.norm())
    assert got.dtype == torch.float32 and torch.allclose(got.double(), expected, atol=1e-5)
    # normalised with the training subset's own statistics: mean 0, std 1 per channel
    assert got.mean((0, 2, 3)).abs().max() < 1e-4
    assert (got.std((0, 2, 3)) - 1).abs().max() < 1e-3
    assert trainer.inputs(got, None) is got
    g = data.load_data("digits", train_size=64, val_size=32)           # generated: float in [0, 1]
    x = trainer.inputs(g.train_x, g.norm())
    assert x.mean((0, 2, 3)).abs().max() < 1e-4 and (x.std((0, 2, 3)) - 1).abs().max() < 1e-3


def test_training_on_cached_pixels_matches_normalised_floats(tmp_path, cache_dir):
    """The trainer on the uint8 subset and on the same subset as normalised floats (what the old
    loader handed it) learns the same: the conversion per batch is the only difference."""
    from gridsearch import models

    s = data.load_data("imagefolder", folder(tmp_path / "d", n=24), 32, 16, image_size=16)
    norm = s.norm()
    old = data.Subsets(trainer.inputs(s.train_x, norm), s.train_y, trainer.inputs(s.val_x, norm),
                       s.val_y, s.num_classes, s.source)

    def run(subsets):
        torch.manual_seed(0)
        net = models.build("resnet18", 0.25, 0.5, 2).module
        r = trainer.Recipe(epochs=2, batch_size=16, optimizer="adamw", lr=3e-3, seed=0)
        res = trainer.train(net, subsets, 16, r, "cpu")
        return res.history, torch.cat([p.detach().flatten() for p in net.parameters()])

    (h_new, w_new), (h_old, w_old) = run(s), run(old)
    assert h_new == h_old and torch.allclose(w_new, w_old, atol=1e-4)
    assert h_new[-1] > 0.9        # dark vs bright is learnt
