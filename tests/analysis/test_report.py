"""Pictures and the HTML report: every figure renders for the examples, figures read result
tables only, result folders read back in every format, the report is self-contained, and
``dcplan report`` returns the documented exit codes."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is needed for plots and reports")

from conftest import ROOT, micro, region, site, system

import optimizer
from optimizer.analysis import figures
from optimizer.analysis.report import report_html, write_report
from optimizer.results.format import money_short, money_unit
from optimizer.results.read import load_tables, read_plan, result_format

EXAMPLES = ["quickstart", "china-2026", "us-power-crunch", "global-hybrid"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """Each example solved once (1 % gap keeps this fast) and written to a result folder."""
    base = tmp_path_factory.mktemp("results")
    out = {}
    for name in EXAMPLES:
        path = ROOT / "instances" / f"{name}.yaml"
        if not path.exists():
            continue
        plan = optimizer.solve(path, optimizer.SolveOptions(mip_gap=0.01))
        assert plan.has_solution, (name, plan.messages)
        folder = optimizer.write_plan(plan, base / name)
        out[name] = (plan, folder, path)
    return out


def _external_refs(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)[^"'\s>]*""", text, flags=re.IGNORECASE)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_figure_renders_a_png(solved, name):
    if name not in solved:
        pytest.skip(f"instances/{name}.yaml not present")
    plan = solved[name][0]
    figs = figures.all_figures(plan)
    expected = {"map", "capacity", "system_mix", "costs", "power", "idle"}
    assert expected <= set(figs)
    if plan.instance.scenarios:
        assert "system_mix_by_scenario" in figs
    for key, fig in figs.items():
        png = figures.figure_png(fig)
        assert png.startswith(PNG) and len(png) > 10_000, key


def test_functions_take_plan_tables_or_folder_and_save(solved, tmp_path):
    plan, folder, _ = solved["quickstart"]
    inst = plan.instance
    for src, kw in ((plan, {}), (plan.tables, {"inst": inst}), (folder, {"inst": inst}), (str(folder), {"inst": inst})):
        fig = figures.capacity_by_site(src, **kw, path=tmp_path / "cap.png")
        assert fig.axes and (tmp_path / "cap.png").read_bytes().startswith(PNG)
    paths = figures.save_all(folder, inst, tmp_path / "png")  # from the result folder's CSVs
    assert {p.stem for p in paths} == set(figures.PLOTS)
    for p in paths:
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 10_000
    with pytest.raises(ValueError, match="instance is needed"):
        figures.cost_breakdown(plan.tables)
    with pytest.raises(ValueError, match="unknown scenario"):
        figures.site_map(plan, scenario="nope")
    with pytest.raises(ValueError, match="unknown period"):
        figures.site_map(plan, period="1999")


def test_tables_read_back_keep_ids_as_text(solved):
    plan, folder, _ = solved["global-hybrid"] if "global-hybrid" in solved else solved["quickstart"]
    back = load_tables(folder)
    for name, df in plan.tables.items():
        assert list(back[name].columns) == list(df.columns), name
    fl = back["fleet"]
    assert fl["period"].map(type).eq(str).all() and fl["domestic"].map(type).eq(bool).all()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_read_plan_reads_every_format(solved, tmp_path, fmt):
    name = "global-hybrid" if "global-hybrid" in solved else "quickstart"
    plan = solved[name][0]
    folder = optimizer.write_plan(plan, tmp_path / fmt, fmt=fmt)
    assert result_format(folder) == fmt
    tables, summary = read_plan(folder)
    assert summary["status"] == plan.status
    for t, df in plan.tables.items():
        back = tables[t]
        assert list(back.columns) == list(df.columns) and len(back) == len(df), (fmt, t)
        for c in df.columns:
            a, b = df[c].tolist(), back[c].tolist()
            if df[c].dtype.kind in "fi":
                assert back[c].dtype.kind in "fi", (fmt, t, c)
                assert back[c].to_numpy(dtype=float) == pytest.approx(df[c].to_numpy(dtype=float), nan_ok=True), (fmt, t, c)
            else:
                assert [None if x != x else x for x in a] == [None if x != x else x for x in b], (fmt, t, c)
    # the figures and the report take any of these folders
    assert figures.figure_png(figures.capacity_by_site(folder, plan.instance)).startswith(PNG)


