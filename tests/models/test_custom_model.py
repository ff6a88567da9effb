"""A user's own model (``[model] name = "module:function"``): the contract (keyword multipliers,
the builder rounds, ``(module, layout)`` reports its stages), found beside the config from any
working directory, and by ``build`` beside the export."""

import json

import pytest

from gridsearch import cli
from helpers import TINY, error_lines, own_training, sql_dumps

CNN = '''
import math
from torch import nn


def cnn(width_mult, depth_mult, num_classes):
    widths = [max(8, int(round(c * width_mult / 8)) * 8) for c in (16, 32, 64)]
    depths = [max(1, math.ceil(d * depth_mult)) for d in (1, 2, 2)]
    layers, c_in = [], 3
    for w, d in zip(widths, depths):
        for i in range(d):
            layers += [nn.Conv2d(c_in, w, 3, stride=2 if i == 0 else 1, padding=1),
                       nn.BatchNorm2d(w), nn.ReLU()]
            c_in = w
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(c_in, num_classes))
    return net, {"depths": depths, "widths": widths, "stem": widths[0]}


def no_layout(width_mult, depth_mult, num_classes):
    return cnn(width_mult, depth_mult, num_classes)[0]


def bad_layout(width_mult, depth_mult, num_classes):
    return cnn(width_mult, depth_mult, num_classes)[0], {"depths": [1, 2]}
'''


def _config(tmp_path, name, model="mycnn:cnn"):
    (tmp_path / "mycnn.py").write_text(CNN)
    path = tmp_path / f"{name}.toml"
    text = TINY.format(name=name, mode="repair", storage="").replace(
        'name = "resnet18"', f'name = "{model}"').replace("width_mult = 0.25", "width_mult = 1.0")
    path.write_text(text)
    return own_training(path)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_a_builder_reports_its_layout_and_is_found_beside_the_config(tmp_path, monkeypatch,
                                                                     capsys):
    path = _config(tmp_path, "cnn")
    monkeypatch.chdir("/")
    plan = json.loads(run(capsys, "plan", path, "--json"))
    for c in plan["candidates"]:
        assert c["depths"] is not None and len(c["depths"]) == len(c["widths"]) == 3
        assert all(w % 8 == 0 for w in c["widths"])
    by_point = {(c["alpha"], c["beta"], c["gamma"]): c for c in plan["candidates"]}
    # the baseline's depth_mult 0.5: [1, 1, 1]; α = 2 gives the builder depth_mult 1.0
    assert by_point[(1.0, 1.5, 1.0)]["depths"] == [1, 1, 1]
    assert by_point[(2.0, 1.0, 1.0)]["depths"] == [1, 2, 2]
    assert by_point[(1.0, 1.5, 1.0)]["widths"] == [24, 48, 96]


def test_a_builder_without_a_layout_still_runs(tmp_path, capsys):
    path = _config(tmp_path, "nolayout", "mycnn:no_layout")
    plan = json.loads(run(capsys, "plan", path, "--json"))
    assert all(c["depths"] is None for c in plan["candidates"])


def test_a_malformed_layout_is_one_line_exit_2(tmp_path, capsys):
    path = _config(tmp_path, "badlayout", "mycnn:bad_layout")
    before = sql_dumps(tmp_path)
    code = cli.main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = error_lines(err)
    assert "'depths' and 'widths'" in line
    assert sql_dumps(tmp_path) == before


@pytest.mark.slow
def test_model_and_training_beside_the_config_in_two_workers_and_build(tmp_path, monkeypatch,
                                                                       capsys):
    """From another working directory, with no PYTHONPATH: `run --workers 2` (each worker
    imports both modules from the config's folder), then freeze, export and build (which finds
    the model beside the exported JSON's config)."""
    from helpers import cli as run_cli

    path = _config(tmp_path, "beside2")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = run_cli("run", path, "--workers", "2", "--no-progress", cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("freeze", path, cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    out = elsewhere / "fam.json"
    r = run_cli("export", path, "-o", out, "--phi", "0..1", "--no-progress", cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("build", out, "--phi", "1", cwd="/", env=env)
    assert r.returncode == 0, r.stderr
    assert "counts equal the file's" in r.stdout and "depths" in r.stdout
