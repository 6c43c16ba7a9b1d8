"""Scenario generation: from one base instance, a set of weighted scenarios.

Two generators, both returning a new :class:`~optimizer.instance.schema.Instance` whose
``scenarios`` replace any the base had:

- :func:`scenario_product` — the product of *demand paths* (``low=0.2:0.3`` = inference
  demand x0.2 with probability 0.3) and *policy regimes* (named rule sets such as "H20
  allowed", "H20 banned", "H20 boycotted", each a ``PoliciesOverride`` with a
  probability). Scenario ``low-h20-banned`` has probability p(low) x p(h20-banned):
  demand and policy are taken as independent.
- :func:`sample_scenarios` — Monte Carlo: N scenarios of equal probability 1/N, each
  region's demand multiplied by a lognormal factor of mean 1 (seeded, repeatable),
  optionally times a factor common to all regions; a regime is drawn per sample.

A demand factor scales the whole demand path (``demand_scale``) or, with
``growth=True``, only the growth beyond the first period: ``d'_p = d_1 + f (d_p - d_1)``
(floored at 0), for when today's demand is known and only its growth is uncertain.
``with_training=True`` scales every training job's compute by the same factor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from optimizer.instance.derive import per_period
from optimizer.instance.errors import InstanceError, Problem
from optimizer.instance.io import output_format
from optimizer.instance.io import write_instance as write_any_instance
from optimizer.instance.io.limits import safe_yaml_load
from optimizer.instance.load import instance_from_dict
from optimizer.instance.schema import Instance

log = logging.getLogger(__name__)

PROB_TOL = 1e-6
DEMAND_FIELDS = ("demand_scale", "region_demand_scale", "region_demand_pflops")
"""Scenario fields owned by the demand paths; a regime may set any other scenario field."""


@dataclass(frozen=True)
class DemandPath:
    """A demand factor with its probability."""

    id: str
    factor: float
    probability: float

    @staticmethod
    def parse_list(text: str) -> list[DemandPath]:
        """``low=0.2:0.3,base=1:0.5,high=3:0.2`` -> paths (NAME=FACTOR:PROBABILITY)."""
        out = []
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            name, sep, rest = item.partition("=")
            f, sep2, p = rest.partition(":")
            try:
                if not (sep and sep2 and name.strip()):
                    raise ValueError
                out.append(DemandPath(name.strip(), float(f), float(p)))
            except ValueError:
                raise ValueError(f"'{item}': expected NAME=FACTOR:PROBABILITY, e.g. low=0.2:0.3") from None
        if not out:
            raise ValueError("no demand paths given; expected e.g. low=0.2:0.3,base=1:0.5,high=3:0.2")
        return out


@dataclass(frozen=True)
class Regime:
    """A named policy regime: a probability and scenario fields (usually ``policies``)."""

    id: str
    probability: float
    description: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def regimes_from_data(data: Any, source: str = "regimes") -> list[Regime]:
    """Regimes from a list ``[{id, probability, description?, policies?, ...}]`` or a mapping
    ``{id: {probability, ...}}``, optionally under a top-level ``regimes`` key.

    ``policies`` is a ``PoliciesOverride`` (each given list replaces the base's); other
    scenario fields (``training_scale``, ``electricity_price_scale``, ``system_price_scale``,
    ...) may be set too, except the demand fields the demand paths own. The fields are
    validated with the generated instance, so a bad rule is reported at its scenario path.
    """
    if isinstance(data, dict) and "regimes" in data:
        data = data["regimes"]
    if isinstance(data, dict):
        data = [{"id": k, **(v or {})} for k, v in data.items()]
    if not isinstance(data, list) or not data:
        raise InstanceError([Problem(source, "regimes", "expected a non-empty list of regimes or a mapping {id: regime}")])
    out, problems = [], []
    for i, r in enumerate(data):
        where = f"regimes[{i}]"
        if not isinstance(r, dict) or "id" not in r or "probability" not in r:
            problems.append(Problem(source, where, "each regime needs an id and a probability"))
            continue
        rest = {k: v for k, v in r.items() if k not in ("id", "probability", "description")}
        owned = [k for k in rest if k in DEMAND_FIELDS]
        if owned:
            problems.append(Problem(source, f"{where} '{r['id']}'",
                                    f"sets {', '.join(owned)}: demand belongs to the demand paths"))
            continue
        out.append(Regime(str(r["id"]), float(r["probability"]), r.get("description"), rest))
    if problems:
        raise InstanceError(problems)
    return out


def load_regimes(path: str | Path) -> list[Regime]:
    """Regimes from a YAML or JSON file (see :func:`regimes_from_data`)."""
    p = Path(path)
    try:
        data = safe_yaml_load(p.read_text(), str(p))  # libyaml's C parser, aliases bounded
    except (OSError, yaml.YAMLError) as exc:
        raise InstanceError([Problem(str(p), "-", f"cannot read regimes: {exc}")]) from None
    return regimes_from_data(data, str(p))


def _check_probabilities(items: Sequence[DemandPath] | Sequence[Regime], what: str) -> None:
    """Raise ``ValueError`` unless the probabilities are in (0, 1], sum to 1 and the ids are unique."""
    bad = [x.id for x in items if not (0 < x.probability <= 1)]
    if bad:
        raise ValueError(f"{what} {', '.join(bad)}: probabilities must be in (0, 1]")
    total = sum(x.probability for x in items)
    if abs(total - 1.0) > PROB_TOL:
        raise ValueError(f"{what} probabilities sum to {total:.6g}, not 1")
    ids = [x.id for x in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} names must be unique: {', '.join(ids)}")


def _growth_demand(base: Instance, factors: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per region: first-period demand plus factor x the growth beyond it, floored at 0."""
    periods = [p.id for p in base.horizon.periods]
    out = {}
    for g in base.regions:
        d = per_period(g.demand_pflops, periods)
        d0 = d[periods[0]]
        f = factors[g.id]
        out[g.id] = {p: max(0.0, round(d0 + f * (d[p] - d0), 6)) for p in periods}
    return out


def _demand_fields(base: Instance, factors: dict[str, float], common: float, growth: bool) -> dict[str, Any]:
    """Scenario fields for per-region factors (and one common factor)."""
    if growth:
        return {"region_demand_pflops": _growth_demand(base, {g: common * f for g, f in factors.items()})}
    fields: dict[str, Any] = {"demand_scale": common}
    per_region = {g: f for g, f in factors.items() if f != 1.0}
    if per_region:
        fields["region_demand_scale"] = per_region
    return fields


def _with_scenarios(base: Instance, scenarios: list[dict[str, Any]], source: str) -> Instance:
    if base.scenarios:
        log.warning("base instance '%s' has %d scenarios; they are replaced", base.name, len(base.scenarios))
    data = base.model_dump()
    data["scenarios"] = scenarios
    return instance_from_dict(data, source)


def scenario_product(base: Instance, demand: list[DemandPath] | None = None, regimes: list[Regime] | None = None, *,
                     growth: bool = False, with_training: bool = False) -> Instance:
    """The product of demand paths and policy regimes as the base's scenarios.

    Scenario ids: ``{path}-{regime}`` (or just one of them when the other list is empty);
    probabilities multiply. Raises ``ValueError`` when a list's probabilities do not sum to 1.
    """
    if not demand and not regimes:
        raise ValueError("give demand paths, regimes or both")
    if demand:
        _check_probabilities(demand, "demand path")
    if regimes:
        _check_probabilities(regimes, "regime")
    paths: list[DemandPath | None] = [*demand] if demand else [None]
    regs: list[Regime | None] = [*regimes] if regimes else [None]
    scenarios = []
    for d in paths:
        for r in regs:
            sid = "-".join(x.id for x in (d, r) if x is not None)
            prob = round((d.probability if d else 1.0) * (r.probability if r else 1.0), 12)  # 0.14, not 0.13999999999999999
            spec: dict[str, Any] = {"id": sid, "probability": prob}
            text = []
            if d is not None:
                spec.update(_demand_fields(base, {g.id: 1.0 for g in base.regions}, d.factor, growth))
                if with_training:
                    spec["training_scale"] = d.factor
                text.append(f"demand {d.id} (x{d.factor:g}{' growth' if growth else ''}, p {d.probability:g})")
            if r is not None:
                spec.update(r.fields)
                text.append(f"regime {r.id} (p {r.probability:g})" + (f": {r.description}" if r.description else ""))
            spec["description"] = "; ".join(text)
            scenarios.append(spec)
    return _with_scenarios(base, scenarios, f"scenario product on '{base.name}'")


def sample_scenarios(base: Instance, n: int, *, seed: int = 0, sigma: float = 0.5, common_sigma: float = 0.0,
                     regimes: list[Regime] | None = None, growth: bool = False) -> Instance:
    """N Monte-Carlo scenarios of probability 1/N.

    Region ``g`` in sample ``i`` gets demand factor ``C_i * F_ig`` with
    ``ln F_ig ~ Normal(-sigma^2/2, sigma)`` independent per region and
    ``ln C_i ~ Normal(-common_sigma^2/2, common_sigma)`` shared by all regions — both have
    mean 1, so the expected demand is the base demand. With ``regimes`` each sample draws
    one regime by its probability. The same ``seed`` gives the same scenarios.
    """
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    if sigma < 0 or common_sigma < 0:
        raise ValueError("sigma and common_sigma must be >= 0")
    if regimes:
        _check_probabilities(regimes, "regime")
    rng = np.random.default_rng(seed)
    width = max(3, len(str(n)))
    scenarios = []
    for i in range(n):
        c = float(np.exp(rng.normal(-common_sigma ** 2 / 2, common_sigma))) if common_sigma > 0 else 1.0
        factors = {g.id: round(float(np.exp(rng.normal(-sigma ** 2 / 2, sigma))) if sigma > 0 else 1.0, 6) for g in base.regions}
        spec: dict[str, Any] = {"id": f"s{i + 1:0{width}d}", "probability": 1.0 / n}
        spec.update(_demand_fields(base, factors, round(c, 6), growth))
        common = f", common sigma {common_sigma:g}" if common_sigma else ""
        text = [f"sample {i + 1} of {n} (seed {seed}, sigma {sigma:g}{common})"]
        if regimes:
            weights = np.array([x.probability for x in regimes]) / sum(x.probability for x in regimes)
            r = regimes[int(rng.choice(len(regimes), p=weights))]
            spec.update(r.fields)
            text.append(f"regime {r.id}")
        spec["description"] = "; ".join(text)
        scenarios.append(spec)
    return _with_scenarios(base, scenarios, f"{n} samples on '{base.name}'")


# ----------------------------------------------------------------------------- writing
def write_instance(inst: Instance, path: str | Path, *, overwrite: bool = False, header: str | None = None) -> Path:
    """Write the instance in the format its suffix names (``.yaml``/``.yml``, ``.json`` or
    ``.xlsx``, :func:`optimizer.instance.io.write_instance`; readable by ``load_instance``),
    YAML after ``header`` as comment lines (the other formats have no comments). Another suffix
    raises ``ValueError`` before anything is written; an existing file is replaced only with
    ``overwrite`` (else :class:`~optimizer.files.OutputExistsError`)."""
    path = Path(path)
    fmt = instance_file_format(path)
    return write_any_instance(inst, path, fmt, header or "", overwrite=overwrite)


def instance_file_format(path: str | Path) -> str:
    """Format of a generated instance file by its suffix: ``yaml``, ``json`` or ``xlsx``
    (``ValueError`` naming the file for any other suffix, a CSV folder included)."""
    path = Path(path)
    try:
        fmt = output_format(path) if path.suffix else "csv"
    except ValueError:
        fmt = "csv"
    if fmt == "csv":
        raise ValueError(f"cannot write an instance file to '{path}': name it .yaml, .yml, .json or .xlsx")
    return fmt


def scenario_table(inst: Instance) -> list[tuple[str, float, str]]:
    """(id, probability, description) of every scenario, for printing."""
    return [(w.id, w.probability, w.description or "") for w in inst.scenarios]


__all__ = [
    "DemandPath",
    "Regime",
    "instance_file_format",
    "load_regimes",
    "regimes_from_data",
    "sample_scenarios",
    "scenario_product",
    "scenario_table",
    "write_instance",
]
