"""The generated ``shapes`` data set and the trainer's on-device augmentation."""

import numpy as np
import pytest
import torch

from gridsearch import config
from gridsearch.training import _augment as augment, _data as data, _shapes as shapes, _trainer as trainer


def _fresh(n, size, seed):
    shapes.generate.cache_clear()
    return shapes.generate(n, size, seed)


# -- shapes -----------------------------------------------------------------------------------
def test_shapes_are_deterministic_from_the_seed_and_differ_between_seeds():
    x0, y0 = _fresh(60, 32, 0)
    x0b, y0b = _fresh(60, 32, 0)
    x1, y1 = _fresh(60, 32, 1)
    assert np.array_equal(x0, x0b) and np.array_equal(y0, y0b)
    assert not np.array_equal(y0, y1)
    assert np.abs(x0 - x1).mean() > 0.01
    assert x0.shape == (60, 3, 32, 32) and x0.dtype == np.float32
    assert x0.min() >= 0 and x0.max() <= 1 and x0.std() > 0.05


def test_shapes_are_cached_and_read_only():
    a = shapes.generate(40, 24, 3)
    assert shapes.generate(40, 24, 3)[0] is a[0]
    with pytest.raises(ValueError):
        a[0][0, 0, 0, 0] = 1.0


def test_shapes_classes_are_balanced_and_subsets_stratified():
    _, y = _fresh(1000, 16, 0)
    assert np.bincount(y, minlength=10).tolist() == [100] * 10
    s = data.load_data("shapes", train_size=200, val_size=100, seed=4, image_size=24)
    assert s.num_classes == 10 and s.source == "shapes" and s.image_size == 24
    assert torch.bincount(s.train_y, minlength=10).tolist() == [20] * 10
    assert torch.bincount(s.val_y, minlength=10).tolist() == [10] * 10
    assert s.train_x.shape == (200, 3, 24, 24)


def test_shapes_labels_match_what_is_drawn():
    """The detail half of a label is the stripes' orientation (horizontal stripes vary along y);
    the layout half is where the objects are (a horizontal pair spreads along x, a vertical one
    along y)."""
    x, y = _fresh(400, 96, 2)
    gray = x.mean(1)
    dy = np.abs(np.diff(gray, axis=1)).mean((1, 2))
    dx = np.abs(np.diff(gray, axis=2)).mean((1, 2))
    horizontal = (y % 2) == 0
    assert (dy[horizontal] > dx[horizontal]).mean() > 0.95
    assert (dx[~horizontal] > dy[~horizontal]).mean() > 0.95
    bright = gray > 0.3
    rows = bright.mean(2)            # n × height
    cols = bright.mean(1)            # n × width
    spread_y = (rows * (np.arange(96) - 47.5) ** 2).sum(1) / rows.sum(1)
    spread_x = (cols * (np.arange(96) - 47.5) ** 2).sum(1) / cols.sum(1)
    layout = y // 2
    assert (spread_x[layout == 0] > spread_y[layout == 0]).all()   # horizontal pair
    assert (spread_y[layout == 1] > spread_x[layout == 1]).all()   # vertical pair


