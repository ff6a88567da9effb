"""One image file to 8-bit RGB at the image size: every PIL mode, the eval crop, bad files named.

Every image is a real file written here, read back through :func:`_pixels.decode` or the loader."""

import numpy as np
import pytest
from PIL import Image

from gridsearch.errors import DataError
from gridsearch.training import _data as data, _pixels as pixels


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSEARCH_CACHE_DIR", str(tmp_path / "cache"))


def _rgb(path, size=None, crop="center"):
    """Decoded pixels as H×W×3 (at the file's own size when it is square and no size given)."""
    if size is None:
        with Image.open(path) as im:
            size = im.size[0]
    arr, info = pixels.decode(str(path), size, crop)
    return arr.transpose(1, 2, 0).astype(int), info


def test_16_bit_grey_is_scaled_not_clipped_to_white(tmp_path):
    """``convert("RGB")`` turns 99.9% of a 16-bit gradient white; scaled, it stays a gradient."""
    a = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    with Image.open(p) as im:
        assert im.mode == "I;16"
        assert (np.asarray(im.convert("RGB")) == 255).mean() > 0.99     # what was wrong
    got, info = _rgb(p)
    assert info.mode == "I;16"
    expected = (a.astype(np.int64) * 255 + 32767) // 65535
    assert np.array_equal(got[..., 0], expected) and np.array_equal(got[..., 2], expected)
    assert (got == 255).mean() < 0.01 and abs(got.mean() - 127) < 2


@pytest.mark.parametrize("value,expected", [(0, 0), (257 * 100, 100), (65535, 255),
                                            (70000, 255), (-5, 0)])
def test_32_bit_integer_images_read_as_16_bit(tmp_path, value, expected):
    p = tmp_path / "i.tif"
    Image.fromarray(np.full((8, 8), value, dtype=np.int32)).save(p)
    with Image.open(p) as im:
        assert im.mode == "I"
    got, _ = _rgb(p)
    assert (got == expected).all()


def test_float_images(tmp_path):
    unit = tmp_path / "unit.tif"
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)).save(unit)
    got, info = _rgb(unit)
    assert info.mode == "F" and got.min() == 0 and got.max() == 255 and not info.notes
    wide = tmp_path / "wide.tif"
    Image.fromarray(np.linspace(-5, 5, 64, dtype=np.float32).reshape(8, 8)).save(wide)
    got, info = _rgb(wide)
    assert got.min() == 0 and got.max() == 255 and info.notes == (pixels.STRETCHED_FLOAT,)
    byte = tmp_path / "byte.tif"
    Image.fromarray(np.full((8, 8), 100.0, dtype=np.float32)).save(byte)
    assert (_rgb(byte)[0] == 100).all()


def test_palette_with_transparency_is_composited_over_black(tmp_path):
    im = Image.new("P", (8, 8), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)   # 0 red (transparent), 1 green
    im.paste(1, (0, 0, 8, 4))
    p = tmp_path / "p.png"
    im.save(p, transparency=0)
    got, info = _rgb(p)
    assert info.mode == "P"
    assert (got[:4] == [0, 255, 0]).all() and (got[4:] == 0).all()
    plain = tmp_path / "plain.png"
    im.save(plain)                                          # no transparency: red stays red
    assert (_rgb(plain)[0][4:] == [255, 0, 0]).all()


def test_alpha_modes_are_composited_over_black(tmp_path):
    la = tmp_path / "la.png"
    Image.new("LA", (8, 8), (200, 128)).save(la)
    assert np.abs(_rgb(la)[0] - 100).max() <= 1            # 200 · 128/255
    rgba = tmp_path / "rgba.png"
    a = np.zeros((8, 8, 4), dtype=np.uint8)
    a[:4] = (10, 20, 30, 255)
    a[4:] = (255, 255, 255, 0)
    Image.fromarray(a, "RGBA").save(rgba)
    got, _ = _rgb(rgba)
    assert (got[:4] == [10, 20, 30]).all() and (got[4:] == 0).all()


def test_cmyk_and_one_bit(tmp_path):
    cmyk = tmp_path / "c.tif"
    im = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    im.paste((128, 0, 0, 128), (0, 4, 8, 8))
    im.save(cmyk)
    got, info = _rgb(cmyk)
    assert info.mode == "CMYK"
    assert (got[:4] == [0, 255, 255]).all() and (np.abs(got[4:] - [63, 127, 127]) <= 1).all()
    bits = tmp_path / "b.png"
    b = Image.new("1", (8, 8), 0)
    b.paste(1, (0, 0, 8, 4))
    b.save(bits)
    got, info = _rgb(bits)
    assert info.mode == "1" and (got[:4] == 255).all() and (got[4:] == 0).all()


