"""Freeze, scale, export, rebuild: issue 3.

Studies are written straight into SQLite with Optuna's own ``create_trial`` (the user attributes
the core writes, from real measured candidates), so no test trains a network.
"""

import dataclasses
import json
import math
from types import SimpleNamespace

import jsonschema
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

import gridsearch
from gridsearch import config, family, family as export, family as freeze, models
from gridsearch.cli import main as cli_main
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.measure import ComplexityCounter, Realiser
from gridsearch.scaling import Point, Spec
from gridsearch.selection import rank
from gridsearch.study import Search, read
from helpers import cli

EFFNET = """
name = "{name}"

[model]
name = "efficientnet_b0"
base_resolution = 64
num_classes = 10
width_mult = 0.5
depth_mult = 0.5

[data]
source = "digits"
train_size = 64
val_size = 32

[train]
epochs = 1
device = "cpu"

[search]
alpha = {{ min = 1.0, max = 1.4, step = 0.2 }}
beta = {{ min = 1.0, max = 1.2, step = 0.1 }}
gamma = {{ min = 1.0, max = 1.4, step = 0.1 }}
target = 2.0
tolerance = 0.1

[budget]
mode = "repair"
tolerance = 0.08
"""

DIST = {k: FloatDistribution(1.0, 3.0) for k in ("alpha", "beta", "gamma")}


@pytest.fixture
def run(capsys):
    """The real CLI entry point, in this process: a subprocess pays ~10 s of imports per call on
    the shared CPU. One test below still runs the installed console script."""

    def call(*args):
        capsys.readouterr()
        try:
            rc = cli_main([str(a) for a in args])
        except SystemExit as e:
            rc = e.code
        out = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)

    return call


def add(study, point, state=TrialState.COMPLETE, value=None, **attrs):
    study.add_trial(create_trial(params=point.as_dict(), distributions=DIST, state=state,
                                 value=value, user_attrs=attrs))


def realiser_of(cfg):
    return Realiser.of(cfg.model, seed=cfg.train.seed)


def measured(realiser, point, feasible=True):
    """The user attributes the core writes for ``point``, with the verdict forced."""
    a = realiser.realise(Spec.compound(point), target=2.0).as_dict()
    return {**a, "feasible": feasible, "verdict": "feasible" if feasible else "infeasible"}


# -- φ lists --------------------------------------------------------------------------------------
def test_parse_phis_forms():
    assert family.parse_phis("-1..4") == [-1, 0, 1, 2, 3, 4]
    assert family.parse_phis("0,0.5,1") == [0, 0.5, 1]
    assert family.parse_phis("1,0..1:0.5,-0.5") == [-0.5, 0, 0.5, 1]
    assert family.parse_phis("2") == [2]
    for bad in ("", "a..2", "3..1", "0..2:0", "1,,2", "nan", "0..1000"):
        with pytest.raises(ConfigError):
            family.parse_phis(bad)


# -- freeze ---------------------------------------------------------------------------------------
def test_freeze_merges_duplicates_and_skips_infeasible_and_failed(tiny_config):
    cfg = config.load(tiny_config(name="freeze"))
    p0, p1, p2 = cfg.points()
    study = Search(cfg).study()
    r = realiser_of(cfg)
    add(study, p0, value=0.9, **measured(r, p0))           # p0 twice: mean 0.7
    add(study, p0, value=0.5, **measured(r, p0))
    add(study, p1, value=0.8, **measured(r, p1))
    add(study, p2, state=TrialState.PRUNED, **measured(r, p2, feasible=False))
    add(study, p2, state=TrialState.FAIL, error="RuntimeError: boom")
    add(study, p2, value=0.99, **measured(r, p2, feasible=False))  # finished yet infeasible
    add(study, p2, state=TrialState.RUNNING)

    ranked = rank(read(study))
    assert [x.point for x in ranked] == [p1, p0]  # one row per point, never two
    assert ranked[1].trials == (0, 1) and ranked[1].value == pytest.approx(0.7)
    frozen = freeze.freeze(Search(cfg).selection(), cfg.name)
    assert (frozen.alpha, frozen.beta, frozen.gamma) == (p1.alpha, p1.beta, p1.gamma)
    assert frozen.trial == 2 and frozen.value == pytest.approx(0.8)

    # Stored in the study, where the dashboard (and the next command) reads it.
    freeze.store_frozen(study, frozen)
    again = optuna.load_study(study_name="freeze", storage=config.storage_url(cfg))
    stored = freeze.stored_frozen(again)
    assert stored.point == p1 and stored.frozen_at
    assert again.user_attrs["frozen"]["trials"] == [2]


