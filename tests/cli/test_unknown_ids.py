"""A typo in an id is an input error (exit 2), never a silent base plan.

Unknown ids in ``--force`` / ``--forbid`` (every kind), ``explain --why`` / ``--why-not``,
``sweep --grid`` and ``--variant`` are reported like an unknown ``--set`` id: exit 2, "did
you mean" the nearest id and the list of ids, before anything is solved. The check lives in
the library (``Decisions.check``, ``explain``, ``sweep``), so Python callers get it too.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

import optimizer
from optimizer.analysis.explain import explain
from optimizer.analysis.sweep import sweep
from optimizer.cli import main
from optimizer.instance.decisions import Decisions
from optimizer.instance.errors import InstanceError
from optimizer.instance.overrides import apply_variants, unknown_id
from optimizer.solver import HighsSession

QUICK = str(ROOT / "instances" / "quickstart.yaml")
SITES = "ids: rockdale-mine, abilene-green"


@pytest.fixture
def nothing_solved(monkeypatch):
    """Any model handed to HiGHS fails the test: the input must be refused before that."""
    def refuse(*_args, **_kw):
        raise AssertionError("a model was solved although the input was invalid")

    monkeypatch.setattr(HighsSession, "__init__", refuse)


def _refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    return err


# ----------------------------------------------------------------------------- solve --force / --forbid
@pytest.mark.parametrize("flag", ["--force", "--forbid"])
@pytest.mark.parametrize("choice, expected", [
    ("site=rockdale", f"no site 'rockdale'; did you mean 'rockdale-mine'? {SITES}"),
    ("option=rockdale-mine:retrofit",
     "no build option 'retrofit'; did you mean 'ai-retrofit'? options of site 'rockdale-mine': ai-retrofit"),
    ("option=rockdale:ai-retrofit", f"no site 'rockdale'; did you mean 'rockdale-mine'? {SITES}"),
    ("system=gb200", "no system 'gb200'; did you mean 'gb200-nvl72'? ids: gb200-nvl72"),
    ("family=cudaa", "no family 'cudaa'; did you mean 'cuda'? ids: cuda"),
    ("site_system=abilene:gb200-nvl72", f"no site 'abilene'; did you mean 'abilene-green'? {SITES}"),
    ("site_system=abilene-green:gb200", "no system 'gb200'; did you mean 'gb200-nvl72'? ids: gb200-nvl72"),
])
def test_solve_refuses_an_unknown_id(flag, choice, expected, nothing_solved, capsys, tmp_path):
    out = tmp_path / "plan"
    err = _refused(["solve", QUICK, flag, choice, "--out", str(out)], capsys)
    assert f"{flag}: {choice}: {expected}" in err
    assert not out.exists()


def test_every_unknown_id_is_listed_at_once(nothing_solved, capsys):
    err = _refused(["solve", QUICK, "--force", "site=abilene", "--forbid", "system=gb200", "--forbid", "site=rockdale-mine"],
                   capsys)
    assert "2 problem(s)" in err and "did you mean 'abilene-green'" in err and "did you mean 'gb200-nvl72'" in err


def test_marginal_refuses_an_unknown_id(nothing_solved, capsys):
    err = _refused(["marginal", QUICK, "--forbid", "family=cudaa"], capsys)
    assert "no family 'cudaa'; did you mean 'cuda'?" in err


# ----------------------------------------------------------------------------- explain
@pytest.mark.parametrize("flag", ["--why", "--why-not"])
def test_explain_refuses_an_unknown_id(flag, nothing_solved, capsys):
    err = _refused(["explain", QUICK, flag, "site=rockdale"], capsys)
    assert f"{flag}: site=rockdale: no site 'rockdale'; did you mean 'rockdale-mine'? {SITES}" in err
    assert "difference" not in err


def test_explain_checks_the_decisions_imposed_on_both_plans(nothing_solved, capsys):
    err = _refused(["explain", QUICK, "--why-not", "site=abilene-green", "--forbid", "system=gb"], capsys)
    assert "--forbid: system=gb: no system 'gb'; did you mean 'gb200-nvl72'?" in err


# ----------------------------------------------------------------------------- sweep --grid
def test_sweep_refuses_an_unknown_record_id(nothing_solved, capsys, tmp_path):
    out = tmp_path / "sweep"
    err = _refused(["sweep", QUICK, "--grid", "sites[rockdale].grid_mw=100,200",
                    "--grid", "systems[gb200].price_usd_per_unit*=1,1.2", "--out", str(out), "--executor", "serial"], capsys)
    assert f"--grid: sites[rockdale].grid_mw = 100: no record 'rockdale'; did you mean 'rockdale-mine'? {SITES}" in err
    assert "no record 'gb200'; did you mean 'gb200-nvl72'? ids: gb200-nvl72" in err
    assert "2 problem(s)" in err  # one per path, not one per run
    assert not out.exists()


def test_sweep_refuses_an_unknown_decision_id(nothing_solved, capsys, tmp_path):
    err = _refused(["sweep", QUICK, "--grid", "horizon.discount_rate=0.05,0.1", "--forbid", "site=abilene",
                    "--out", str(tmp_path / "sweep"), "--executor", "serial"], capsys)
    assert "--forbid: site=abilene: no site 'abilene'; did you mean 'abilene-green'?" in err


# ----------------------------------------------------------------------------- --variant
@pytest.fixture
def with_variants(tmp_path) -> str:
    data = optimizer.load_instance(QUICK).model_dump(mode="json")
    data["variants"] = {"dear": {"systems[gb200-nvl72].price_usd_per_unit": 4e6}, "no-grid": {"sites[abilene-green].grid_mw": 0}}
    f = tmp_path / "variants.json"
    f.write_text(json.dumps(data))
    return str(f)


@pytest.mark.parametrize("command", ["solve", "validate", "diagnose", "marginal"])
def test_unknown_variant_is_refused(command, with_variants, nothing_solved, capsys):
    err = _refused([command, with_variants, "--variant", "deer"], capsys)
    assert "--variant: deer: no variant 'deer'; did you mean 'dear'? the instance defines: dear, no-grid" in err


def test_unknown_variant_without_variants_says_none(nothing_solved, capsys):
    err = _refused(["solve", QUICK, "--variant", "dear"], capsys)
    assert "no variant 'dear'; the instance defines: none" in err


# ----------------------------------------------------------------------------- the library
def test_decisions_check_raises_for_python_callers():
    inst = optimizer.load_instance(QUICK)
    Decisions.parse(["site=rockdale-mine"], ["system=gb200-nvl72"]).check(inst)  # known ids: no error
    with pytest.raises(InstanceError) as exc:
        Decisions.parse(["site=rockdale"]).check(inst)
    assert exc.value.problems[0].where == "site=rockdale" and "did you mean 'rockdale-mine'" in str(exc.value)


def test_explain_and_sweep_check_at_entry(nothing_solved, tmp_path):
    inst = optimizer.load_instance(QUICK)
    with pytest.raises(InstanceError, match="did you mean 'rockdale-mine'"):
        explain(inst, forbid=["site=rockdale"])
    with pytest.raises(InstanceError, match="did you mean 'rockdale-mine'"):
        sweep(inst, {"sites[rockdale].grid_mw": [1, 2]}, executor="serial", out=tmp_path / "s")
    with pytest.raises(InstanceError, match="did you mean 'cuda'"):
        sweep(inst, {"horizon.discount_rate": [0.1]}, executor="serial", decisions=Decisions.parse(forbid=["family=cudaa"]))
    assert not (tmp_path / "s").exists()
    with pytest.raises(InstanceError, match="the instance defines: none"):
        apply_variants(inst, ["dear"])


def test_unknown_id_message():
    assert unknown_id("nope", ["a-1", "b-2"]) == "no record 'nope'; ids: a-1, b-2"
    assert unknown_id("a", ["a-1", "b-2"], "site") == "no site 'a'; did you mean 'a-1'? ids: a-1, b-2"
    many = unknown_id("x", [f"s{i}" for i in range(15)])
    assert many.endswith("s11, ... (3 more)")
