"""A corpus of infeasible instances (``tests/infeasible/``) with the expected diagnosis:
each exits 3 from ``dcplan solve`` and names, in input terms, the rule that has to give."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, micro, option, region, site, system

import optimizer
from optimizer.diagnose import diagnose

CORPUS = ROOT / "tests" / "infeasible"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_infeasible_instance_is_explained(name):
    inst = optimizer.load_instance(CORPUS / name)
    plan = optimizer.solve(inst)
    assert plan.status == "infeasible" and plan.objective is None
    diag = diagnose(inst)
    assert not diag.feasible and len(diag.findings) == 1
    for fragment in EXPECTED[name]:
        assert fragment in diag.findings[0], diag.findings[0]
        assert any(fragment in m for m in plan.messages)


def test_no_route_names_the_rule_that_removed_each_site():
    """A must-serve region in CN (10 ms) and five candidate sites, each removed by another rule:
    'a' (CN-west) by the gpu ban, a zero cuda cap and no supply in 2026; 'b' by its 24-month
    lead time as well; 'c' by residency; 'far' by latency; 'tiny' (0.5 MW) also by size.
    The npu serves no inference, so it is not a candidate."""
    d = micro(periods=("2026", "2027", "2028"),
              sites=[site("a", jur="CN-west", lon=0.1), site("b", "greenfield", lon=0.2, options=[option(lead=24)]),
                     site("c", jur="US", lon=0.1), site("far", lat=40, lon=40),
                     site("tiny", "convertible", lon=0.1, options=[option(max_mw=0.5, block=0.5)])],
              systems=[system("gpu", supply_units={"2026": 0, "2027": 5, "2028": 5}),
                       system("npu", origin="CN", family="cann", infer=0)],
              regions=[region("r", {"2026": 5, "2027": 0, "2028": 0}, must_serve=True, max_latency_ms=10,
                              allowed_jurisdictions=["CN"])],
              policies={"export_rules": [
                  {"id": "no-gpu", "system": "gpu", "jurisdiction": "CN-west", "action": "ban"},
                  {"family": "cuda", "jurisdiction": "CN", "action": "cap", "cap_units": 0, "periods": ["2026"]}]})
    inst = optimizer.instance_from_dict(d, "micro")
    plan = optimizer.solve(inst)
    assert plan.status == "infeasible"
    msg = next(m for m in plan.messages if "region 'r'" in m)
    zero = "export rule 'export_rules[1]' caps 'gpu' at 0 units in 2026 and 'gpu' has no supply in 2026"
    for fragment in ["region 'r' must be served 5 PFLOPS in 2026, but no site can host inference systems for it then",
                     f"'a': export rule 'no-gpu' bans 'gpu' in CN-west in 2026 and {zero}",
                     f"'b': no capacity in 2026 (earliest online: 2028) and {zero}",
                     "'c' (US) is outside the region's allowed jurisdictions (CN)",
                     "'far' is 60.1 ms away, beyond the 10 ms latency limit",
                     f"'tiny': {zero} and a 'gpu' unit (1000 kW IT) does not fit in its 0.5 MW IT"]:
        assert fragment in msg, msg
    finding = diagnose(inst).findings[0]
    assert f"'a': export rule 'no-gpu' bans 'gpu' in CN-west in 2026 and {zero}" in finding, finding


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "huge.yaml"
    with open(big, "wb") as f:
        f.truncate(60 * 1024 * 1024)
    with pytest.raises(optimizer.InstanceError, match="instances are limited to 50 MB"):
        optimizer.load_instance(big)


def test_yaml_is_data_only(tmp_path):
    """No object construction: a python tag is a syntax problem, not code that runs."""
    f = tmp_path / "evil.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(optimizer.InstanceError, match="malformed YAML"):
        optimizer.load_instance(f)