def test_freeze_ties_go_to_fewer_measured_flops(tiny_config):
    cfg = config.load(tiny_config(name="ties"))
    study = Search(cfg).study()
    r = realiser_of(cfg)
    attrs = {p: measured(r, p) for p in cfg.points()}
    for p in cfg.points():
        add(study, p, value=0.75, **attrs[p])
    cheapest = min(cfg.points(), key=lambda p: (attrs[p]["flops"], cfg.points().index(p)))
    assert freeze.freeze(Search(cfg).selection(), cfg.name).point == cheapest


def test_freeze_refuses_without_a_feasible_finished_trial(tiny_config, run):
    path = tiny_config(name="none")
    cfg = config.load(path)
    study = Search(cfg).study()
    p = cfg.points()[0]
    add(study, p, state=TrialState.PRUNED, feasible=False, verdict="infeasible")
    add(study, p, state=TrialState.FAIL, error="boom")
    with pytest.raises(GridsearchError, match="no trial is both feasible and finished"):
        Search(cfg).selection()
    r = run("freeze", path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "1 fail, 1 infeasible" in r.stderr
    assert "frozen" not in optuna.load_study(study_name="none", storage=config.storage_url(cfg)).user_attrs


# -- scale ----------------------------------------------------------------------------------------
def test_scale_negative_fractional_phi_is_measured(tiny_config):
    cfg = config.load(tiny_config(name="scale"))
    point = Point(1.2, 1.1, 1.15)
    r = realiser_of(cfg)
    fam = family.scale(r, point, [-1, 0, 0.5, 1.5], target=2.0)
    base = r.reference
    m0 = fam.member(0)
    assert (m0.flops, m0.params, m0.resolution, m0.ratio("flops")) == (base.flops, base.params,
                                                                       32, 1.0)
    fresh = ComplexityCounter()  # counts taken here, independently of the family's counter
    for m in fam.members:
        phi = m.spec.phi
        assert m.depth_mult == pytest.approx(0.5 * 1.2 ** phi)
        assert m.width_mult == pytest.approx(0.25 * 1.1 ** phi)
        assert m.resolution == round(32 * 1.15 ** phi)
        assert m.verdict.target == pytest.approx(2.0 ** phi, rel=1e-6)
        assert m.verdict.deviation == pytest.approx(m.ratio("flops") / m.verdict.target - 1,
                                                    abs=1e-5)
        net = models.build("resnet18", m.width_mult, m.depth_mult, 10)
        c = fresh.count(net.module, m.resolution)
        assert (m.flops, m.params, m.activations) == (c.flops, c.params, c.activations)
        assert m.layout.depths == net.layout.depths
    neg, half = fam.member(-1), fam.member(0.5)
    assert neg.resolution == 28 and neg.flops < base.flops and neg.params <= base.params
    assert half.resolution == 34 and base.flops < half.flops < fam.member(1.5).flops
    assert neg.effective_gamma == pytest.approx((28 / 32) ** -1, rel=1e-5)


def test_scale_repair_lands_within_tolerance(tiny_config):
    cfg = config.load(tiny_config(name="repair"))
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, base_resolution=64))
    point = Point(1.2, 1.1, 1.15)
    r = realiser_of(cfg)
    phis = [-1, 2]
    plain = family.scale(r, point, phis, 2.0, repair=False, tolerance=0.05)
    fixed = family.scale(r, point, phis, 2.0, repair=True, tolerance=0.05)
    assert any(not m.within_tolerance for m in plain.members)  # rounding moves FLOPs ...
    for p, m in zip(plain.members, fixed.members, strict=True):
        assert m.within_tolerance, m.verdict.reason                 # ... repair puts them back
        assert abs(m.verdict.deviation) <= 0.05 + 1e-9
        assert abs(m.verdict.deviation) <= abs(p.verdict.deviation) + 1e-9
        assert (m.depth_mult, m.width_mult) == (p.depth_mult, p.width_mult)  # α, β kept
        assert m.repaired == (m.resolution != p.resolution)
        if m.spec.phi > 0:
            assert m.resolution >= 64   # γ ≥ 1 kept
        else:
            assert m.resolution <= 64