def test_shapes_need_no_root_and_check_the_source(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "s"\n[data]\nsource = "shapes"\nimage_size = 96\n')
    cfg = config.load(p)
    assert cfg.data.source == "shapes" and cfg.data.image_size == 96


# -- augmentation -----------------------------------------------------------------------------
def _batch(n=16, size=16, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_augmentation_off_is_the_identity():
    x = _batch()
    assert augment.Augmenter("none", False, 0)(x) is x


ACTIVE = [("none", True), ("crop", False), ("crop", True), ("random_resized_crop", False),
          ("random_resized_crop", True)]


@pytest.mark.parametrize("mode,hflip", ACTIVE)
def test_augmentation_keeps_shape_dtype_and_device(mode, hflip):
    x = _batch(size=20)
    for dtype in (torch.float32, torch.float64):
        y = augment.Augmenter(mode, hflip, 0)(x.to(dtype))
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
        assert not torch.equal(y, x.to(dtype))
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("mode,hflip", ACTIVE)
def test_augmentation_differs_across_batches_and_is_reproducible(mode, hflip):
    x = _batch()
    a, b, c = (augment.Augmenter(mode, hflip, s) for s in (7, 7, 8))
    first, second = a(x), a(x)
    assert not torch.equal(first, second)                   # a new draw every batch
    assert torch.equal(b(x), first) and torch.equal(b(x), second)   # same seed, same draws
    assert not torch.equal(c(x), first)                     # another seed, other draws


def test_crop_is_a_whole_pixel_shift_of_the_zero_padded_image():
    size = 16
    pad = round(size * augment.PAD_FRACTION)
    x = _batch(n=32, size=size)
    y = augment.Augmenter("crop", False, 3)(x)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    shifts = set()
    for i in range(len(x)):
        found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if torch.equal(y[i], padded[i, :, pad + dy:pad + dy + size,
                                             pad + dx:pad + dx + size])]
        assert len(found) == 1, i
        shifts.add(found[0])
    assert len(shifts) > 5   # offsets are drawn, not fixed


def test_hflip_mirrors_about_half_and_copies_the_rest():
    x = _batch(n=200)
    y = augment.Augmenter("none", True, 0)(x)
    mirrored = [torch.equal(y[i], x[i].flip(-1)) for i in range(len(x))]
    kept = [torch.equal(y[i], x[i]) for i in range(len(x))]
    assert all(m != k for m, k in zip(mirrored, kept, strict=True))
    assert 70 < sum(mirrored) < 130


def test_random_resized_crop_zooms_in():
    """A box of at most the whole image stretched to the full size: no zero padding comes in, and
    a smooth ramp keeps its direction but gets steeper (or stays, for a full box)."""
    ramp = torch.linspace(-1, 1, 32).expand(8, 3, 32, 32).contiguous()
    y = augment.Augmenter("random_resized_crop", False, 1)(ramp)
    slope = (y[..., -2] - y[..., 1]).mean((1, 2)) / (ramp[..., -2] - ramp[..., 1]).mean((1, 2))
    assert (slope > 0.3).all() and (slope <= 1.0 + 1e-4).all() and (slope < 0.95).any()
    assert y.abs().max() <= 1 + 1e-5


@pytest.mark.slow
def test_trainer_augments_reproducibly():
    """Same seed, same augmented run (weights equal to the bit); augmentation on trains other
    weights than off, with the same batch order."""
    from gridsearch import models

    s = data.load_data("shapes", train_size=64, val_size=32, seed=0, image_size=24)

    def run(aug, hflip):
        torch.manual_seed(0)
        net = models.build("resnet18", 0.25, 0.5, 10).module
        r = trainer.Recipe(epochs=1, batch_size=32, optimizer="adamw", lr=3e-3, seed=0,
                           augment=aug, hflip=hflip)
        res = trainer.train(net, s, 16, r, "cpu")
        return res, torch.cat([p.detach().flatten() for p in net.parameters()])

    (a, wa), (b, wb), (_, woff), (_, woff2) = (run("crop", True), run("crop", True),
                                                    run("none", False), run("none", False))
    assert a.history == b.history and torch.equal(wa, wb)
    assert torch.equal(woff, woff2)
    assert not torch.allclose(wa, woff)


def test_recipe_of_a_train_section_carries_augmentation(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text('name = "a"\n[train]\naugment = "crop"\nhflip = true\nepochs = 4\n')
    cfg = config.load(p)
    r = cfg.train
    assert (r.augment, r.hflip, r.epochs) == ("crop", True, 4)
    assert cfg.as_dict()["train"]["augment"] == "crop"      # recorded in the study's config
    assert config.load(p).train == cfg.train


def test_a_study_stored_before_augmentation_existed_still_opens(tiny_config):
    """A key added to a section reads as its default in a stored config that lacks it (the old
    behaviour), so a study created before ``train.augment`` resumes; a different value does not."""
    from gridsearch.errors import StorageError
    from gridsearch.study import Search

    path = tiny_config(name="old")
    search = Search(config.load(path))
    study = search.study(create=True)
    stored = study.user_attrs["config"]
    del stored["train"]["augment"], stored["train"]["hflip"]
    study.set_user_attr("config", stored)
    Search(config.load(path)).study()                # reads augment = "none": the same config
    path.write_text(path.read_text().replace("[train]\n", '[train]\naugment = "crop"\n'))
    with pytest.raises(StorageError, match="train.augment differs"):
        Search(config.load(path)).study()
