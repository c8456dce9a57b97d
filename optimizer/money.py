"""The one way money is written for a reader (console, messages, report notes): `$1,234.5M`.

Rule: millions of US dollars with a thousands separator and `decimals` decimals (default 1),
the sign in front of the dollar (`-$12.0M`); anything but a finite number is `n/a`. The
report's cells keep numbers (their number format says $M); text uses this.
"""

from __future__ import annotations

import math
from typing import TypeGuard


def finite(value: object) -> TypeGuard[float]:
    """A finite int or float (not a bool's meaning: True counts as 1)."""
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def money(value: object, decimals: int = 1) -> str:
    """`$1,234.5M`, with the sign in front (`-$12.0M`); `n/a` unless a finite number ($M)."""
    if not finite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}M"
