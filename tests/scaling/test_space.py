import math

from gridsearch import scaling as space
from gridsearch.scaling import Range


def test_range_values_are_clean_and_inclusive():
    assert Range(1.0, 1.4, 0.1).values() == [1.0, 1.1, 1.2, 1.3, 1.4]
    assert Range(1.0, 1.0, 0.1).values() == [1.0]


def test_grid_count_constraint_and_order():
    a, b, g = Range(1.0, 1.4, 0.1), Range(1.0, 1.3, 0.05), Range(1.0, 1.3, 0.05)
    pts = space.grid(a, b, g, target=2.0, tolerance=0.05)
    brute = [(x, y, z) for x in a.values() for y in b.values() for z in g.values()
             if abs(x * y * y * z * z / 2 - 1) <= 0.05]
    assert len(pts) == len(brute) > 0
    assert all(abs(p.nominal_multiplier / 2 - 1) <= 0.05 + 1e-12 for p in pts)
    assert pts == sorted(pts)  # alpha, then beta, then gamma ascending
    assert pts == space.grid(a, b, g, 2.0, 0.05)  # deterministic


def test_paper_point_is_on_a_fine_grid():
    pts = space.grid(Range(1.0, 1.4, 0.05), Range(1.0, 1.3, 0.05), Range(1.0, 1.3, 0.05), 2.0, 0.05)
    assert space.Point(1.2, 1.1, 1.15) in pts


def test_empty_when_tolerance_excludes_everything():
    assert space.grid(Range(1, 1, 1), Range(1, 1, 1), Range(1, 1, 1), 2.0, 0.1) == []


def test_solved_gamma_meets_target_and_beta_bounds():
    for alpha in (1.0, 1.2, 1.5):
        bounds = space.beta_bounds(alpha, Range(1, 1.5, 0.1), Range(1, 1.5, 0.1), 2.0)
        assert bounds is not None
        for beta in (bounds[0], sum(bounds) / 2, bounds[1]):
            g = space.solve_gamma(alpha, beta, 2.0)
            assert math.isclose(alpha * beta**2 * g**2, 2.0)
            assert 1 - 1e-9 <= g <= 1.5 + 1e-9
    assert space.beta_bounds(3.0, Range(1, 1.5, 0.1), Range(1, 1.5, 0.1), 2.0) is None


def test_a_point_is_named_and_matched_one_way():
    from gridsearch.scaling import Point

    p = Point(1.2, 1.1, 1.15)
    assert p.label() == "α=1.2 β=1.1 γ=1.15"
    noisy = Point(0.1 + 1.1, 1.1, 1.15 + 1e-9)      # float arithmetic, not another point
    assert noisy != p and noisy.key() == p.key() == (1.2, 1.1, 1.15)
    assert Point(1.2, 1.1, 1.15 + 1e-5).key() != p.key()
    assert Point.from_dict({**p.as_dict(), "trial": 3, "alpha": "1.2"}) == p
