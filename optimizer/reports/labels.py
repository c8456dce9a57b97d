"""Readable column labels with units, derived from the report's column names by rule.

The report's column names (`npv_musd`, `cooling_used_mw`) are what scripts read: they stay the
cell values of every header row. What a reader sees is a label shown by the header cell's
number format (Excel and LibreOffice display a text cell through the format's text section),
so the stored value, filters and structured references keep the name.

Label rules (`label_for`), so that columns added later get a label without a table entry:
- an entry of `LABELS` wins (whole names whose words alone read badly);
- else the unit suffix becomes a unit in brackets: `_musd` -> ($M), `_mw` -> (MW),
  `_share` -> (%), `irr` -> (% a year), `_usd_per_kw_month` -> ($/kW-month), ...;
- the remaining words are joined with spaces, the first capitalised, known acronyms in
  capitals (NPV, IRR, AI, IT, ...).
"""

from __future__ import annotations

import math

# Whole names with a hand-written label.
LABELS: dict[str, str] = {
    "npv_musd": "NPV ($M)",
    "irr": "IRR (% a year)",
    "mip_gap": "MIP gap (%)",
    "moic": "MOIC (x)",
    "start_quarter": "Start quarter",
    "online_quarter": "Online quarter",
    "payback_quarter": "Payback quarter",
    "discount_factor": "Discount factor",
    "discounted_musd": "Discounted net ($M)",
    "cumulative_discounted_musd": "Cumulative discounted ($M)",
    "net_musd": "Net cash flow ($M)",
    "ai_it_mw_online": "AI IT online (MW)",
    "ai_it_mw_online_end": "AI IT online at the end (MW)",
    "mining_mw_end": "Mining at the end (MW)",
    "halls_converted_share": "Halls converted (%)",
    "uptime": "Uptime (%)",
    "best_bound_musd": "Best bound on NPV ($M)",
    "greedy_npv_musd": "NPV of a simple ranking ($M)",
    "uplift_vs_greedy_musd": "Uplift over the ranking ($M)",
    "input_sha256": "Input file SHA-256",
}

# Unit suffixes, longest first: (suffix, unit shown in brackets, whether the suffix's word
# stays in the label: `discount_rate` -> "Discount rate (%)", `npv_musd` -> "NPV ($M)").
UNIT_SUFFIXES: tuple[tuple[str, str, bool], ...] = (
    ("_usd_per_ph_day", "$/PH/s/day", False),  # hashprice: per PH/s of hashrate a day
    ("_usd_per_kw_month", "$/kW-month", False),
    ("_usd_per_mwh", "$/MWh", False),
    ("_musd_per_it_mw", "$M per IT MW", False),
    ("_mw_per_it_mw", "MW per IT MW", False),
    ("_musd", "$M", False),
    ("_mw", "MW", False),
    ("_share", "%", False),
    ("_rate", "%", True),
    ("_irr", "% a year", True),
    ("_quarters", "quarters", False),
    ("_years", "years", False),
    ("_seconds", "s", False),
)
ACRONYMS = {"npv": "NPV", "irr": "IRR", "ai": "AI", "it": "IT", "mw": "MW", "tv": "TV",
            "dscr": "DSCR", "moic": "MOIC", "pue": "PUE", "hpc": "HPC", "dlc": "DLC",
            "mip": "MIP", "vss": "VSS", "cvar": "CVaR", "utc": "UTC", "sha256": "SHA-256",
            "ltc": "LTC", "id": "ID", "ebitda": "EBITDA", "cfads": "CFADS", "musd": "$M",
            "usd": "$", "kw": "kW", "mwh": "MWh"}
# Header labels wrap over at most this many lines (the header row grows to fit).
HEADER_LINES = 3


def label_for(name: str, percent: bool = True) -> str:
    """The readable label, with its unit, of the column or metric `name` (module rules).
    `percent`: the column shows shares and rates as percentages; without it (the Input_*
    sheets show numbers as entered, 0.5 not 50%) their unit reads "(0-1)"."""
    label = _label(str(name))
    return label if percent else label.replace("(% a year)", "(a year, 0-1)").replace(
        "(%)", "(0-1)")


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    stem, unit = key, ""
    for suffix, shown, keep in UNIT_SUFFIXES:
        if key.lower().endswith(suffix) and len(key) > len(suffix):
            stem, unit = (key if keep else key[: -len(suffix)]), shown
            break
    words = [ACRONYMS.get(w.lower(), w) for w in stem.split("_") if w]
    if not words:
        return key
    if words[0].islower():
        words[0] = words[0][:1].upper() + words[0][1:]
    text = " ".join(words)
    return f"{text} ({unit})" if unit else text


def shows_as_is(name: str) -> bool:
    """True when the label is the name itself (a quarter such as `2027Q1`)."""
    return label_for(name) == str(name)


def header_format(name: str, with_name: bool = False, percent: bool = True) -> str | None:
    """The number format that shows `name`'s label in its header cell (the value stays the
    name): the label alone, or with `with_name` the label over the name on a second line;
    None when the label is the name itself. `percent`: see `label_for`."""
    if shows_as_is(name):
        return None
    label = label_for(name, percent).replace('"', "'")
    if with_name and label.lower() != str(name).lower():  # not "Site" over "site"
        return f';;;"{label}\n"@'
    return f';;;"{label}"'


def is_header_format(number_format: str) -> bool:
    return number_format.startswith(';;;"')


def header_lines(number_format: str, width: int) -> list[str]:
    """The lines a header format shows in a column `width` characters wide (words wrapped)."""
    body = number_format[4:]
    label, _, rest = body.partition('"')
    lines: list[str] = []
    for part in label.split("\n"):
        line = ""
        for word in part.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        if line:
            lines.append(line)
    if rest.startswith("@"):
        lines.append("@")  # the name, measured by the caller
    return lines


def header_width(number_format: str, name: str) -> int:
    """Characters a header needs: its label wrapped over at most `HEADER_LINES` lines (never
    narrower than its longest word), and the name when the format shows it."""
    label = header_lines(number_format, 10_000)
    words = [w for line in label if line != "@" for w in line.split()]
    shown = " ".join(line for line in label if line != "@")
    width = max([len(w) for w in words] + [math.ceil(len(shown) / HEADER_LINES)])
    if "@" in label:
        width = max(width, len(name))
    return width