# -- export, schema, rebuild ----------------------------------------------------------------------
@pytest.fixture
def effnet_study(tmp_path):
    """An EfficientNet-B0 proxy study with one finished, feasible trial (measured, not trained)."""
    path = tmp_path / "eff.toml"
    path.write_text(EFFNET.format(name="eff"))
    cfg = config.load(path)
    study = Search(cfg).study()
    r = realiser_of(cfg)
    point = Point(1.0, 1.1, 1.3)  # feasible once repaired: 83 px overshoots, 79 px lands
    assert point in cfg.points()
    cand = r.realise(Spec.compound(point), target=2.0, tolerance=cfg.budget.tolerance,
                     mode="repair")
    assert cand.verdict.feasible and cand.repaired
    add(study, point, value=0.61, **cand.as_dict(), feasible=True, verdict="feasible")
    return path, cfg, cand


def _rebuild_with_torchvision_alone(args):
    """Rebuild a member from its JSON arguments with torchvision only (no gridsearch code)."""
    import torchvision.models as tvm
    from torchvision.models import efficientnet as tve

    assert args["builder"] == "torchvision.models.efficientnet.EfficientNet"
    setting, last = tve._efficientnet_conf(args["arch"], width_mult=args["width_mult"],
                                           depth_mult=args["depth_mult"])
    return tvm.EfficientNet(setting, args["dropout"], last_channel=last,
                            num_classes=args["num_classes"])


def _fvcore_flops(module, resolution):
    import torch
    from fvcore.nn import FlopCountAnalysis

    module.eval()
    fca = FlopCountAnalysis(module, torch.zeros(1, 3, resolution, resolution))
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(fca.total())


