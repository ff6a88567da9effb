"""Named scaling strategies: pure math against the table in the design notes (§4)."""

import math

import pytest

from gridsearch.scaling import _strategies as strategies
from gridsearch.errors import ConfigError

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
    e = strategies.exponents(name, a=A)
    assert (e["flops"], e["params"], e["activations"]) == pytest.approx(TABLE[name])


@pytest.mark.parametrize("name", strategies.STANDARD)
@pytest.mark.parametrize("s", [0.5, 2, 4, 16])
def test_every_member_multiplies_flops_by_s(name, s):
    m = strategies.multipliers(name, s)
    assert m.nominal_flops == pytest.approx(s)


def test_fast_width_shares():
    assert strategies.fast(4, 1.0).width == pytest.approx(2.0)           # a = 1: width only
    u = strategies.multipliers("dwr", 4)
    assert u.strategy == "uniform" and u.depth == pytest.approx(4 ** (1 / 3))
    f = strategies.multipliers("dWr", 4)
    assert (f.depth, f.width, f.resolution) == pytest.approx((4 ** 0.1, 4 ** 0.4, 4 ** 0.05))
    c = strategies.compound(2, 1.2, 1.1, 1.15)
    assert c.nominal_flops == pytest.approx(2) and c.depth == pytest.approx(
        1.2 ** (math.log(2) / math.log(1.2 * 1.1**2 * 1.15**2)))
    assert strategies.resolution_for(224, strategies.multipliers("resolution", 4)) == 448


@pytest.mark.parametrize("call", [
    lambda: strategies.multipliers("sideways", 2),
    lambda: strategies.multipliers("fast", 0),
    lambda: strategies.multipliers("fast", float("nan")),
    lambda: strategies.fast(2, 1.5),
    lambda: strategies.multipliers("compound", 2),
    lambda: strategies.compound(2, 1.0, 1.0, 1.0),
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
    m = c.multipliers(4)
    assert (m.depth, m.width, m.resolution) == pytest.approx((1.2**phi, 1.1**phi, 1.15**phi))
    u = strategies.from_share(1 / 3)
    assert u.name == "uniform" and (u.depth, u.width, u.resolution) == pytest.approx((1/3, 1/6, 1/6))
    assert strategies.named("dWr", a=0.5).width_share == 0.5


def test_scale_strategy_command_measures_every_member(capsys):
    """`gridsearch scale --model … --strategy all --flops-multiplier 4 --json`: five members, each
    count equal to fvcore's on the network rebuilt from the printed multipliers."""
    import json

    from gridsearch import cli, models
    from gridsearch.measure._complexity import ComplexityCounter

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