def test_exif_orientation_is_applied(tmp_path):
    """Stored 40×20 with the left half red, tagged "rotate 90° clockwise": shown 20×40, red on
    top."""
    a = np.zeros((20, 40, 3), dtype=np.uint8)
    a[:, :20] = (255, 0, 0)
    a[:, 20:] = (0, 0, 255)
    im = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "o.jpg"
    im.save(p, exif=exif, quality=95)
    got, info = _rgb(p, 20, "stretch")
    assert (info.width, info.height) == (40, 20)
    assert got[2, 10, 0] > 200 and got[2, 10, 2] < 60       # top: red
    assert got[-3, 10, 2] > 200 and got[-3, 10, 0] < 60     # bottom: blue


@pytest.mark.parametrize("w,h,size", [(50, 30, 16), (30, 50, 16), (37, 23, 23), (64, 48, 80)])
def test_centre_crop_is_torchvisions_eval_transform(tmp_path, w, h, size):
    import torchvision.transforms as T

    rng = np.random.default_rng(w * h)
    p = tmp_path / "x.png"
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
    got, _ = _rgb(p, size)
    with Image.open(p) as im:
        ref = np.asarray(T.CenterCrop(size)(T.Resize(size)(im.convert("RGB"))))
    assert got.shape == (size, size, 3) and np.array_equal(got, ref)
    stretched, _ = _rgb(p, size, "stretch")
    with Image.open(p) as im:
        assert np.array_equal(stretched, np.asarray(im.resize((size, size), Image.BILINEAR)))


def test_a_jpeg_decoded_at_reduced_scale_stays_close_to_a_full_decode(tmp_path):
    import torchvision.transforms as T

    yy, xx = np.mgrid[0:375, 0:500]
    a = np.stack([(xx * 0.5 + yy * 0.2) % 256, (yy * 0.6) % 256, (xx * yy / 700) % 256], -1)
    p = tmp_path / "photo.jpg"
    Image.fromarray(a.astype(np.uint8)).save(p, quality=90)
    for size in (32, 64):
        got, _ = _rgb(p, size)
        with Image.open(p) as im:
            ref = np.asarray(T.CenterCrop(size)(T.Resize(size)(im.convert("RGB"))))
        diff = np.abs(got - ref)
        assert diff.mean() < 1.0 and diff.max() <= 16, (size, diff.mean(), diff.max())


def _folder(root, bad=()):
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (12, 10), (200 if c == "a" else 20, 90, 90)).save(root / c / f"{i}.png")
    for rel, content in bad:
        (root / rel).write_bytes(content)


def test_unreadable_files_are_named_on_one_line(tmp_path):
    good = tmp_path / "ok.png"
    Image.new("RGB", (30, 30)).save(good)
    _folder(tmp_path / "d", bad=[("a/broken.png", good.read_bytes()[:60]),
                                 ("b/text.jpg", b"not an image at all")])
    with pytest.raises(DataError) as e:
        data.load_data("imagefolder", tmp_path / "d", 8, 2, image_size=8)
    msg = str(e.value)
    assert "\n" not in msg and "2 images cannot be read" in msg
    assert "a/broken.png" in msg and "b/text.jpg" in msg and "data.skip_bad = true" in msg


def test_skip_bad_lists_every_unreadable_file_and_goes_on(tmp_path):
    good = tmp_path / "ok.png"
    Image.new("RGB", (30, 30)).save(good)
    _folder(tmp_path / "d", bad=[("a/broken.png", good.read_bytes()[:60]),
                                 ("b/text.jpg", b"not an image at all")])
    s = data.load_data("imagefolder", tmp_path / "d", 8, 2, image_size=8, skip_bad=True)
    m = s.manifest
    assert sorted(p.split("/d/")[1] for p, _ in m.unreadable) == ["a/broken.png", "b/text.jpg"]
    assert len(s.train_x) + len(s.val_x) == 8 == len(s.train_y) + len(s.val_y)
    assert sum(m.subset["train"]) + sum(m.subset["val"]) == 8
    assert any("unreadable" in line and "text.jpg" in line for line in m.summary())
    # every label still matches its pixels (class a is red) after the bad rows were dropped
    red = (s.train_x[:, 0].float().mean((1, 2)) > 100).long()
    assert torch_equal(red, 1 - s.train_y)
    # the same data without skip_bad fails, also when it comes from the cache
    with pytest.raises(DataError, match="2 images cannot be read"):
        data.load_data("imagefolder", tmp_path / "d", 8, 2, image_size=8)


def torch_equal(a, b):
    import torch

    return torch.equal(a, b)


def test_an_oversized_image_names_the_file(tmp_path, monkeypatch):
    _folder(tmp_path / "d")
    Image.new("RGB", (40, 40)).save(tmp_path / "d" / "a" / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700)     # 1,600 px > 2 × 700: a "bomb"
    with pytest.raises(DataError) as e:
        data.load_data("imagefolder", tmp_path / "d", 8, 1, image_size=8)
    msg = str(e.value)
    assert "\n" not in msg and "a/huge.png" in msg and "decompression-bomb" in msg
    assert "DecompressionBombError" in msg
