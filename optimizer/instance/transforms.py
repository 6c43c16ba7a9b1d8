"""Instances derived from an instance: one scenario alone, the mean scenario.

Each returns a new :class:`Instance` (inputs are never changed in place), validated
like any other; overrides (``--set``/``--variant``) live beside them in
:mod:`optimizer.instance.overrides`.
"""

from __future__ import annotations

from optimizer.instance.derive import prepare
from optimizer.instance.schema import Instance, Scenario

MEAN_SCENARIO = "mean"
"""Id of the one scenario of :func:`mean_scenario_instance`."""


def single_scenario(inst: Instance, scenario_id: str) -> Instance:
    """The instance with only one of its scenarios, at probability 1 (a 'forecast')."""
    if not inst.scenarios:
        return inst
    spec = next((w for w in inst.scenarios if w.id == scenario_id), None)
    if spec is None:
        raise KeyError(f"no scenario '{scenario_id}'")
    return inst.replace(scenarios=[spec.model_copy(update={"probability": 1.0}).model_dump()])


def most_probable_scenario(inst: Instance) -> Scenario | None:
    """The scenario with the highest probability; ties go to the first listed."""
    if not inst.scenarios:
        return None
    best = inst.scenarios[0]
    for w in inst.scenarios[1:]:
        if w.probability > best.probability + 1e-12:
            best = w
    return best


def mean_scenario_instance(inst: Instance) -> Instance:
    """The expected-value instance: one scenario ``mean`` (probability 1).

    - inference demand of every region and period, every job's compute, every site's
      electricity price and every system's price factor are the probability-weighted means
      over the scenarios (exact, since each is linear in its scenario's factors);
    - policies (export rules, subsidies, share targets) are those of the most probable
      scenario — rules cannot be averaged; ties go to the first listed scenario.

    An instance without scenarios is returned unchanged.
    """
    if not inst.scenarios:
        return inst
    prep = prepare(inst)
    periods = prep.periods
    probs = {w.id: w.probability for w in prep.scenarios}
    demand = {g.id: {p: sum(probs[w.id] * w.demand[g.id, p] for w in prep.scenarios) for p in periods}
              for g in inst.regions}
    price = {s.id: {p: sum(probs[w.id] * w.price_mwh[s.id, p] for w in prep.scenarios) for p in periods}
             for s in inst.sites}
    job_scale = {}
    for j in inst.training_jobs:
        f = sum(w.probability * w.training_scale * w.job_scale.get(j.id, 1.0) for w in inst.scenarios)
        job_scale[j.id] = f
    system_scale = {k.id: sum(w.probability * w.system_price_scale.get(k.id, 1.0) for w in inst.scenarios)
                    for k in inst.systems}
    top = most_probable_scenario(inst)
    assert top is not None  # inst.scenarios is not empty (checked above)
    spec = {
        "id": MEAN_SCENARIO,
        "probability": 1.0,
        "description": f"probability-weighted mean of {len(inst.scenarios)} scenarios; policies of '{top.id}'",
        "region_demand_pflops": demand,
        "job_scale": job_scale,
        "site_electricity_usd_per_mwh": price,
        "system_price_scale": system_scale,
        "policies": top.policies.model_dump() if top.policies is not None else None,
    }
    return inst.replace(scenarios=[spec])
