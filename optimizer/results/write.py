"""Write stage: plan tables as CSV plus ``summary.json``, atomically.

Results are written into a temporary folder beside the target and renamed into place
only when complete, so an interrupted run never leaves a half-written folder that looks
finished. An existing folder is replaced only with ``force=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..plan import Plan


class OutputExistsError(FileExistsError):
    """The result folder exists and ``force`` was not given."""


def write_plan(plan: "Plan", out_dir: str | Path, force: bool = False) -> Path:
    """Write every table as ``<name>.csv`` and the summary as ``summary.json``."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} already exists; use --force (force=True) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, df in plan.tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(plan.summary(), indent=2, default=str) + "\n")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
