"""What-if overrides and named variants."""

from __future__ import annotations

import pytest
from conftest import ROOT

import optimizer
from optimizer.instance.overrides import apply_overrides, apply_variants


@pytest.fixture
def quick():
    return optimizer.load_instance(ROOT / "instances" / "quickstart.yaml")


def test_set_scale_and_single_period(quick):
    new = apply_overrides(quick, ["sites[rockdale-mine].grid_mw[2027]=5", "regions[dallas].demand_pflops*=2",
                                  "horizon.discount_rate=0.1"])
    assert new.sites[0].grid_mw == {"2026": 100.0, "2027": 5.0, "2028": 100.0}
    assert new.regions[0].demand_pflops["2028"] == 14400
    assert new.horizon.discount_rate == 0.1
    assert quick.horizon.discount_rate == 0.08  # the original is unchanged


def test_bad_override_is_a_clear_error(quick):
    with pytest.raises(optimizer.InstanceError) as exc:
        apply_overrides(quick, ["sites[nope].grid_mw=5"])
    assert "no record 'nope'; ids: rockdale-mine, abilene-green" in str(exc.value)
    with pytest.raises(optimizer.InstanceError) as exc:
        apply_overrides(quick, ["regions[dallas].max_latency_ms=-1"])
    assert "regions[0] 'dallas'.max_latency_ms = -1" in str(exc.value)


def test_variants_compose_in_order(quick):
    data = quick.model_dump()
    data["variants"] = {"dear": {"systems[gb200-nvl72].price_usd_per_unit": 4e6},
                        "dearer": {"systems[gb200-nvl72].price_usd_per_unit": 5e6}}
    inst = optimizer.instance_from_dict(data)
    assert apply_variants(inst, ["dear", "dearer"]).systems[0].price_usd_per_unit == {"*": 5e6}
    with pytest.raises(optimizer.InstanceError):
        apply_variants(inst, ["cheap"])


def test_override_changes_the_plan(quick):
    """Without the job's 2 bn unplaced cost the plan drops the training run."""
    base = optimizer.solve(quick)
    new = optimizer.solve(apply_overrides(quick, ["training_jobs[frontier-run].unplaced_cost_usd=0"]))
    assert new.objective < base.objective
    assert new.tables["training"]["placed"].tolist() == [False]
