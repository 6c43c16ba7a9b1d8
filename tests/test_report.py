"""Pictures and the HTML report: every figure renders for the examples, the report is
self-contained, and ``dcplan report`` returns the documented exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is needed for plots and reports")

from conftest import ROOT, micro, region, site, system

import optimizer
from optimizer.analysis import plots
from optimizer.analysis.report import report_html, write_report

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
        plan = optimizer.solve(path, mip_gap=0.01)
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
    figs = plots.all_figures(plan)
    expected = {"map", "capacity", "system_mix", "costs", "power", "idle"}
    assert expected <= set(figs)
    if plan.instance.scenarios:
        assert "system_mix_by_scenario" in figs
    for key, fig in figs.items():
        png = plots.figure_png(fig)
        assert png.startswith(PNG) and len(png) > 10_000, key


def test_functions_take_plan_tables_or_folder_and_save(solved, tmp_path):
    plan, folder, _ = solved["quickstart"]
    inst = plan.instance
    for src, kw in ((plan, {}), (plan.tables, {"inst": inst}), (folder, {"inst": inst}), (str(folder), {"inst": inst})):
        fig = plots.capacity_by_site(src, **kw, path=tmp_path / "cap.png")
        assert fig.axes and (tmp_path / "cap.png").read_bytes().startswith(PNG)
    paths = plots.save_all(folder, inst, tmp_path / "png")  # from the result folder's CSVs
    assert {p.stem for p in paths} == set(plots.PLOTS)
    for p in paths:
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 10_000
    with pytest.raises(ValueError, match="instance is needed"):
        plots.cost_breakdown(plan.tables)
    with pytest.raises(ValueError, match="unknown scenario"):
        plots.site_map(plan, scenario="nope")
    with pytest.raises(ValueError, match="unknown period"):
        plots.site_map(plan, period="1999")


def test_tables_read_back_keep_ids_as_text(solved):
    plan, folder, _ = solved["global-hybrid"] if "global-hybrid" in solved else solved["quickstart"]
    back = plots.load_tables(folder)
    for name, df in plan.tables.items():
        assert list(back[name].columns) == list(df.columns), name
    fl = back["fleet"]
    assert fl["period"].map(type).eq(str).all() and fl["domestic"].map(type).eq(bool).all()


def test_scenario_views(solved):
    if "global-hybrid" not in solved:
        pytest.skip("instances/global-hybrid.yaml not present")
    plan = solved["global-hybrid"][0]
    probs = plots.probabilities(plan.tables, plan.instance)
    assert abs(sum(probs.values()) - 1) < 1e-9 and len(probs) == 3
    for w in probs:
        assert plots.figure_png(plots.cost_breakdown(plan, scenario=w)).startswith(PNG)
    fig = plots.system_mix(plan, facet="scenario")
    assert len([a for a in fig.axes if a.get_visible() and a.has_data()]) == 3
    # expected values are the probability-weighted sum of the scenarios
    e = plots.expected(plan.tables["costs"], ["category"], ["discounted_usd"], probs)["discounted_usd"].sum()
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
    plan = optimizer.solve(inst, diagnose_time_limit=10)
    assert not plan.has_solution
    text = write_report(plan, path=tmp_path / "bad.html").read_text()
    assert "No plan" in text and plan.status in text and "<img" not in text
    for fn in plots.PLOTS.values():  # empty tables give a "nothing to show" figure, not an error
        assert plots.figure_png(fn(plan)).startswith(PNG)


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
    # an existing report is not replaced without --force (exit 5), and is with it
    assert main(["report", str(folder), "--instance", str(inst_path)]) == 5
    assert "--force" in capsys.readouterr().err
    out = tmp_path / "q.html"
    out.write_text("old")
    assert main(["report", str(folder), "--instance", str(inst_path), "--out", str(out), "--force"]) == 0
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
