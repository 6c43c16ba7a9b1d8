"""Synthetic dcplan instances with every feature on, sized S / M / L / XL, deterministic for a seed.

::

    python -m benchmarks.synth --size L --seed 1 out/synth-L.yaml      # or .json

What is in every instance (figures from ``/work/shared/reference/domain_data.md``, section
numbers in brackets; "L" marks our own modelling assumptions):

* **sites** spread around real hubs — Texas, Washington, Ohio, New York; China east (Shanghai,
  Beijing, Shenzhen, Wuhu, Zhangjiakou) and west (Gui'an, Horinger, Qingyang, Zhongwei); Norway;
  Malaysia (Johor); Ethiopia; Bhutan — of three kinds:
  *existing* halls (10–60 MW running, PUE 1.3–1.5, installed H100/Ascend units, some retiring,
  optional expansion), *convertible* mining farms (grid 50–570 MW in place [6], retrofit in
  12 months at 70–90 % of greenfield capex, PUE 1.2, N+1; some also offer a liquid-cooled 2N
  conversion taking 18–24 months) and *greenfield* sites (grid only from a later period
  [4.2], lead 18–36 months, $9.3–15 M/MW [4.1], PUE 1.1–1.15 [4.3]);
* **systems** from the catalogue in [7] (GB200 NVL72, HGX H100, Atlas 800T A2, CloudMatrix 384,
  HGX H200, H20 8-GPU, DGX B200): price, kW all-in, dense PFLOPS; servers divisible, racks
  integer; prices falling over time; supply limits on racks;
* **export rules** that change over periods [2.1]: B200/GB200/H100 banned to China; H200 banned
  in the first period, then licensed with a 25 % fee and a per-period cap; H20 with a 15 % fee,
  banned in the second period (Beijing pushback), then licensed again; Ascend (family ``cann``)
  banned in the US and Malaysia (GP10); GB200 to Malaysia banned in the first period, then
  capped (STA permits [2.2]);
* **energy subsidies** of both kinds [3.1]: 50 % for domestic systems in China west;
  30 % for whole sites in China east whose installed compute is ≥ 50 % domestic (from the
  second period; illustrative level, L); a capex subsidy in China west (illustrative, L);
* **share targets**: China ≥ 50 % domestic compute (hard) from the third period, ≥ 70 % (soft,
  penalised) in the last period [3.1];
* **training jobs** of 1,000–20,000 effective PFLOPS lasting 1–2 periods [5.1], some restricted
  to China (half of them Ascend only), the US (CUDA only) or Norway, a few must be placed,
  placement costs at remote sites;
* **inference regions** (cities) with demand growing ×1.8 a year [5.2], latency limits of
  20–40 ms round trip (10 ms per 1,000 km, route factor 1.3 [4.5]), data residency (China,
  Malaysia/Singapore, Norway), unserved penalty $60–80 k per PFLOPS-year (lost revenue: between
  ~3.5× cloud rental, $17.5 k per H100-year, and DeepSeek's theoretical ~$110 k [1.3, 5.3]; L);
  a few batch regions without latency limit;
* **horizon** of one-year periods from 2026, 8 % discount rate, assets still in service at the
  end credited straight-line (systems 5 years, buildings 20 years), so the last period is not
  penalised for building;
* **3 scenarios**: base (p 0.5), high demand (p 0.3: demand ×1.5, training ×1.3, electricity
  ×1.1) and export whiplash (p 0.2: H200 and H20 banned to China in every period, demand ×0.9).

* **time to power** (all families, the default; ``--families core`` leaves them out, for before/after
  comparisons; drawn from a second random stream, so the core of an instance is the same either way):
  build options in 2–3 phases at ~80 % of convertible and greenfield sites; a flexible
  (curtailable) grid connection at ~20 % of greenfield sites, curtailed 0.25/0.5/1 % of the hours,
  available from the first period, before the firm grid arrives; on-site gas at ~15 % of sites
  (~$1.5 M/MW, 12 months, heat rate 8.5–10 MMBtu/MWh, gas $3–4/MMBtu, permit cap 30–60 % of the
  site's grid, 0.40–0.45 tCO2/MWh; L); batteries at ~5 % (4 h, firming); PPAs signed at ~30 % of
  convertible sites and offered (optional) at ~10 % of sites, take-or-pay 50–90 %; ~10 % of the
  training jobs need firm power (do not tolerate curtailment); grid emission factors by
  jurisdiction and one carbon price (Washington, cap-and-invest, ~$60/t; L).

Sizes (sites / systems / regions / jobs / periods): S 10/4/8/6/3, M 50/5/30/20/4,
L 200/6/100/60/5, XL 1000/7/300/150/6. Demand is scaled to ~35 % of the buildable IT capacity
in the last period, so there are real choices to make.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from .common import write_instance


@dataclass(frozen=True)
class Size:
    sites: int
    systems: int
    regions: int
    jobs: int
    periods: int


SIZES = {
    "S": Size(10, 4, 8, 6, 3),
    "M": Size(50, 5, 30, 20, 4),
    "L": Size(200, 6, 100, 60, 5),
    "XL": Size(1000, 7, 300, 150, 6),
}
FIRST_YEAR = 2026

# id, vendor, origin, family, kW all-in, train PF (dense BF16), inference PF, price USD, divisible  [domain_data 1.2, 7]
SYSTEMS = [
    ("gb200-nvl72", "Nvidia", "US", "cuda", 145.0, 180.0, 180.0, 3.0e6, False),
    ("hgx-h100", "Nvidia", "US", "cuda", 10.2, 7.9, 7.9, 3.1e5, True),
    ("atlas-800t-a2", "Huawei", "CN", "cann", 5.5, 2.6, 2.0, 1.5e5, True),
    ("cloudmatrix-384", "Huawei", "CN", "cann", 559.0, 300.0, 228.0, 8.2e6, False),
    ("hgx-h200", "Nvidia", "US", "cuda", 10.2, 7.9, 11.0, 3.3e5, True),  # inference ~1.4x H100 [1.3]
    ("h20-8", "Nvidia", "US", "cuda", 5.5, 1.18, 5.5, 1.7e5, True),  # bandwidth-bound decode [1.3]
    ("dgx-b200", "Nvidia", "US", "cuda", 14.3, 18.0, 18.0, 5.0e5, True),
]
PRICE_TREND = {"hgx-h100": 0.85, "hgx-h200": 0.9, "h20-8": 0.85, "atlas-800t-a2": 0.9}  # per year; others flat

# hub: jurisdiction, lat, lon, electricity USD/MWh [3.3], city weight for regions (0: no city)
HUBS = {
    "rockdale-tx": ("US-TX", 30.65, -97.0, 66.0, 0),
    "abilene-tx": ("US-TX", 32.45, -99.73, 62.0, 0),
    "dallas": ("US-TX", 32.78, -96.8, 66.0, 3),
    "wenatchee-wa": ("US-WA", 47.42, -120.31, 63.5, 0),
    "seattle": ("US-WA", 47.6, -122.33, 64.0, 2),
    "clarington-oh": ("US-OH", 39.77, -80.87, 70.3, 0),
    "columbus": ("US-OH", 39.96, -83.0, 72.0, 2),
    "massena-ny": ("US-NY", 44.93, -74.89, 68.7, 0),
    "new-york": ("US-NY", 40.71, -74.0, 89.0, 4),
    "shanghai": ("CN-east", 31.23, 121.47, 95.0, 4),
    "beijing": ("CN-east", 39.9, 116.4, 92.0, 4),
    "shenzhen": ("CN-east", 22.54, 114.06, 100.0, 3),
    "wuhu": ("CN-east", 31.35, 118.43, 88.0, 1),
    "zhangjiakou": ("CN-east", 40.77, 114.88, 85.0, 0),
    "guian": ("CN-west", 26.4, 106.6, 60.0, 0),
    "horinger": ("CN-west", 40.38, 111.82, 55.0, 0),
    "qingyang": ("CN-west", 35.7, 107.6, 58.0, 0),
    "zhongwei": ("CN-west", 37.5, 105.2, 57.0, 0),
    "tydal-no": ("NO", 63.05, 11.65, 50.0, 0),
    "oslo": ("NO", 59.91, 10.75, 60.0, 1),
    "johor-my": ("MY", 1.49, 103.74, 103.0, 1),
    "kuala-lumpur": ("MY", 3.14, 101.69, 105.0, 1),
    "singapore": ("SG", 1.35, 103.82, 0.0, 2),  # demand only
    "addis-et": ("ET", 9.03, 38.74, 36.0, 0),
    "gedu-bt": ("BT", 26.92, 89.52, 40.0, 0),
}
SITE_HUBS = [h for h in HUBS if h not in ("singapore", "new-york")]
FIRST_SITES = [("guian", "existing"), ("wuhu", "convertible"), ("rockdale-tx", "convertible"), ("johor-my", "existing"),
               ("tydal-no", "convertible"), ("abilene-tx", "greenfield"), ("zhangjiakou", "greenfield"),
               ("clarington-oh", "existing"), ("addis-et", "convertible"), ("horinger", "greenfield")]
"""Hubs and kinds of the first ten sites, so that even S has every jurisdiction a policy refers to and
the must-serve cities (Shanghai, Dallas, Singapore) can be reached from the second period on."""
JURISDICTIONS = [
    ("US", None, "United States"), ("US-TX", "US", "Texas"), ("US-WA", "US", "Washington"), ("US-OH", "US", "Ohio"),
    ("US-NY", "US", "New York"), ("CN", None, "China"), ("CN-east", "CN", "China east"), ("CN-west", "CN", "China west"),
    ("NO", None, "Norway"), ("MY", None, "Malaysia"), ("SG", None, "Singapore"), ("ET", None, "Ethiopia"),
    ("BT", None, "Bhutan"),
]
RESIDENCY = {"CN-east": ["CN"], "CN-west": ["CN"], "MY": ["MY"], "SG": ["SG", "MY"], "NO": ["NO"]}
PF_PER_MW = 900.0
"""Mixed-fleet PFLOPS per MW of IT used only to scale demand to capacity (GB200 1,240, H100 775, CM384 540)."""


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


FAMILIES = ("all", "core")
"""``all``: every time-to-power family on (the default); ``core``: the instances as generated before them."""
GRID_CO2 = {"US-TX": 0.37, "US-WA": 0.08, "US-OH": 0.5, "US-NY": 0.2, "CN-east": 0.58, "CN-west": 0.55, "NO": 0.02,
            "MY": 0.6, "ET": 0.03, "BT": 0.02}
"""Grid emissions in tCO2/MWh (round averages by grid mix; L)."""
CARBON_PRICE = {"id": "wa-cap-and-invest", "jurisdiction": "US-WA", "price_usd_per_t": 60.0}
"""One carbon price (Washington's cap-and-invest allowances traded around $50-60/t; L)."""


def generate(size: str, seed: int, families: str = "all") -> dict:
    """A synthetic instance (plain dict) of the given size; the same seed gives the same instance.

    ``families="core"`` leaves out the time-to-power families (phases, flexible grid, on-site
    generation, batteries, PPAs, firm-power jobs, emissions); they come from a second random
    stream, so the rest of the instance is the same with and without them.
    """
    if families not in FAMILIES:
        raise ValueError(f"families must be one of {FAMILIES}, not {families!r}")
    sz = SIZES[size]
    rng = np.random.default_rng(seed)
    periods = [str(FIRST_YEAR + i) for i in range(sz.periods)]
    P = len(periods)
    horizon_months = 12 * (P - 1)
    systems = _systems(sz, periods)
    sys_ids = [k["id"] for k in systems]
    sites = _sites(rng, sz, periods, sys_ids, horizon_months)
    total_mw = sum(_max_it(s) for s in sites)
    regions = _regions(rng, sz, periods, total_mw)
    jobs = _jobs(rng, sz, periods, total_mw, sites)
    pol = _policies(periods, sys_ids, scenario="base")
    if families == "all":
        _add_power(np.random.default_rng([seed, 2]), sites, jobs, periods)
        pol["emission_rules"] = [dict(CARBON_PRICE)]
    scenarios = [
        {"id": "base", "probability": 0.5, "description": "demand and policies as announced"},
        {"id": "high-demand", "probability": 0.3, "description": "token demand and training grow faster; power dearer",
         "demand_scale": 1.5, "training_scale": 1.3, "electricity_price_scale": 1.1},
        {"id": "export-whiplash", "probability": 0.2, "description": "H200 and H20 licences revoked for China",
         "demand_scale": 0.9, "policies": {"export_rules": _policies(periods, sys_ids, scenario="whiplash")["export_rules"]}},
    ]
    return {
        "name": f"synth-{size}-{seed}",
        "description": f"Synthetic {size} instance (seed {seed}) generated by benchmarks.synth: {len(sites)} sites, "
        f"{len(systems)} systems, {len(regions)} regions, {len(jobs)} training jobs, {P} periods, 3 scenarios.",
        "horizon": {"periods": [{"id": p, "years": 1.0} for p in periods], "discount_rate": 0.08,
                    "end_value": "straight_line"},
        "network": {"rtt_ms_per_1000_km": 10.0, "route_factor": 1.3, "base_latency_ms": 2.0},
        "jurisdictions": [{"id": j, "parent": par, "name": nm} if par else {"id": j, "name": nm} for j, par, nm in JURISDICTIONS],
        "families": [{"id": "cuda", "training_efficiency": 1.0},
                     {"id": "cann", "training_efficiency": 0.75, "description": "MFU 0.25-0.35 vs 0.35-0.40 [7]"}],
        "sites": sites,
        "systems": systems,
        "policies": pol,
        "training_jobs": jobs,
        "regions": regions,
        "scenarios": scenarios,
    }


def _systems(sz: Size, periods: list[str]) -> list[dict]:
    out = []
    for sid, vendor, origin, fam, kw, tr, inf, price, div in SYSTEMS[: sz.systems]:
        trend = PRICE_TREND.get(sid, 1.0)
        k = {
            "id": sid, "vendor": vendor, "origin": origin, "family": fam, "it_kw_per_unit": kw, "idle_power_share": 0.3,
            "training_pflops_per_unit": tr, "inference_pflops_per_unit": inf,
            "price_usd_per_unit": {p: _r(price * trend**t, 0) for t, p in enumerate(periods)},
            "om_usd_per_unit_year": _r(0.03 * price, 0), "lifetime_years": 5.0, "divisible": div,
        }
        if not div:  # rack-scale systems: supply grows over time (units per period, all sites)
            base = {"gb200-nvl72": 40, "cloudmatrix-384": 12}[sid] * sz.sites / 10
            k["supply_units"] = {p: float(math.ceil(base * 1.6**t)) for t, p in enumerate(periods)}
        out.append(k)
    return out


def _max_it(s: dict) -> float:
    ex = s.get("existing", {}).get("it_mw", 0.0)
    return ex + max([o["max_it_mw"] for o in s.get("build_options", [])], default=0.0)


def _lead(rng, choices, limit: float) -> float:
    ok = [c for c in choices if c <= limit]
    return float(rng.choice(ok)) if ok else float(limit)


def _sites(rng, sz: Size, periods: list[str], sys_ids: list[str], horizon_months: float) -> list[dict]:
    P = len(periods)
    n_more = max(0, sz.sites - len(FIRST_SITES))
    hub_picks = rng.choice(SITE_HUBS, size=n_more)  # drawn before the kinds, as the seeded instances expect
    more = zip(hub_picks, rng.choice(["existing", "convertible", "greenfield"], size=n_more, p=[0.2, 0.4, 0.4]))
    hubs = FIRST_SITES[: sz.sites] + [(str(h), str(k)) for h, k in more]
    out = []
    for i, (hub, kind) in enumerate(hubs):
        jur, lat, lon, price, _ = HUBS[hub]
        growth = rng.uniform(1.01, 1.05)  # electricity prices keep rising [DOMAIN]
        p0 = price * rng.uniform(0.9, 1.1)
        s = {
            "id": f"{hub}-{i + 1}", "jurisdiction": jur,
            "lat": _r(np.clip(lat + rng.normal(0, 1.0), -89, 89)), "lon": _r(((lon + rng.normal(0, 1.5)) + 180) % 360 - 180),
            "kind": kind,
            "electricity_usd_per_mwh": {p: _r(p0 * growth**t, 2) for t, p in enumerate(periods)},
        }
        greenfield_capex = rng.uniform(9.3e6, 15e6)  # [4.1]
        if kind == "existing":
            it = float(rng.integers(2, 13) * 5)  # 10-60 MW
            pue = _r(rng.uniform(1.3, 1.5), 2)
            s["existing"] = {"it_mw": it, "pue": pue, "usable_grid_share": 0.8, "fom_usd_per_mw_year": 3e5}
            expand = rng.random() < 0.6
            exp_mw = float(rng.integers(2, 9) * 10) if expand else 0.0
            s["grid_mw"] = _r((it * pue + exp_mw * 1.15) / 0.8 * 1.05, 1)
            fill = rng.uniform(0.4, 0.8)
            cn = jur.startswith("CN")
            installed = "atlas-800t-a2" if (cn and rng.random() < 0.5) else "hgx-h100"
            if installed in sys_ids:
                units = math.floor(fill * it * 1000 / dict((k[0], k[4]) for k in SYSTEMS)[installed])
                u = {"system": installed, "units": float(units)}
                if rng.random() < 0.5 and P > 2:
                    u["retire_after"] = periods[int(rng.integers(1, P - 1))]
                s["existing_units"] = [u]
            if expand:
                s["build_options"] = [{
                    "id": "expansion", "capex_usd_per_mw": _r(greenfield_capex, 0), "fixed_capex_usd": 5e6,
                    "lead_time_months": _lead(rng, [12, 18], horizon_months), "pue": 1.15, "usable_grid_share": 0.8,
                    "max_it_mw": exp_mw, "block_mw": 10.0, "fom_usd_per_mw_year": 2.5e5,
                }]
        elif kind == "convertible":
            grid = float(np.exp(rng.uniform(math.log(50), math.log(570))))  # Bitdeer sites 13-570 MW [6]
            block = float(rng.choice([10.0, 20.0]))
            max_it = max(block, math.floor(grid * 0.8 / 1.2 / block) * block)
            s["grid_mw"] = _r(grid, 1)
            s["build_options"] = [{
                "id": "retrofit", "capex_usd_per_mw": _r(greenfield_capex * rng.uniform(0.7, 0.9), 0),
                "fixed_capex_usd": _r(rng.uniform(5e6, 20e6), 0),
                "lead_time_months": 12.0 if i < len(FIRST_SITES) else _lead(rng, [12, 12, 18], horizon_months),
                "pue": 1.2, "usable_grid_share": 0.8, "max_it_mw": max_it, "block_mw": block, "fom_usd_per_mw_year": 2.5e5,
            }]
            if rng.random() < 0.5:
                max_2n = max(block, math.floor(grid * 0.5 / 1.1 / block) * block)
                s["build_options"].append({
                    "id": "liquid-2n", "capex_usd_per_mw": _r(greenfield_capex * rng.uniform(0.9, 1.1), 0),
                    "fixed_capex_usd": _r(rng.uniform(10e6, 30e6), 0), "lead_time_months": _lead(rng, [18, 24], horizon_months),
                    "pue": 1.1, "usable_grid_share": 0.5, "max_it_mw": max_2n, "block_mw": block, "fom_usd_per_mw_year": 2.5e5,
                })
        else:
            grid = float(np.exp(rng.uniform(math.log(100), math.log(1000))))
            share = float(rng.choice([0.8, 0.5], p=[0.7, 0.3]))
            pue = _r(rng.uniform(1.1, 1.15), 2)
            block = float(rng.choice([25.0, 50.0]))
            max_it = max(block, math.floor(min(grid * share / pue, 600) / block) * block)
            first_grid = int(rng.integers(1, max(2, P - 1)))
            s["grid_available_from"] = periods[first_grid]
            # grid grows after connection on some sites
            if rng.random() < 0.3:
                s["grid_mw"] = {p: _r(grid * (0.6 if t <= first_grid else 1.0), 1) for t, p in enumerate(periods)}
            else:
                s["grid_mw"] = _r(grid, 1)
            opt = {
                "id": "new-build", "capex_usd_per_mw": _r(greenfield_capex * (1.3 if share == 0.5 else 1.0), 0),
                "fixed_capex_usd": _r(rng.uniform(20e6, 60e6), 0),
                "lead_time_months": _lead(rng, [18, 24, 30, 36], horizon_months),
                "pue": pue, "usable_grid_share": share, "max_it_mw": max_it, "block_mw": block, "fom_usd_per_mw_year": 2.5e5,
            }
            if rng.random() < 0.3 and P > 3:
                opt["earliest_period"] = periods[1]
            s["build_options"] = [opt]
        out.append(s)
    return out


def _grid_max(s: dict) -> float:
    g = s.get("grid_mw", 0.0)
    return float(max(g.values())) if isinstance(g, dict) else float(g)


def _add_power(rng: np.random.Generator, sites: list[dict], jobs: list[dict], periods: list[str]) -> None:
    """The time-to-power families, in place: phases, power sources, grid emissions, firm-power jobs."""
    P = len(periods)
    for s in sites:
        grid = _grid_max(s)
        s["grid_co2_t_per_mwh"] = GRID_CO2.get(s["jurisdiction"], 0.4)
        for o in s.get("build_options", []):
            if s["kind"] != "existing" and rng.random() < 0.8 and o["max_it_mw"] >= 2 * o["block_mw"]:
                o["max_phases"] = int(rng.choice([2, 3]))
                o["phase_fixed_capex_usd"] = _r(rng.uniform(1e6, 4e6), 0)
                o["phase_lead_time_months"] = 12.0
        src = []
        if s["kind"] == "greenfield" and rng.random() < 0.2:
            src.append({"id": "flex", "kind": "grid_flexible", "mw": _r(grid * rng.uniform(0.2, 0.5), 1),
                        "curtailment_share": float(rng.choice([0.0025, 0.005, 0.01])), "event_hours": 2.0,
                        "available_from": periods[0]})
        if rng.random() < 0.15:
            src.append({"id": "gas", "kind": "onsite", "mw": _r(grid * rng.uniform(0.3, 0.6), 1),
                        "capex_usd_per_mw": _r(1.5e6 * rng.uniform(0.9, 1.1), 0), "lead_time_months": 12.0,
                        "heat_rate_mmbtu_per_mwh": _r(rng.uniform(8.5, 10.0), 2),
                        "fuel_usd_per_mmbtu": _r(rng.uniform(3.0, 4.0), 2), "fom_usd_per_mw_year": 2.5e4,
                        "vom_usd_per_mwh": 5.0, "availability": 0.95, "co2_t_per_mwh": _r(rng.uniform(0.4, 0.45), 3)})
        if rng.random() < 0.05:
            src.append({"id": "battery", "kind": "battery", "mw": _r(grid * rng.uniform(0.1, 0.3), 1),
                        "duration_hours": 4.0, "capex_usd_per_mw": _r(1.2e6 * rng.uniform(0.9, 1.1), 0),
                        "lead_time_months": 6.0, "fom_usd_per_mw_year": 1e4})
        price = float(next(iter(s["electricity_usd_per_mwh"].values())))
        if s["kind"] == "convertible" and rng.random() < 0.3:
            src.append({"id": "ppa-signed", "kind": "ppa", "mw": _r(grid * rng.uniform(0.2, 0.5), 1),
                        "price_usd_per_mwh": _r(price * rng.uniform(0.75, 0.95), 2),
                        "take_or_pay_share": _r(rng.uniform(0.5, 0.9), 2), "signed": True,
                        "available_until": periods[int(rng.integers(max(1, P - 2), P))]})
        if rng.random() < 0.1:
            src.append({"id": "ppa-offer", "kind": "ppa", "mw": _r(grid * rng.uniform(0.2, 0.5), 1),
                        "price_usd_per_mwh": _r(price * rng.uniform(0.8, 1.0), 2),
                        "take_or_pay_share": _r(rng.uniform(0.5, 0.9), 2), "signed": False,
                        "available_from": periods[min(1, P - 1)]})
        if src:
            s["power_sources"] = src
    for j in jobs:
        if rng.random() < 0.1:
            j["tolerates_curtailment"] = False


def _regions(rng, sz: Size, periods: list[str], total_mw: float) -> list[dict]:
    P = len(periods)
    cities = [h for h, v in HUBS.items() if v[4] > 0]
    weights = np.array([HUBS[h][4] for h in cities], dtype=float)
    first = ["shanghai", "dallas", "singapore", "new-york", "beijing", "oslo", "shenzhen", "seattle"]
    extra = rng.choice(cities, size=max(0, sz.regions - len(first)), p=weights / weights.sum())
    picks = first[: sz.regions] + [str(h) for h in extra]
    raw = rng.lognormal(0.0, 0.6, size=len(picks))
    # last-period base demand: ~35 % of buildable IT, 60 % of it inference
    last = 0.35 * 0.6 * total_mw * PF_PER_MW
    raw = raw / raw.sum() * last
    out = []
    for i, hub in enumerate(picks):
        jur, lat, lon, _, _ = HUBS[hub]
        growth = rng.uniform(1.5, 2.2)
        batch = i >= 8 and rng.random() < 0.1
        g = {
            "id": f"{hub}-{i + 1}" + ("-batch" if batch else ""), "jurisdiction": jur,
            "lat": _r(np.clip(lat + rng.normal(0, 0.5), -89, 89)), "lon": _r(((lon + rng.normal(0, 0.5)) + 180) % 360 - 180),
            "demand_pflops": {p: _r(raw[i] / growth ** (P - 1 - t), 1) for t, p in enumerate(periods)},
            "unserved_penalty_usd_per_pflops_year": _r(rng.uniform(60e3, 80e3), 0),
        }
        if not batch:  # metro to national round trips [4.5]
            g["max_latency_ms"] = float(rng.choice([10.0, 15.0, 20.0, 30.0], p=[0.2, 0.3, 0.3, 0.2]))
        if jur in RESIDENCY:
            g["allowed_jurisdictions"] = RESIDENCY[jur]
        if i < 3 and not batch:  # contracted load from the second period on, within 40 ms
            g["must_serve"] = True
            g["max_latency_ms"] = 40.0
            g["demand_pflops"] = {p: (_r(v * 0.2, 1) if t >= 1 else 0.0) for t, (p, v) in enumerate(g["demand_pflops"].items())}
        out.append(g)
    return out


def _jobs(rng, sz: Size, periods: list[str], total_mw: float, sites: list[dict]) -> list[dict]:
    P = len(periods)
    target = 0.35 * 0.4 * total_mw * PF_PER_MW  # peak-period training PFLOPS, base scenario
    jobs = []
    for i in range(sz.jobs):
        start = int(rng.integers(1, P))
        dur = int(rng.integers(1, 3))
        ps = periods[start: start + dur]
        size = float(np.exp(rng.uniform(math.log(1000), math.log(20000))))  # [5.1]
        owner = str(rng.choice(["cn", "us", "eu", "any"], p=[0.35, 0.35, 0.1, 0.2]))
        j = {"id": f"{owner}-run-{i + 1}", "compute_pflops": {p: size for p in ps}}
        if owner == "cn":  # Chinese labs train at home; half of them on Ascend only
            j["allowed_jurisdictions"] = ["CN"]
            if rng.random() < 0.5:
                j["allowed_families"] = ["cann"]
        elif owner == "us":  # US labs: US sites, CUDA
            j["allowed_jurisdictions"] = ["US"]
            j["allowed_families"] = ["cuda"]
        elif owner == "eu":  # European labs: Tier-1 Norway
            j["allowed_jurisdictions"] = ["NO"]
        jobs.append(j)
    # scale so that the busiest period needs ~target PFLOPS, and no job outgrows a large site
    per_period = {p: sum(j["compute_pflops"].get(p, 0.0) for j in jobs) for p in periods}
    scale = target / max(per_period.values())
    big_site = float(np.percentile([_max_it(s) for s in sites], 75)) * PF_PER_MW * 0.5
    for i, j in enumerate(jobs):
        for p in j["compute_pflops"]:
            j["compute_pflops"][p] = _r(min(j["compute_pflops"][p] * scale, big_site), 1)
        total = sum(j["compute_pflops"].values())
        j["unplaced_cost_usd"] = _r(total * 50e3, 0)  # lost value of the run: ~3x cloud rental per PFLOPS-year [5.3]
        if i % 10 == 3 and min(periods.index(p) for p in j["compute_pflops"]) >= 2:
            j["must_place"] = True
            j["compute_pflops"] = {p: _r(v * 0.2, 1) for p, v in j["compute_pflops"].items()}
        remote = [s["id"] for s in sites if s["jurisdiction"] in ("ET", "BT")]
        if remote:
            j["placement_cost_usd"] = {sid: _r(rng.uniform(0.5e6, 2e6), 0) for sid in remote}
    return jobs


def _policies(periods: list[str], sys_ids: list[str], scenario: str) -> dict:
    P = len(periods)
    first, rest = periods[:1], periods[1:]
    rules = [
        {"id": "b200-cn-ban", "system": "dgx-b200", "jurisdiction": "CN", "action": "ban"},
        {"id": "gb200-cn-ban", "system": "gb200-nvl72", "jurisdiction": "CN", "action": "ban"},
        {"id": "h100-cn-ban", "system": "hgx-h100", "jurisdiction": "CN", "action": "ban"},
        {"id": "ascend-us-gp10", "family": "cann", "jurisdiction": "US", "action": "ban"},
        {"id": "ascend-my-gp10", "family": "cann", "jurisdiction": "MY", "action": "ban"},
        {"id": "gb200-my-permit-wait", "system": "gb200-nvl72", "jurisdiction": "MY", "action": "ban", "periods": first},
        {"id": "gb200-my-sta-cap", "system": "gb200-nvl72", "jurisdiction": "MY", "action": "cap", "cap_units": 20.0,
         "periods": rest},
    ]
    if scenario == "whiplash":
        rules += [
            {"id": "h200-cn-ban", "system": "hgx-h200", "jurisdiction": "CN", "action": "ban"},
            {"id": "h20-cn-ban", "system": "h20-8", "jurisdiction": "CN", "action": "ban"},
        ]
    else:
        rules += [
            {"id": "h200-cn-ban-2026", "system": "hgx-h200", "jurisdiction": "CN", "action": "ban", "periods": first},
            {"id": "h200-cn-fee", "system": "hgx-h200", "jurisdiction": "CN", "action": "premium", "premium_share": 0.25,
             "periods": rest},
            {"id": "h200-cn-cap", "system": "hgx-h200", "jurisdiction": "CN", "action": "cap", "cap_units": 2000.0,
             "periods": rest},
            {"id": "h20-cn-fee", "system": "h20-8", "jurisdiction": "CN", "action": "premium", "premium_share": 0.15,
             "periods": [p for i, p in enumerate(periods) if i != 1]},
            {"id": "h20-cn-pushback", "system": "h20-8", "jurisdiction": "CN", "action": "ban", "periods": periods[1:2]},
        ]
    rules = [r for r in rules if r.get("system") in sys_ids or r.get("family") == "cann"]
    return {
        "export_rules": rules,
        "energy_subsidies": [
            {"id": "cn-west-domestic", "jurisdiction": "CN-west", "discount_share": 0.5, "applies_to": "domestic_systems"},
            {"id": "cn-east-qualifying", "jurisdiction": "CN-east", "periods": rest, "discount_share": 0.3,
             "applies_to": "qualifying_sites", "domestic_share_threshold": 0.5},
        ],
        "capex_subsidies": [{"id": "cn-west-capex", "jurisdiction": "CN-west", "usd_per_mw": 1e6}],
        "share_targets": [
            {"id": "cn-domestic-50", "jurisdiction": "CN", "periods": periods[2:], "min_domestic_share": 0.5, "hard": True},
            {"id": "cn-domestic-70", "jurisdiction": "CN", "periods": periods[P - 1:], "min_domestic_share": 0.7,
             "hard": False, "shortfall_penalty_usd_per_pflops_year": 20e3},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.synth", description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", choices=FAMILIES, default="all",
                    help="all: every time-to-power family (default); core: the instances as before them")
    ap.add_argument("out", help="output file (.yaml, .yml or .json)")
    args = ap.parse_args(argv)
    data = generate(args.size, args.seed, args.families)
    path = write_instance(data, args.out)
    print(f"{data['name']}: {len(data['sites'])} sites, {len(data['systems'])} systems, {len(data['regions'])} regions, "
          f"{len(data['training_jobs'])} jobs, {len(data['horizon']['periods'])} periods -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
