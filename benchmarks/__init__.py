"""Benchmarks for dcplan: OR-Library facility location, synthetic instances, scaling, greedy baseline.

Not part of the package and not part of the test suite's timing (``tests/model/test_benchmarks.py``
runs a small, fast subset). Every command is ``python -m benchmarks.<module> ...`` from the
repository root; see ``benchmarks/README.md``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""Repository root."""
