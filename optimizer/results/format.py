"""One set of number formatters for everything dcplan prints (plan text, analyses, report)."""

from __future__ import annotations

import math


def money(x: float | None, cur: str = "USD", sign: bool = False, decimals: int = 2) -> str:
    """``1.23 bn USD``, ``45.60 M USD``, ``7.80 k USD``, ``950 USD``; ``n/a`` for None or NaN.

    ``sign`` puts ``+`` before positive amounts (differences); ``decimals`` is the number of
    decimals of the bn/M/k figure (amounts below 1,000 are whole units, below 0.005 are 0)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x)
    if a < 0.005:
        return f"0 {cur}"
    plus = "+" if sign and x > 0 else ""
    for div, suf in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{plus}{x / div:,.{decimals}f}{suf} {cur}"
    return f"{plus}{x:,.0f} {cur}"


def money_short(x: float | None, cur: str = "USD") -> str:
    """Compact money for tables and figures: ``$1.23 bn``, ``-$45.6 M``, ``EUR 780 k``, ``$950``
    (three significant digits; ``$`` for USD, else the currency code); ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    sym = "$" if cur.upper() == "USD" else f"{cur} "
    a = abs(x)
    minus = "-" if x < 0 else ""
    for div, suf in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            y = a / div
            return f"{minus}{sym}{y:,.{0 if y >= 100 else (1 if y >= 10 else 2)}f}{suf}"
    return f"{minus}{sym}{a:,.0f}"


def money_unit(largest: float, cur: str = "USD") -> tuple[float, str]:
    """Divisor and label for an axis of money whose largest value is ``largest``:
    ``(1e9, "$bn")`` from 2 bn, ``(1e6, "$M")`` from 2 M, else ``(1, "$")`` (``$`` for USD,
    else the currency code and a space)."""
    sym = "$" if cur.upper() == "USD" else cur + " "
    if largest >= 2e9:
        return 1e9, f"{sym}bn"
    if largest >= 2e6:
        return 1e6, f"{sym}M"
    return 1.0, sym.strip()


def number(x: float | None, digits: int = 4) -> str:
    """A quantity with thousands separators and at most ``digits`` significant digits
    after rounding (``18,290.5``, ``5,400,270``, ``0.0125``); ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 10 ** digits:
        return f"{x:,.0f}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(a))))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def units(x: float | None, continuous: bool = False) -> str:
    """A count of system units: whole units as ``1,440`` (solver noise rounded away); ``continuous``
    counts (a divisible system) to one decimal, ``260.4``, or two significant digits below 0.05;
    ``n/a`` for None or NaN. Say "continuous" beside such a count: it is not a number of units one can buy."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if not continuous or abs(x) < 1e-9:
        return f"{round(x):,}"
    if 0 < abs(x) < 0.05:
        return number(x, 2)
    return f"{x:,.1f}"


def mw(x: float) -> str:
    """Megawatts: ``12.5 MW``."""
    return f"{number(x)} MW"


def pct(x: float | None, decimals: int = 1) -> str:
    """A percentage already in percent: ``41.6 %``."""
    return "n/a" if x is None else f"{x:.{decimals}f} %"


def energy(x: float | None) -> str:
    """Energy from MWh: ``950 MWh``, ``87.6 GWh``, ``1.234 TWh`` (four significant digits); ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    for div, unit in ((1e6, "TWh"), (1e3, "GWh")):
        if abs(x) >= div:
            return f"{number(x / div)} {unit}"
    return f"{number(x)} MWh"


def per_mwh(x: float | None, cur: str = "USD") -> str:
    """A price per MWh: ``45.6 USD/MWh`` (four significant digits); ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{number(x)} {cur}/MWh"


def tonnes(x: float | None) -> str:
    """Tonnes of CO2: ``1,234 tCO2``, ``0.5 tCO2``; ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{number(x)} tCO2"


def years(x: float | None) -> str:
    """A duration in years: ``1 year``, ``2.5 years``; ``n/a`` for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{number(x)} year" + ("" if abs(x - 1) < 1e-9 else "s")
