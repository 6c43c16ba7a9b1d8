"""The commented starter instance written by ``dcplan new`` (``data/starter.yaml``)."""

from __future__ import annotations

from importlib.resources import files


def starter_text() -> str:
    """The text of the starter instance: commented YAML that validates and solves."""
    return files("optimizer.instance").joinpath("data/starter.yaml").read_text(encoding="utf-8")
