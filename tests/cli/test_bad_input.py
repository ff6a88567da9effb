"""Bad input: one line, exit status 2, no traceback, and the study store exactly as it was.

Each case runs the real command line (``gridsearch.cli.main``) next to an existing study; the
contents of every SQLite store in the folder are compared before and after.  A storage URL's
password must never be shown.  The subject is the input, not training: the studies train with the
tests' own function (tests/helpers.py OWN_TRAIN) and load no data unless a case names a source.
"""

import logging

import pytest

from gridsearch import cli, config
from gridsearch.study import Search
from helpers import OWN_TRAIN, TINY, cli as run_cli, error_lines, own_config, sql_dumps

PASSWORD = "Sup3r-Secret-pw"
UNREACHABLE = f"postgresql://gsuser:{PASSWORD}@127.0.0.1:1/gridsearch"


def _base(name="bad"):
    return own_config(TINY.format(name=name, mode="reject", storage=""))


def _edit(old, new, name="bad"):
    text = _base(name)
    assert old in text, old
    return text.replace(old, new)


# (id, argv with {cfg} for the config file and {dir} for the folder, config text or None)
CASES = [
    ("missing config", ["run", "{dir}/nope.toml"], None),
    ("not TOML", ["run", "{cfg}"], "name = [[[ oops"),
    ("wrong type", ["run", "{cfg}"], _edit("epochs = 2", 'epochs = "two"')),
    ("unknown key", ["run", "{cfg}"], _edit("epochs = 2", "epochz = 2")),
    ("unknown model", ["run", "{cfg}"], _edit('name = "resnet18"', 'name = "nonet"')),
    ("unknown model, init", ["init", "{cfg}"], _edit('name = "resnet18"', 'name = "nonet"')),
    ("unsupported timm model", ["run", "{cfg}"], _edit('name = "resnet18"', 'name = "timm:vit_base_patch16_224"')),
    ("missing dataset", ["run", "{cfg}"],
     _edit('source = "external"', 'source = "cifar10"\nroot = "no-such-data"')),
    ("empty ImageFolder", ["run", "{cfg}"],
     _edit('source = "external"', 'source = "imagefolder"\nroot = "empty"')),
    ("not a URL", ["run", "{cfg}", "--storage", "not a url"], _base()),
    ("unsupported database", ["run", "{cfg}", "--storage", "mongodb://h/db"], _base()),
    ("unreachable database", ["run", "{cfg}", "--storage", UNREACHABLE], _base()),
    ("unreachable database in config", ["worker", "{cfg}"],
     _base().replace('name = "bad"\n', f'name = "bad"\nstorage = "{UNREACHABLE}"\n')),
    ("sqlite folder is a file", ["run", "{cfg}", "--storage", "sqlite:///{dir}/a-file/x.db"],
     _base()),
    ("worker without a study", ["worker", "{cfg}"], _base("ghost")),
    ("status without a study", ["status", "{cfg}"], _base("ghost")),
    ("same name, other space", ["run", "{cfg}"], _edit("tolerance = 0.15", "tolerance = 0.2")),
    ("same name, other space, init", ["init", "{cfg}"],
     _edit("tolerance = 0.08", "tolerance = 0.1")),
    ("--workers 0", ["run", "{cfg}", "--workers", "0"], _base()),
    ("--workers abc", ["run", "{cfg}", "--workers", "abc"], _base()),
    ("--gpus with --device cpu", ["run", "{cfg}", "--gpus", "0", "--device", "cpu"], _base()),
    ("--gpus malformed", ["run", "{cfg}", "--gpus", "a,b"], _base()),
    ("--gpus no such GPU", ["run", "{cfg}", "--gpus", "99"], _base()),
    ("--max-trials with --workers", ["run", "{cfg}", "--workers", "2", "--max-trials", "3"],
     _base()),
    ("--max-trials 0", ["run", "{cfg}", "--max-trials", "0"], _base()),
    ("--threads 0", ["worker", "{cfg}", "--threads", "0"], _base()),
    ("--device gpu", ["run", "{cfg}", "--device", "gpu"], _base()),
    ("--workers on worker", ["worker", "{cfg}", "--workers", "2"], _base()),
    ("unknown flag", ["run", "{cfg}", "--bogus"], _base()),
    ("unknown command", ["fly", "{cfg}"], _base()),
    ("bad device in config", ["run", "{cfg}"], _edit('device = "cpu"', 'device = "tpu"')),
    ("unknown augmentation", ["run", "{cfg}"],
     _edit('device = "cpu"', 'device = "cpu"\naugment = "cutmix"')),
    ("shapes drawn too small", ["run", "{cfg}"],
     _edit('source = "external"', 'source = "shapes"\nimage_size = 4')),
    ("same name, augmentation on", ["run", "{cfg}"],
     _edit('device = "cpu"', 'device = "cpu"\naugment = "crop"')),
    ("empty grid", ["run", "{cfg}"], _edit("target = 2.0", "target = 50.0")),
    ("bad study name", ["run", "{cfg}"], _edit('name = "bad"', 'name = "bad name!"')),
    ("coefficient below 1", ["run", "{cfg}"],
     _edit("alpha = { min = 1.0", "alpha = { min = 0.5")),
    ("grace not above heartbeat", ["run", "{cfg}"],
     _base() + "\n[workers]\nheartbeat_interval = 5\ngrace_period = 5\n"),
    ("seeds 0", ["run", "{cfg}"], _edit("epochs = 2", "epochs = 2\nseeds = 0")),
    ("malformed explicit point", ["run", "{cfg}"],
     _edit("target = 2.0", "target = 2.0\npoints = [[1.0, 1.2]]")),
    ("confirm --top 0", ["confirm", "{cfg}", "--top", "0"], _base()),
    ("confirm --seeds 0", ["confirm", "{cfg}", "--seeds", "0"], _base()),
    ("confirm --epochs 0", ["confirm", "{cfg}", "--epochs", "0"], _base()),
    ("confirm --train-size -5", ["confirm", "{cfg}", "--train-size", "-5"], _base()),
    ("confirm an unknown study", ["confirm", "{cfg}"], _base("ghost")),
    ("confirm without a feasible trial", ["confirm", "{dir}/nofeas.toml"], None),
    ("freeze without a feasible trial", ["freeze", "{dir}/nofeas.toml"], None),
    ("compare --seeds 0", ["compare", "{cfg}", "--seeds", "0"], _base()),
    ("compare --workers 0", ["compare", "{cfg}", "--workers", "0"], _base()),
    ("scale --strategy, --tolerance 5", ["scale", "--model", "resnet18", "--strategy", "all",
                                         "--flops-multiplier", "2", "--tolerance", "5"], None),
    ("scale --tolerance 0", ["scale", "{cfg}", "--phi", "1", "--tolerance", "0"], _base()),
    ("confirm --race, n0 above max_seeds", ["confirm", "{cfg}", "--race"],
     _base() + "\n[select]\nn0 = 6\nmax_seeds = 4\n"),
] + [(f"[select] {key} = {value}", ["run", "{cfg}"],
      _base() + "\n[select]\n" + ('mode = "race"\n' if key != "mode" else "")
      + f"{key} = {value}\n") for key, value in (
    ("delta", "0"), ("delta", "-0.1"), ("delta", "nan"), ("delta", "inf"),
    ("confidence", "0.5"), ("confidence", "1.0"), ("confidence", "1.5"), ("confidence", "nan"),
    ("n0", "1"), ("n0", "2.5"), ("max_seeds", "1"), ("max_seeds", "3"), ("mode", '"sprint"'))]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with one existing study ('bad', two trials run) that no bad command may change."""
    d = tmp_path_factory.mktemp("bad")
    (d / "empty").mkdir()
    (d / "a-file").write_text("not a folder")
    (d / "owntrain.py").write_text(OWN_TRAIN)
    path = d / "bad.toml"
    path.write_text(_base())
    Search(config.load(path)).run(max_trials=2)
    nofeas = d / "nofeas.toml"   # every point over the budget: infeasible, never trained
    nofeas.write_text(_base("nofeas").replace("tolerance = 0.08", "tolerance = 0.0001"))
    Search(config.load(nofeas)).run()
    return d


@pytest.mark.parametrize("argv,text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_one_line_exit_2_store_unchanged(argv, text, folder, capsys, caplog):
    cfg = folder / "case.toml"
    if text is not None:
        cfg.write_text(text)
    argv = [a.format(cfg=cfg, dir=folder) for a in argv]
    before = sql_dumps(folder)
    caplog.set_level(logging.DEBUG)
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("gridsearch: error:"), err
    if text and "[select]" in text:
        assert "select." in lines[0], lines[0]   # the line names the key
    assert "Traceback" not in out + err
    assert PASSWORD not in out + err + caplog.text
    assert sql_dumps(folder) == before  # not one row changed, no new store


@pytest.mark.slow
def test_password_never_shown_by_the_real_commands(tmp_path):
    """The console script, verbose, against an unreachable password-bearing URL: each command
    fails with one line, exit 2, and the password appears nowhere."""
    path = tmp_path / "pw.toml"
    (tmp_path / "owntrain.py").write_text(OWN_TRAIN)
    path.write_text(_base("pw").replace('name = "pw"\n', f'name = "pw"\nstorage = "{UNREACHABLE}"\n'))
    for argv in (["-v", "run", path], ["-v", "worker", path], ["init", path], ["status", path],
                 ["-v", "run", path, "--storage", UNREACHABLE.replace("1/", "2/"), "--workers", "2"]):
        r = run_cli(*argv)
        assert r.returncode == 2, r.stderr
        assert PASSWORD not in r.stdout + r.stderr
        assert "***" in r.stderr and "Traceback" not in r.stderr
