"""The time-to-power figure, the power limit in ``power_vs_grid`` and the power section of the HTML report,
on a micro instance with a flexible grid connection, a gas turbine to build and a PPA (see
tests/results/test_power_output.py for the hand-derived numbers)."""

from __future__ import annotations

import copy
import html

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is needed for plots and reports")

from conftest import micro, option, site, system

import optimizer
from optimizer.analysis import figures
from optimizer.analysis.figures.power import FIRM_LABEL, LIMIT_LABEL
from optimizer.analysis.figures.power_timeline import FIRM_LABEL as FIRM_MARK
from optimizer.analysis.figures.power_timeline import FIRST_LABEL
from optimizer.analysis.report import report_html
from optimizer.results import outcomes

PNG = b"\x89PNG\r\n\x1a\n"


def _data(scenarios: tuple = ()) -> dict:
    return micro(periods=("2026", "2027"), scenarios=scenarios,
                 sites=[site("green", "greenfield", grid=10, grid_available_from="2027", price=100.0,
                             options=[option(capex=100, max_mw=10)],
                             power_sources=[{"id": "flex", "kind": "grid_flexible", "mw": 10, "curtailment_share": 0.01},
                                            {"id": "gas", "kind": "onsite", "mw": 5, "capex_usd_per_mw": 1000,
                                             "fuel_usd_per_mmbtu": 3, "heat_rate_mmbtu_per_mwh": 9, "co2_t_per_mwh": 0.4},
                                            {"id": "ppa", "kind": "ppa", "mw": 0.5, "price_usd_per_mwh": 10,
                                             "take_or_pay_share": 0.5, "signed": False}])],
                 systems=[system("gpu", divisible=True)],
                 jobs=[{"id": "run", "compute_pflops": {"2026": 10, "2027": 10}, "must_place": True}],
                 policies={"emission_rules": [{"id": "tax", "jurisdiction": "CN", "price_usd_per_t": 50}]})


@pytest.fixture(scope="module")
def plan() -> optimizer.Plan:
    p = optimizer.solve(optimizer.instance_from_dict(copy.deepcopy(_data()), "micro"))
    assert p.status == "optimal", p.messages
    return p


@pytest.fixture(scope="module")
def two_scenarios() -> optimizer.Plan:
    data = _data(({"id": "dear", "probability": 0.6}, {"id": "cheap", "probability": 0.4, "electricity_price_scale": 0.1}))
    p = optimizer.solve(optimizer.instance_from_dict(data, "micro"))
    assert p.status == "optimal", p.messages
    return p


def _legend(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_power_timeline_is_a_plot(plan, tmp_path):
    assert figures.PLOTS["power_timeline"] is figures.power_timeline
    folder = optimizer.write_plan(plan, tmp_path / "out")
    for src, kw in ((plan, {}), (plan.tables, {"inst": plan.instance}), (folder, {"inst": plan.instance})):
        fig = figures.power_timeline(src, **kw, path=tmp_path / "t.png")
        assert (tmp_path / "t.png").read_bytes().startswith(PNG)
        labels = _legend(fig)
        # only the kinds that deliver energy, then the two marks
        assert labels[:2] == ["ppa", "onsite"] and labels[2].startswith(FIRST_LABEL) and labels[3] == FIRM_MARK
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["green"]
        notes = [t.get_text() for t in ax.texts]
        assert "1 year before\nfirm grid" in notes


def test_power_timeline_by_scenario(two_scenarios):
    fig = figures.power_timeline(two_scenarios)
    assert set(_legend(fig)[:4]) == {"grid_firm", "grid_flexible", "ppa", "onsite"}
    assert "earliest over scenarios" in _legend(fig)[4]
    cheap = figures.power_timeline(two_scenarios, scenario="cheap")
    assert _legend(cheap)[:3] == ["grid_firm", "grid_flexible", "ppa"]
    with pytest.raises(ValueError, match="unknown scenario"):
        figures.power_timeline(two_scenarios, scenario="nope")


def test_power_vs_grid_draws_the_power_limit_and_the_firm_grid(plan):
    fig = figures.power_vs_grid(plan)
    assert LIMIT_LABEL in _legend(fig) and FIRM_LABEL in _legend(fig)
    ax = fig.axes[0]
    ys = [y for c in ax.collections for seg in c.get_segments() for y in np.asarray(seg).reshape(-1, 2)[:, 1]]
    levels = {round(float(y), 6) for y in ys if np.isfinite(y)}
    sp = plan.tables["site_power"]
    want = {round(float(x), 6) for x in sp["power_limit_mw"]} | {round(float(x), 6) for x in sp["grid_mw"] if x > 0}
    assert want <= levels
    # a site whose limit is its firm grid has no second line
    only_grid = optimizer.solve(optimizer.instance_from_dict(micro(sites=[site("s1", grid=5.0)]), "micro"))
    assert FIRM_LABEL not in _legend(figures.power_vs_grid(only_grid)) and LIMIT_LABEL in _legend(
        figures.power_vs_grid(only_grid))


def test_report_has_time_to_power_and_energy(plan, two_scenarios):
    text = report_html(plan)
    assert 'alt="power_timeline"' in text and 'alt="power"' in text
    assert "Time to power: first period with IT load" in text
    assert '<td class="l">ppa, gas (onsite)</td><td class="l">2027</td><td class="l">1 year</td>' in text
    assert "8.76 GWh (50 %)" in text and "18.5 USD/MWh" in text
    assert html.escape(outcomes.ALL_IN_PRICE_MEANS) in text
    assert "Emissions per year, tCO2" in text and "1,752 tCO2" in text
    multi = report_html(two_scenarios)
    assert "<th class=\"l\">scenario</th>" in multi and "flex (grid_flexible), ppa" in multi
    assert "Energy by source, all periods (expected over scenarios)" in multi


def test_figures_and_report_of_a_folder_without_power_tables(plan, tmp_path):
    folder = optimizer.write_plan(plan, tmp_path / "old")
    for name in ("generator_builds", "power", "time_to_power", "emissions"):
        (folder / f"{name}.csv").unlink()
    fig = figures.power_timeline(folder, plan.instance)
    assert figures.figure_png(fig).startswith(PNG) and not fig.legends
    text = report_html(folder, plan.instance)
    assert "Time to power:" not in text and ">Power and idle compute</h2>" in text
