import pytest

from gridsearch import config
from gridsearch.errors import ConfigError

from conftest import ROOT, cli


def test_quickstart_config_loads():
    cfg = config.load(ROOT / "studies" / "quickstart.toml")
    assert cfg.name == "quickstart" and cfg.points()
    assert cfg.storage_url().endswith("studies/quickstart.db")


BAD = [
    ("\n[model]\nnmae = 'x'\n", "model.nmae: unknown key"),
    ("\n[train]\nepochs = 'three'\n", "train.epochs: expected an integer"),
    ("\n[search]\nalpha = { min = 0.9, max = 1.2, step = 0.1 }\n", "search.alpha.min: a coefficient must be ≥ 1"),
    ("\n[search]\nbeta = { min = 1.0, max = 1.2, step = 0 }\n", "search.beta.step: must be > 0"),
    ("\n[search]\ntolerance = 0.0\nalpha = { min = 1.0, max = 1.0, step = 0.1 }\n"
     "beta = { min = 1.0, max = 1.0, step = 0.1 }\ngamma = { min = 1.0, max = 1.0, step = 0.1 }\n",
     "search: empty space"),
    ("\n[data]\nsource = 'cifar10'\nroot = 'no/such/dir'\n", "data.root: no such directory"),
    ("\n[data]\nsource = 'imagenet'\n", "data.source: must be one of"),
    ("\n[budget]\nmode = 'fix'\n", "budget.mode: must be one of"),
    ("\n[train]\naugment = 'mixup'\n", "train.augment: must be one of none, crop, random_resized_crop"),
    ("\n[data]\nsource = 'shapes'\nimage_size = 8\n", "data.image_size: shapes are drawn at 16 px or more"),
    ("\n[train]\nhflip = 1\n", "train.hflip: expected true or false"),
    ("\n[model]\nbase_resolution = 1.5\n", "model.base_resolution: expected an integer"),
    ("\nfoo = 1\n", "foo: unknown key"),
]


@pytest.mark.parametrize("extra,message", BAD)
def test_bad_configs_name_the_key(tmp_path, extra, message):
    p = tmp_path / "bad.toml"
    p.write_text('name = "bad"\n' + extra)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config.load(p)


def test_bad_config_cli_is_one_line_exit_2(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "bad"\n[search]\nbeta = { min = 1.0, max = 1.2, step = -1 }\n')
    r = cli("plan", p)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "search.beta.step" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "bad.db").exists()


def test_missing_and_invalid_toml(tmp_path):
    r = cli("run", tmp_path / "nope.toml")
    assert r.returncode == 2 and "no such study config" in r.stderr
    p = tmp_path / "x.toml"
    p.write_text("name = \n")
    r = cli("status", p)
    assert r.returncode == 2 and "not valid TOML" in r.stderr
