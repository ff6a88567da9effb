"""Named scaling strategies: pure math against the table in the design notes (§4)."""

import math

import pytest

from gridsearch import scaling as strategies
from gridsearch.errors import ConfigError
from gridsearch.scaling import Point, Spec

A = 0.8
TABLE = {  # flops, params, activations exponents of s
    "depth": (1, 1, 1),
    "width": (1, 1, 0.5),
    "resolution": (1, 0, 1),
    "uniform": (1, 2 / 3, 5 / 6),
    "fast": (1, (1 + A) / 2, 1 - A / 2),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_exponents_are_the_design_table(name):
    e = strategies.named(name, a=A).exponents()
    assert (e["flops"], e["params"], e["activations"]) == pytest.approx(TABLE[name])


@pytest.mark.parametrize("name", strategies.STANDARD)
@pytest.mark.parametrize("s", [0.5, 2, 4, 16])
def test_every_member_multiplies_flops_by_s(name, s):
    m = strategies.named(name).spec(s)
    assert m.depth * m.width**2 * m.resolution**2 == pytest.approx(s) and m.s == s


def test_fast_width_shares():
    assert strategies.from_share(1.0).spec(4).width == pytest.approx(2.0)   # a = 1: width only
    u = strategies.named("dwr").spec(4)
    assert u.strategy == "uniform" and u.depth == pytest.approx(4 ** (1 / 3))
    f = strategies.named("dWr").spec(4)
    assert (f.depth, f.width, f.resolution) == pytest.approx((4 ** 0.1, 4 ** 0.4, 4 ** 0.05))
    c = strategies.from_coefficients(1.2, 1.1, 1.15).spec(2)
    phi = math.log(2) / math.log(1.2 * 1.1**2 * 1.15**2)
    assert c.s == pytest.approx(2) and c.depth == pytest.approx(1.2 ** phi)
    assert c.point == Point(1.2, 1.1, 1.15) and c.phi == pytest.approx(phi)
    assert strategies.named("resolution").spec(4).pixels(224) == 448


@pytest.mark.parametrize("call", [
    lambda: strategies.named("sideways").spec(2),
    lambda: strategies.named("fast").spec(0),
    lambda: strategies.named("fast").spec(float("nan")),
    lambda: strategies.from_share(1.5),
    lambda: strategies.named("compound"),
    lambda: strategies.from_coefficients(1.0, 1.0, 1.0),
])
def test_bad_input_is_a_config_error(call):
    with pytest.raises(ConfigError) as e:
        call()
    assert "\n" not in str(e.value)


def test_one_representation_exponent_triples():
    """Every strategy is an exponent triple: compound's equals its (α, β, γ) at any s, and the
    width share's equals the design table's d, w, r."""
    c = strategies.from_coefficients(1.2, 1.1, 1.15)
    phi = math.log(4) / math.log(1.2 * 1.1**2 * 1.15**2)
    m = c.spec(4)
    assert (m.depth, m.width, m.resolution) == pytest.approx((1.2**phi, 1.1**phi, 1.15**phi))
    # and the exponent formula agrees with the spec computed from the point directly
    e = (c.depth, c.width, c.resolution)
    assert (4 ** e[0], 4 ** e[1], 4 ** e[2]) == pytest.approx((m.depth, m.width, m.resolution))
    u = strategies.from_share(1 / 3)
    assert u.name == "uniform" and (u.depth, u.width, u.resolution) == pytest.approx((1/3, 1/6, 1/6))
    assert strategies.named("dWr", a=0.5).width_share == 0.5


@pytest.mark.slow
def test_scale_strategy_command_measures_every_member(capsys):
    """`gridsearch scale --model … --strategy all --flops-multiplier 4 --json`: five members, each
    count equal to fvcore's on the network rebuilt from the printed multipliers."""
    import json

    from gridsearch import cli, models
    from gridsearch.measure import ComplexityCounter

    code = cli.main(["scale", "--model", "resnet18", "--strategy", "all", "--flops-multiplier", "4",
                     "--base-resolution", "32", "--num-classes", "10", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["strategy"] for m in doc["members"]] == list(strategies.STANDARD)
    counter = ComplexityCounter()
    for m in doc["members"]:
        net = models.build("resnet18", m["width_mult"], m["depth_mult"], 10).module
        c = counter.count(net, m["resolution"])
        assert (c.flops, c.params, c.activations) == (m["flops"], m["params"], m["activations"])
        assert m["flops_ratio"] == pytest.approx(c.flops / doc["baseline"]["flops"], rel=1e-3)
    width = next(m for m in doc["members"] if m["strategy"] == "width")
    assert width["resolution"] == 32 and width["width_mult"] == pytest.approx(2.0)


@pytest.mark.parametrize("argv", [
    ["scale", "--model", "resnet18", "--strategy", "sideways", "--flops-multiplier", "4"],
    ["scale", "--model", "resnet18", "--strategy", "fast"],
    ["scale", "--model", "resnet18", "--strategy", "fast", "--flops-multiplier", "4", "--a", "2"],
    ["scale", "--model", "resnet18", "--strategy", "fast", "--flops-multiplier", "-1"],
])
def test_scale_strategy_bad_input_is_one_line(argv, capsys):
    from gridsearch import cli

    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gridsearch: error:")


def test_spec_round_trip_and_origin():
    """A spec serialises once (as trials and exports store it) and reads back the same; a compound
    spec is exactly α^φ, β^φ, γ^φ again, not the rounded d, w, r."""
    c = Spec.compound(Point(1.2, 1.1, 1.15), 2.5)
    back = Spec.from_dict(c.as_dict())
    assert back == c and back.depth == 1.2 ** 2.5
    assert c.as_dict()["d"] == round(1.2 ** 2.5, 6) and c.describe() == "α=1.2 β=1.1 γ=1.15 at φ=2.5"
    f = strategies.named("fast", a=0.5).spec(3)
    back = Spec.from_dict(f.as_dict())
    assert back.strategy == "fast" and back.width_share == 0.5 and back.depth == pytest.approx(f.depth)
    assert c.pixels(224) == round(224 * 1.15 ** 2.5) and c.grows and not Spec.compound(
        Point(1.2, 1.1, 1.15), -1).grows
    assert c.effective_gamma(c.pixels(224), 224) == pytest.approx(1.15, abs=2e-3)
    assert f.effective_gamma(300, 224) is None      # not a compound spec: no γ


def test_scaling_imports_no_torch():
    """scaling/ is pure math: importing every module of it loads neither torch nor fvcore."""
    import subprocess
    import sys

    code = ("import sys, gridsearch.scaling as s; [getattr(s, n) for n in s.__all__]; "
            "print(sorted(m for m in ('torch', 'fvcore', 'optuna') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