@pytest.mark.slow
def test_export_validates_and_rebuilds_with_torchvision_alone(effnet_study, tmp_path, run):
    path, cfg, cand = effnet_study
    r = run("freeze", path)
    assert r.returncode == 0, r.stderr
    assert "α=1 β=1.1 γ=1.3" in r.stdout
    out = tmp_path / "best.json"
    r = run("export", path, "-o", out, "--phi", "0,1", "--no-progress")  # φ < 0: see scale tests
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())

    validator = jsonschema.Draft202012Validator(export.schema(),
                                                format_checker=jsonschema.FormatChecker())
    validator.validate(doc)
    assert doc["schema"] == "gridsearch.family/v1"
    assert doc["coefficients"]["effective_gamma"] == pytest.approx(cand.effective_gamma, abs=1e-5)
    assert doc["coefficients"]["effective_gamma"] == pytest.approx(79 / 64, abs=1e-5)
    prov = doc["provenance"]
    assert (prov["study"], prov["trial"], prov["value"]) == ("eff", 0, 0.61)
    assert (prov["dataset"], prov["train_size"], prov["val_size"], prov["epochs"]) == ("digits", 64, 32, 1)
    assert {"torch", "torchvision", "fvcore", "optuna", "gridsearch"} <= set(prov["versions"])
    assert [m["phi"] for m in doc["family"]] == [0, 1]
    assert doc["scaling"]["repair"] is True  # the study's budget.mode
    base = doc["baseline"]
    assert doc["family"][0]["flops"] == base["flops"] and base["resolution"] == 64
    # φ = 1 with repair is the very network the search measured (and trained).
    one = doc["family"][1]
    assert (one["resolution"], one["flops"]) == (cand.verdict.resolution, cand.verdict.complexity.flops)
    assert one["repaired"] and one["nominal_resolution"] == 83

    for m in doc["family"]:
        assert m["timm"]["builder"].startswith("timm.")
        assert m["timm"]["kwargs"]["channel_multiplier"] == m["width_mult"]
        net = _rebuild_with_torchvision_alone(m["torchvision"])
        flops = _fvcore_flops(net, m["resolution"])
        assert flops == pytest.approx(m["flops"], rel=0.01)
        assert sum(p.numel() for p in net.parameters()) == m["params"]

    # gridsearch.load(...).build(φ): counts equal the file's.
    loaded = gridsearch.load(out)
    c = ComplexityCounter().count(loaded.build(1), one["resolution"])
    assert (c.flops, c.params, c.activations) == (one["flops"], one["params"], one["activations"])
    with pytest.raises(GridsearchError, match="no member with phi = 2"):
        loaded.build(2)

    r = run("build", out, "--phi", "1")
    assert r.returncode == 0, r.stderr
    assert f"{one['flops']:,}" in r.stdout and "counts equal the file's" in r.stdout
    tampered = tmp_path / "tampered.json"
    tdoc = json.loads(out.read_text())
    tdoc["family"][0]["flops"] += 1000
    tampered.write_text(json.dumps(tdoc))
    r = run("build", tampered, "--phi", "0")
    assert r.returncode == 2 and "differs" in r.stderr and r.stderr.count("\n") == 1

    # Overwrite refused (file untouched), then allowed with --force.
    before = out.read_text()
    r = run("export", path, "-o", out, "--phi", "0")
    assert r.returncode == 2 and "--force" in r.stderr and r.stderr.count("\n") == 1
    assert out.read_text() == before
    r = run("export", path, "-o", out, "--phi", "0", "--force", "--no-repair", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert [m["phi"] for m in json.loads(out.read_text())["family"]] == [0]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_timm_arguments_say_when_the_head_differs():
    same = models.build("efficientnet_b0", 1.1, 0.25, 10).timm   # 4 × 352 = round(1280 · 1.1)
    other = models.build("efficientnet_b0", 1.21, 0.25, 10)      # 4 × 384 ≠ round(1280 · 1.21)
    assert same["exact"] and not same["note"] and same["kwargs"]["channel_multiplier"] == 1.1
    assert other.layout.head == 1536 and "1552-channel head" in other.timm["note"]
    assert other.timm["exact"] is False and "note" not in other.timm["kwargs"]


def test_export_never_holds_a_storage_password(tiny_config):
    cfg = config.load(tiny_config(name="pw", storage="postgresql://ann:s3cret@db.example/x"))
    r = realiser_of(cfg)
    fam = family.scale(r, Point(1.0, 1.0, 1.5), [0, 1], 2.0)
    frozen = freeze.Frozen(1.0, 1.0, 1.5, 1.5, 3, (3,), 0.5, "pw")
    doc = export.document(fam, frozen, cfg)
    text = json.dumps(doc)
    assert "s3cret" not in text and "db.example" not in text
    jsonschema.validate(doc, export.schema())
    assert doc["family"][0]["torchvision"] is None  # resnet18 at width 0.25: torchvision can't


def test_write_is_atomic_and_refuses_overwrite(tmp_path):
    out = tmp_path / "x.json"
    export.write({"a": 1}, out)
    with pytest.raises(GridsearchError, match="exists"):
        export.write({"a": 2}, out)
    with pytest.raises(ValueError):
        export.write({"a": math.nan}, out, force=True)  # a failed write leaves the old file
    assert json.loads(out.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    export.write({"a": 3}, out, force=True)
    assert json.loads(out.read_text()) == {"a": 3}


# -- CLI: scale with a study, plot, and one-line errors -------------------------------------------
def test_scale_cli_with_study_json_and_plot(tiny_config, tmp_path, run):
    path = tiny_config(name="cli")
    cfg = config.load(path)
    study = Search(cfg).study()
    p = cfg.points()[0]
    add(study, p, value=0.5, **measured(realiser_of(cfg), p))
    png = tmp_path / "family.png"
    r = run("scale", path, "--phi", "-1..1", "--json", "--plot", png)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, export.schema())
    assert [m["phi"] for m in doc["family"]] == [-1, 0, 1]
    assert doc["coefficients"]["alpha"] == p.alpha
    assert "not frozen yet" in r.stderr and "[3/3] phi=1" in r.stderr  # progress on stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    stored = Search(cfg).study(create=False).user_attrs["family"]  # for the report and dashboard
    assert stored["members"] == doc["family"] and stored["baseline"] == doc["baseline"]

    r = run("scale", path, "--phi", "0,0.5")
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines()]
    assert [row[0] for row in rows if row and row[0] in ("0", "0.5")] == ["0", "0.5"]
    # members outside the tolerance are named under the table, as export and report name them:
    # the line says what the measured member (--json) says
    half = next(m for m in json.loads(run("scale", path, "--phi", "0,0.5", "--json").stdout)
                ["family"] if m["phi"] == 0.5)
    last = r.stdout.splitlines()[-1]
    if half["within_tolerance"]:
        assert last.startswith("every member")
    else:
        assert last.startswith("phi=0.5: OUTSIDE the tolerance")


