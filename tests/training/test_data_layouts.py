"""Image folders as users have them: one tree of classes or train/ + val/ splits, hidden and stray
files, suspicious layouts, and the manifest of what was loaded.  Real files, tiny images."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gridsearch import config
from gridsearch.errors import ConfigError, DataError
from gridsearch.training import _data as data
from helpers import cli, error_lines, sql_dumps

COLOURS = {"blue": (20, 20, 230), "green": (20, 230, 20), "red": (230, 20, 20)}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSEARCH_CACHE_DIR", str(tmp_path / "cache"))


def write(root, counts: dict[str, int], size=(14, 10), level=1.0):
    """``counts``: {"train/red": 6, …}; every image is its class's colour times ``level``, with
    noise, so a label can be checked against its pixels."""
    rng = np.random.default_rng(len(str(root)))
    for rel, n in counts.items():
        d = root / rel
        d.mkdir(parents=True, exist_ok=True)
        colour = np.array(COLOURS[d.name]) * level
        for i in range(n):
            a = np.clip(colour + rng.normal(0, 8, (size[1], size[0], 3)), 0, 255)
            Image.fromarray(a.astype(np.uint8)).save(d / f"{i}.png")
    return root


def colour_labels(x: torch.Tensor) -> torch.Tensor:
    """The class (index in sorted COLOURS) each image's dominant channel says it is."""
    channel = x.float().mean((2, 3)).argmax(1)        # 0 red, 1 green, 2 blue
    return torch.tensor([2, 1, 0])[channel]           # sorted: blue, green, red


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x.float().amax(1).mean((1, 2))


def splits_tree(root, train=8, val=4):
    write(root / "train", {c: train for c in COLOURS})
    write(root / "val", {c: val for c in COLOURS}, level=0.85)    # val images are darker
    return root


# -- layouts ------------------------------------------------------------------------------------
def test_train_and_val_folders_are_used_as_the_splits(tmp_path):
    """Formerly two classes, "train" and "val", at chance: now three, validated on val/."""
    root = splits_tree(tmp_path / "tex")
    s = data.load_data("imagefolder", root, 12, 6, seed=3, image_size=8)
    m = s.manifest
    assert s.num_classes == 3 and m.classes == ["blue", "green", "red"] and m.layout == "splits"
    assert m.splits == {"train": "train", "val": "val"}
    assert m.available == {"train": [8, 8, 8], "val": [4, 4, 4]}
    assert m.subset == {"train": [4, 4, 4], "val": [2, 2, 2]}
    assert torch.equal(colour_labels(s.train_x), s.train_y)
    assert torch.equal(colour_labels(s.val_x), s.val_y)
    assert (brightness(s.train_x) > 215).all() and (brightness(s.val_x) < 205).all()
    assert "train/ + val/ folders" in m.summary()[0] and "3 classes: blue, green, red" in m.summary()[0]
    json.dumps(m.as_dict())


def test_one_tree_is_split_stratified_as_before(tmp_path):
    root = write(tmp_path / "tree", {c: 6 for c in COLOURS})
    s = data.load_data("imagefolder", root, 9, 6, image_size=8)
    assert s.manifest.layout == "classes" and s.manifest.available == {"all": [6, 6, 6]}
    assert s.manifest.subset == {"train": [3, 3, 3], "val": [2, 2, 2]}
    assert torch.equal(colour_labels(s.train_x), s.train_y)
    assert torch.equal(colour_labels(s.val_x), s.val_y)


@pytest.mark.parametrize("name", ["validation", "valid", "test"])
def test_other_names_for_the_validation_folder(tmp_path, name):
    write(tmp_path / "r" / "train", {c: 4 for c in COLOURS})
    write(tmp_path / "r" / name, {c: 2 for c in COLOURS})
    s = data.load_data("imagefolder", tmp_path / "r", 6, 3, image_size=8)
    assert s.manifest.splits == {"train": "train", "val": name}