def test_figures_read_result_tables_only():
    """No figure module imports the model or the instance derivation: figures read tables."""
    for f in sorted((ROOT / "optimizer" / "analysis" / "figures").glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for m in mods:
                assert not m.startswith(("optimizer.model", "optimizer.instance.derive")), (f.name, m)
                assert not (isinstance(node, ast.ImportFrom) and node.level), (f.name, "relative import")


def test_grid_connection_comes_from_site_power(solved):
    from optimizer.instance.derive import prepare

    plan = solved["us-power-crunch"][0] if "us-power-crunch" in solved else solved["quickstart"][0]
    grid = figures.grid_mw(plan.tables)
    assert grid
    want = prepare(plan.instance).grid_mw
    for key, g in grid.items():
        assert g == pytest.approx(want[key])


def test_money_formatters():
    assert money_short(1.234e9) == "$1.23 bn" and money_short(-45.6e6) == "-$45.6 M"
    assert money_short(780e3, "EUR") == "EUR 780 k" and money_short(950) == "$950" and money_short(None) == "n/a"
    assert money_unit(5e9) == (1e9, "$bn") and money_unit(3e6, "EUR") == (1e6, "EUR M") and money_unit(10) == (1.0, "$")


def test_scenario_views(solved):
    if "global-hybrid" not in solved:
        pytest.skip("instances/global-hybrid.yaml not present")
    plan = solved["global-hybrid"][0]
    probs = figures.probabilities(plan.tables, plan.instance)
    assert abs(sum(probs.values()) - 1) < 1e-9 and len(probs) == 3
    for w in probs:
        assert figures.figure_png(figures.cost_breakdown(plan, scenario=w)).startswith(PNG)
    fig = figures.system_mix(plan, facet="scenario")
    assert len([a for a in fig.axes if a.get_visible() and a.has_data()]) == 3
    # expected values are the probability-weighted sum of the scenarios
    e = figures.expected(plan.tables["costs"], ["category"], ["discounted_usd"], probs)["discounted_usd"].sum()
    assert e == pytest.approx(plan.expected_cost, rel=1e-6)


@pytest.mark.parametrize("name", ["quickstart", "global-hybrid"])
def test_report_is_self_contained(solved, name, tmp_path):
    if name not in solved:
        pytest.skip(f"instances/{name}.yaml not present")
    plan, folder, _ = solved[name]
    path = write_report(plan, path=tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text
    assert not _external_refs(text), _external_refs(text)[:3]
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert len(imgs) >= 6 and all(s.startswith("data:image/png;base64,") for s in imgs)
    for sec in ("Headline", "Sites built or converted", "Fleet", "Training placement", "Inference routing", "Costs", "Policy"):
        assert f">{sec}</h2>" in text, sec
    assert plan.status in text
    # the same report from the result folder (summary.json supplies status and objective)
    text2 = report_html(folder, plan.instance)
    assert plan.status in text2 and not _external_refs(text2)


def test_report_of_an_infeasible_plan(tmp_path):
    data = micro(sites=[site("s1", it_mw=1.0, grid=1.0)], systems=[system("gpu", kw=1000.0, infer=1.0)],
                 regions=[region("r1", 100.0, must_serve=True)])
    inst = optimizer.instance_from_dict(data, "micro")
    plan = optimizer.solve(inst, optimizer.SolveOptions(diagnose_time_limit=10))
    assert not plan.has_solution
    text = write_report(plan, path=tmp_path / "bad.html").read_text()
    assert "No plan" in text and plan.status in text and "<img" not in text
    for fn in figures.PLOTS.values():  # empty tables give a "nothing to show" figure, not an error
        assert figures.figure_png(fn(plan)).startswith(PNG)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True, text=True, cwd=ROOT, check=False,
                          timeout=300, stdin=subprocess.DEVNULL)


def test_cli_report_end_to_end(solved, tmp_path):
    """One real run of the command in a fresh interpreter."""
    _, folder, inst_path = solved["quickstart"]
    r = _cli("report", str(folder), "--instance", str(inst_path), "--png", str(tmp_path / "png"))
    assert r.returncode == 0, r.stderr
    text = (folder / "report.html").read_text()
    assert not _external_refs(text) and "data:image/png;base64," in text
    assert len(list((tmp_path / "png").glob("*.png"))) >= 6


def test_cli_report_exit_codes(solved, tmp_path, capsys):
    import shutil

    from optimizer.cli import main

    _, src, inst_path = solved["quickstart"]
    folder = tmp_path / "qs"
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("report.html"))
    # no instance given and summary.json does not name one -> 2
    assert main(["report", str(folder)]) == 2
    assert "--instance" in capsys.readouterr().err
    assert main(["report", str(folder), "--instance", str(inst_path)]) == 0
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    # an existing report is not replaced without --overwrite (exit 5), and is with it
    assert main(["report", str(folder), "--instance", str(inst_path)]) == 5
    assert "--overwrite" in capsys.readouterr().err
    out = tmp_path / "q.html"
    out.write_text("old")
    assert main(["report", str(folder), "--instance", str(inst_path), "--out", str(out), "--overwrite"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    # missing folder, a folder without summary.json, a missing instance file -> 2
    assert main(["report", str(tmp_path / "nope"), "--instance", str(inst_path)]) == 2
    assert main(["report", str(tmp_path), "--instance", str(inst_path)]) == 2
    assert main(["report", str(folder), "--instance", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "x.html")]) == 2
    capsys.readouterr()
    # an instance that does not match the tables -> 2
    other = ROOT / "instances" / "china-2026.yaml"
    if other.exists():
        assert main(["report", str(folder), "--instance", str(other), "--out", str(tmp_path / "y.html")]) == 2
        assert "does not match" in capsys.readouterr().err
    # a bad --set is an input error, reported without a traceback
    assert main(["report", str(folder), "--instance", str(inst_path), "--out", str(tmp_path / "z.html"),
                 "--set", "nosuch=1"]) == 2
    assert not (tmp_path / "z.html").exists()


def test_cli_report_finds_instance_named_in_summary(solved, tmp_path):
    import shutil

    _, folder, inst_path = solved["quickstart"]
    copy = tmp_path / "qs"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("report.html"))
    summary = json.loads((copy / "summary.json").read_text())
    summary["instance_file"] = str(inst_path)
    (copy / "summary.json").write_text(json.dumps(summary))
    from optimizer.cli import main

    assert main(["report", str(copy)]) == 0
    assert (copy / "report.html").exists()
    summary["instance_file"] = "missing.yaml"
    (copy / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(copy), "--out", str(tmp_path / "r2.html")]) == 2
