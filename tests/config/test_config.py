import pytest

from gridsearch import config
from gridsearch.errors import ConfigError
from helpers import ROOT, cli


def test_quickstart_config_loads():
    cfg = config.load(ROOT / "studies" / "quickstart.toml")
    assert cfg.name == "quickstart" and cfg.points()
    assert config.storage_url(cfg).endswith("studies/quickstart.db")


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


# -- every numeric key, generated from the schema: NaN, ±inf and its own out-of-range values ----

import math  # noqa: E402
import tomllib  # noqa: E402

from gridsearch import cli as cli_mod  # noqa: E402
from helpers import TINY, sql_dumps  # noqa: E402

BASE = tomllib.loads(TINY.format(name="num", mode="reject", storage=""))
# Tables a key needs before it can be set (sections absent from the tiny config).
NEEDS = {"search.width_share": {"min": 0.0, "max": 1.0, "step": 0.5}}


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, (int, str)):
        return str(value) if isinstance(value, int) else '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def dumps(doc):
    lines = [f"{k} = {_toml(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for section, table in doc.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def with_value(key, value):
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    parts = key.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            node[part] = dict(NEEDS.get(".".join(parts[:i + 1]), {}))
        node[part] = dict(node[part])
        node = node[part]
    node[parts[-1]] = value
    return dumps(doc)


def out_of_range(kind, bounds):
    """Values just outside each bound the key declares."""
    step = 1 if kind is int else 0.5
    out = []
    for op, limit in bounds.items():
        if op in ("ge", "gt"):
            out.append(kind(limit - step) if op == "ge" else kind(limit))
        else:
            out.append(kind(limit + step) if op == "le" else kind(limit))
    return out


def numeric_cases():
    cases = []
    for key, (kind, bounds) in config.numeric_keys().items():
        values = out_of_range(kind, bounds) + [-(2**53)]
        if kind is float:
            values += [math.nan, math.inf, -math.inf]
        else:
            values += [2**53]  # beyond what JSON keeps exactly
        cases += [(key, v) for v in values]
    return cases


CASES = numeric_cases()


def test_every_numeric_key_declares_its_range():
    keys = config.numeric_keys()
    assert len(keys) >= 30  # the schema walk finds the nested tables too
    assert {"train.lr", "search.alpha.max", "search.width_share.step", "workers.grace_period",
            "objectives.max_latency_ms", "model.width_mult"} <= set(keys)
    for key, (_kind, bounds) in keys.items():
        assert {"ge", "gt"} & set(bounds), f"{key} has no lower bound"
        assert {"le", "lt"} & set(bounds), f"{key} has no upper bound"
    # the generated cases cover every key with NaN/inf (floats) or a huge integer
    assert {k for k, _ in CASES} == set(keys) and len(CASES) >= 150


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    """An existing study named like every generated config: a bad one must leave it as it was."""
    from gridsearch.study import Search

    d = tmp_path_factory.mktemp("numbers")
    (d / "num.toml").write_text(dumps(BASE))
    Search(config.load(d / "num.toml")).study(create=True)
    return d


@pytest.mark.parametrize("key,value", CASES, ids=[f"{k}={v!r}" for k, v in CASES])
def test_numeric_key_out_of_range_is_one_line_naming_it(key, value, study_folder, capsys):
    path = study_folder / "case.toml"
    path.write_text(with_value(key, value))
    before = sql_dumps(study_folder)
    try:
        code = cli_mod.main(["run", str(path), "--no-progress"])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, (out, err)
    assert lines[0].startswith(f"gridsearch: error: {path}: {key}: "), lines[0]
    assert "Traceback" not in out + err
    assert sql_dumps(study_folder) == before


# keys whose valid range also depends on another key (grace > heartbeat, n0 ≤ max_seeds)
CROSS_KEYED = ("workers.grace_period", "select.n0", "select.max_seeds")


def test_the_valid_edges_are_accepted(tmp_path):
    """The bounds themselves (where inclusive) still load: the range is not off by one."""
    for key, (kind, bounds) in config.numeric_keys().items():
        for op in ("ge", "le"):
            if op in bounds and not key.startswith("search.") and key not in CROSS_KEYED:
                p = tmp_path / "edge.toml"
                p.write_text(with_value(key, kind(bounds[op])))
                try:
                    config.load(p)
                except ConfigError as e:
                    assert key not in str(e).split(": ")[1], (key, bounds[op], str(e))
