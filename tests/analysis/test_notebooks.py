"""Every notebook in ``notebooks/`` runs top to bottom without an error, so none can rot.

The notebooks run in a Jupyter kernel ("python3"; jupyter_client starts it with this
interpreter) with ``notebooks/`` as the working directory. Each takes well under a minute.
Skipped with a reason when nbclient, nbformat or ipykernel is not installed
(``pip install -e '.[test]'``).

To refresh the stored outputs after a model change::

    python tests/analysis/test_notebooks.py --write
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 300  # per cell; a notebook is meant to finish in under a minute


def _execute(path: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    for mod in ("nbclient", "nbformat", "ipykernel"):
        pytest.importorskip(mod, reason=f"{mod} is not installed; pip install -e '.[test]' to run the notebooks")
    t0 = time.perf_counter()
    nb = _execute(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0]
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    assert images >= 2, f"{path.name}: expected its figures in the outputs, found {images}"
    print(f"{path.name}: {time.perf_counter() - t0:.1f} s")


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"china-subsidy.ipynb", "h20-whiplash.ipynb", "us-conversion.ipynb"}


if __name__ == "__main__":  # pragma: no cover
    import nbformat

    write = "--write" in sys.argv
    for p in NOTEBOOKS:
        t0 = time.perf_counter()
        nb = _execute(p)
        print(f"{p.name}: {time.perf_counter() - t0:.1f} s")
        if write:
            nbformat.write(nb, p)


def test_notebooks_and_readme_use_only_the_public_api():
    """Notebooks and the README's Python examples import only names of ``optimizer.__all__``
    (plus the figure module of the analysis layer)."""
    import re

    import optimizer

    allowed_modules = {"optimizer.analysis": {"figures"}}
    texts = {p.name: p.read_text(encoding="utf-8") for p in NOTEBOOKS}
    texts["README.md"] = (ROOT / "README.md").read_text(encoding="utf-8")
    bad = []
    for name, text in texts.items():
        for module, names in re.findall(r"from (optimizer[\w.]*) import ([\w, ]+)", text):
            for n in (x.strip() for x in names.split(",")):
                ok = n in optimizer.__all__ if module == "optimizer" else n in allowed_modules.get(module, set())
                if not ok:
                    bad.append(f"{name}: from {module} import {n}")
        for attr in re.findall(r"\boptimizer\.([A-Za-z_]\w*)\(", text):
            if attr not in optimizer.__all__:
                bad.append(f"{name}: optimizer.{attr}(...)")
    assert not bad, bad