def test_folder_names_are_configurable(tmp_path):
    write(tmp_path / "r" / "fit", {c: 4 for c in COLOURS})
    write(tmp_path / "r" / "holdout", {c: 2 for c in COLOURS})
    s = data.load_data("imagefolder", tmp_path / "r", 6, 3, image_size=8, layout="splits",
                  train_dir="fit", val_dir="holdout")
    assert s.manifest.splits == {"train": "fit", "val": "holdout"} and s.num_classes == 3
    with pytest.raises(DataError, match="data.val_dir: no folder 'val'"):
        data.load_data("imagefolder", tmp_path / "r", 6, 3, image_size=8, layout="splits",
                  train_dir="fit", val_dir="val")


def test_a_forced_classes_layout_takes_the_split_folders_as_classes(tmp_path):
    root = splits_tree(tmp_path / "r")
    s = data.load_data("imagefolder", root, 12, 6, image_size=8, layout="classes")
    assert s.manifest.classes == ["train", "val"]
    assert any("named like splits" in w for w in s.manifest.warnings)


def test_hidden_entries_and_other_files_are_skipped_and_counted(tmp_path):
    root = write(tmp_path / "r", {c: 4 for c in COLOURS})
    write(root / ".ipynb_checkpoints", {"red": 1})                  # would have been a class
    write(root / "red" / ".ipynb_checkpoints", {"blue": 2})         # inside a class: not red
    (root / "red" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS metadata
    (root / "green" / ".DS_Store").write_bytes(b"\0")
    (root / "green" / "notes.txt").write_text("labels by hand")
    (root / "blue" / "Thumbs.db").write_bytes(b"\0")
    Image.new("RGB", (4, 4)).save(root / "stray.png")
    s = data.load_data("imagefolder", root, 8, 4, image_size=8)
    m = s.manifest
    assert m.classes == ["blue", "green", "red"] and m.available == {"all": [4, 4, 4]}
    assert m.skipped == {"hidden": 4, "not an image": 2, "outside a class folder": 1}
    assert ".ipynb_checkpoints/" in m.skipped_examples["hidden"]
    assert "red/._0.png" in m.skipped_examples["hidden"]
    assert torch.equal(colour_labels(s.train_x), s.train_y)
    assert any("in no class folder" in w for w in m.warnings)
    assert any(line.startswith("  skipped: 4 hidden, 2 not an image") for line in m.summary())


@pytest.mark.parametrize("make,message", [
    (lambda r: write(r / "train", {"red": 3, "blue": 3}), "point data.root at"),
    (lambda r: (write(r / "training", {"red": 3}), write(r / "testing", {"red": 3})),
     "split names rather than classes"),
    (lambda r: (write(r / "train", {"red": 3, "blue": 3}), write(r / "val", {"red": 2, "green": 2})),
     "val/ has class folder.s. green that train/ lacks"),
    (lambda r: (write(r, {"red": 3, "blue": 3}), (r / "green").mkdir()),
     "class folder.s. green in .* hold no image"),
    (lambda r: (write(r / "train", {"red": 3, "blue": 3}), (r / "train" / "green").mkdir(),
                write(r / "val", {"red": 2, "blue": 2})), "green in .*train hold no image"),
    (lambda r: Image.new("RGB", (4, 4)).save(r / "a.png"), "holds no class folder .1 images"),
    (lambda r: (write(r / "train", {"red": 3}), Image.new("RGB", (4, 4)).save(r / "val.png"),
                (r / "val").mkdir(), Image.new("RGB", (4, 4)).save(r / "val" / "x.png")),
     "val holds no class folder"),
], ids=["only train", "split-like names", "val has another class", "an empty class",
        "an empty class in train", "images but no class", "val without classes"])
def test_suspicious_layouts_are_errors_that_say_what_to_do(tmp_path, make, message):
    root = tmp_path / "r"
    root.mkdir()
    make(root)
    with pytest.raises(DataError, match=message) as e:
        data.load_data("imagefolder", root, 2, 1, image_size=8)
    assert "\n" not in str(e.value)


def test_a_class_missing_from_val_is_a_warning(tmp_path):
    write(tmp_path / "r" / "train", {c: 4 for c in COLOURS})
    write(tmp_path / "r" / "val", {"red": 3, "blue": 3})
    s = data.load_data("imagefolder", tmp_path / "r", 6, 4, image_size=8)
    assert s.num_classes == 3 and s.manifest.subset["val"] == [2, 0, 2]
    assert any("no image of class(es) green" in w for w in s.manifest.warnings)


def test_subset_larger_than_a_split_names_the_split(tmp_path):
    root = splits_tree(tmp_path / "r", train=4, val=2)
    with pytest.raises(DataError, match=r"data.val_size: 10 but val/ holds 6 images"):
        data.load_data("imagefolder", root, 6, 10, image_size=8)


def test_num_classes_must_match_the_classes_found(tmp_path):
    root = splits_tree(tmp_path / "r")
    s = data.load_data("imagefolder", root, 6, 3, image_size=8)
    data.check_classes(s, 3)
    with pytest.raises(DataError, match=r"model.num_classes: 4, but there are 3 classes in .*"
                                        r"\(blue, green, red\); set model.num_classes = 3"):
        data.check_classes(s, 4)


def test_images_are_resized_on_the_shorter_side_and_centre_cropped_by_default(tmp_path):
    """A 40×10 image whose middle is white and whose ends are black: the centre crop keeps the
    middle (all white); stretching keeps the black ends.  At 12 px, 10 px high is upscaled."""
    root = tmp_path / "r"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(2):
            a = np.zeros((10, 40, 3), dtype=np.uint8)
            a[:, 14:26] = 255
            Image.fromarray(a).save(root / c / f"{i}.png")
    centre = data.load_data("imagefolder", root, 2, 2, image_size=12)
    stretch = data.load_data("imagefolder", root, 2, 2, image_size=12, crop="stretch")
    assert centre.train_x.float().mean() > 200
    assert stretch.train_x.float().mean() < 120
    assert centre.manifest.crop == "center" and stretch.manifest.crop == "stretch"
    assert centre.manifest.sizes["common"] == [[40, 10, 4]]
    assert centre.manifest.upscaled == 4 and any("upscaled" in w for w in centre.manifest.warnings)


def test_image_size_below_the_largest_resolution_is_a_warning(tmp_path):
    s = data.load_data("imagefolder", splits_tree(tmp_path / "r"), 6, 3, image_size=8)
    assert data.resolution_warning(s, 8) is None
    assert "set data.image_size ≥ 12" in data.resolution_warning(s, 12)
    g = data.load_data("digits", train_size=20, val_size=10)
    assert "digits images are 8 px; candidates train at up to 32 px" in \
        data.resolution_warning(g, 32)


def test_config_keys_of_the_data_section(tmp_path):
    p = tmp_path / "c.toml"
    root = splits_tree(tmp_path / "tex")
    p.write_text('name = "c"\n[model]\nnum_classes = 3\n[data]\nsource = "imagefolder"\n'
                 f'root = "{root.name}"\nlayout = "splits"\nval_dir = "val"\ncrop = "stretch"\n'
                 'skip_bad = true\ntrain_size = 12\nval_size = 6\nimage_size = 8\n')
    cfg = config.load(p)
    d = cfg.data
    assert (d.layout, d.train_dir, d.val_dir, d.crop, d.skip_bad) == ("splits", "train", "val",
                                                                      "stretch", True)
    s = data.for_config(cfg)
    assert s.manifest.crop == "stretch" and s.num_classes == 3
    for key, value, message in [("layout", '"flat"', "data.layout: must be one of auto, classes"),
                                ("crop", '"fill"', "data.crop: must be one of center, stretch"),
                                ("val_dir", '"../val"', "data.val_dir: a folder name"),
                                ("skip_bad", '"yes"', "data.skip_bad: expected true or false")]:
        p.write_text(f'name = "c"\n[data]\n{key} = {value}\n')
        with pytest.raises(ConfigError, match=message):
            config.load(p)


# -- through the command line ----------------------------------------------------------------
STUDY = """
name = "{name}"
[model]
name = "resnet18"
base_resolution = 16
num_classes = {k}
width_mult = 0.25
depth_mult = 0.5
[data]
source = "imagefolder"
root = "{root}"
train_size = 48
val_size = 24
image_size = 16
seed = 1
[train]
epochs = 3
batch_size = 16
optimizer = "adamw"
lr = 0.01
device = "cpu"
[search]
points = [[1.0, 1.0, 1.0]]
sampler = "grid"
target = 1.0
tolerance = 0.5
[budget]
tolerance = 0.5
"""


def _study(tmp_path, root, k=3, name="tex"):
    p = tmp_path / f"{name}.toml"
    p.write_text(STUDY.format(name=name, k=k, root=root.name))
    return p


@pytest.mark.slow
def test_plan_prints_what_was_loaded(tmp_path):
    root = splits_tree(tmp_path / "tex", train=16, val=8)
    r = cli("plan", _study(tmp_path, root), env={"GRIDSEARCH_CACHE_DIR": str(tmp_path / "c")})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "data: imagefolder" in out and "(train/ + val/ folders), 3 classes: blue, green, red" in out
    assert "subsets: train 48 of 48 (16 per class), val 24 of 24 (8 per class), seed 1" in out
    assert "shorter side resized to 16 px, centre cropped" in out
    assert f"cache: {tmp_path / 'c'}" in out and "decoded now" in out


@pytest.mark.slow
def test_the_old_two_class_mistake_is_one_line_exit_2(tmp_path):
    """num_classes = 2 is what the old loader trained on a train/ + val/ root ("train" vs "val")."""
    root = splits_tree(tmp_path / "tex", train=16, val=8)
    r = cli("plan", _study(tmp_path, root, k=2), env={"GRIDSEARCH_CACHE_DIR": str(tmp_path / "c")})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "model.num_classes: 2, but there are 3 classes" in r.stderr
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.slow
def test_train_val_layout_trains_the_right_classes(tmp_path, monkeypatch):
    """A whole run on train/ + val/: the labels of every image trained on are its folder's class
    (checked against its colour), validation images come from val/ (darker), and the network
    learns the three colours (chance is 1/3). The export's provenance names the data: its root
    as an absolute path (the config names it relative to itself), classes and layout."""
    import json

    import optuna

    from gridsearch.study._search import Search

    root = splits_tree(tmp_path / "tex", train=16, val=8)
    path = _study(tmp_path, root)
    env = {"GRIDSEARCH_CACHE_DIR": str(tmp_path / "c")}
    r = cli("run", path, "--no-progress", env=env)
    assert r.returncode == 0, r.stderr
    study = optuna.load_study(study_name="tex", storage=f"sqlite:///{tmp_path / 'tex.db'}")
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 1 and done[0].value >= 0.9, [t.value for t in study.trials]
    r = cli("export", path.name, "-o", "fam.json", "--phi", "0..1", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    prov = json.loads((tmp_path / "fam.json").read_text())["provenance"]
    assert prov["data_root"] == str(root.resolve())
    assert (prov["classes"], prov["data_layout"]) == (["blue", "green", "red"], "splits")

    monkeypatch.setenv("GRIDSEARCH_CACHE_DIR", env["GRIDSEARCH_CACHE_DIR"])
    s = Search(config.load(path)).prepare("cpu").data
    assert s.manifest.cache["hit"]                                   # what the run decoded
    assert s.classes == ["blue", "green", "red"]
    assert torch.equal(colour_labels(s.train_x), s.train_y)
    assert torch.equal(colour_labels(s.val_x), s.val_y)
    assert (brightness(s.val_x) < 205).all() and (brightness(s.train_x) > 215).all()


@pytest.mark.slow
def test_a_broken_image_is_one_line_exit_2_and_the_store_is_untouched(tmp_path):
    root = splits_tree(tmp_path / "tex", train=16, val=8)
    path = _study(tmp_path, root)
    env = {"GRIDSEARCH_CACHE_DIR": str(tmp_path / "c")}
    assert cli("init", path, env=env).returncode == 0
    before = sql_dumps(tmp_path)
    (root / "train" / "red" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    r = cli("run", path, "--no-progress", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(error_lines(r.stderr)) == 1
    assert "1 image cannot be read" in r.stderr and "train/red/3.png" in r.stderr
    assert "data.skip_bad = true" in r.stderr
    assert sql_dumps(tmp_path) == before
