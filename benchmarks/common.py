"""Helpers shared by the benchmark scripts: writing instance files, machine description."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


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