@pytest.mark.parametrize("args, message", [
    (("scale", "--phi", "0"), "give a study CONFIG"),
    (("scale", "--model", "efficientnet_b0", "--alpha", "1.2", "--phi", "0"), "--beta, --gamma"),
    (("scale", "--model", "efficientnet_b0", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
      "--phi", "1..x"), "not a number"),
    (("scale", "--model", "efficientnet_b0", "--alpha", "0.9", "--beta", "1.1", "--gamma", "1.15"),
     "must be ≥ 1"),
    (("scale", "--model", "nope", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"), "unknown model"),
    (("build", "missing.json", "--phi", "1"), "no such file"),
    (("build", "--phi", "1"), "required"),
])
def test_cli_errors_are_one_line_exit_2(args, message, tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


@pytest.mark.slow
def test_console_script_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/else"}')
    r = cli("build", bad, "--phi", "-1", cwd=tmp_path)  # the installed script; -1 is a value
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "not a gridsearch family export" in r.stderr and r.stderr.count("\n") == 1


def test_an_export_of_an_earlier_version_still_loads_and_rebuilds(capsys):
    """tests/family/data/export_3098fde.json was written by gridsearch at commit 3098fde (before
    the one Spec and the one record: `scale --model efficientnet_b0 --alpha 1.2 --beta 1.1
    --gamma 1.15 --base-resolution 64 --num-classes 10 --phi 0..2 --json`). Today's `load` reads
    it and `build` rebuilds every member to the counts the file states."""
    from pathlib import Path

    from gridsearch.family import load

    path = Path(__file__).parent / "data" / "export_3098fde.json"
    exported = load(path)
    assert exported.phis == [0, 1, 2] and exported.coefficients["alpha"] == 1.2
    for phi in exported.phis:
        assert cli_main(["build", str(path), "--phi", str(phi), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        stated = exported.member(phi)
        assert out["resolution"] == stated["resolution"]
        assert all(out[k] == stated[k] for k in ("flops", "params", "activations")), out
