"""Helpers shared by the benchmark scripts: writing instance files, machine description."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any


def write_instance(data: dict, out: str | Path) -> Path:
    """Write an instance dict as YAML (``.yaml``/``.yml``) or JSON (``.json``); folders are created."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(data, indent=1))
    else:
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        out.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False, width=120))
    return out


def machine() -> dict[str, str]:
    """CPU model, core count (``nproc``), memory, Python and solver versions."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    try:
        from optimizer.solver.session import new_highs  # a Highs without the banner on stdout

        hv = new_highs().version()
    except Exception:  # noqa: BLE001 - version is informative only
        hv = "?"
    try:
        import pyomo.version

        pv = pyomo.version.version
    except Exception:  # noqa: BLE001
        pv = "?"
    return {"cpu": cpu, "nproc": str(len(os.sched_getaffinity(0))), "memory": mem,
            "python": platform.python_version(), "highs": hv, "pyomo": pv}


def run_raw_highs(mps: str, time_limit: float | None, mip_gap: float, threads: int | None,
                  seed: int) -> tuple[Any, float, float, float]:
    """Read ``mps`` into a fresh HiGHS, apply dcplan's objective scaling and the options, run it.

    Returns ``(highs, scale, read_s, run_s)``: objective values read from ``highs`` are divided
    by ``scale`` to be in USD; ``read_s`` covers reading and scaling, ``run_s`` the run."""
    import highspy

    from optimizer.solver import scale_objective  # imported before the clock starts

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    t0 = time.perf_counter()
    h.readModel(mps)
    scale = scale_objective(h)
    read_s = time.perf_counter() - t0
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("random_seed", int(seed))
    t0 = time.perf_counter()
    h.run()
    return h, scale, read_s, time.perf_counter() - t0
