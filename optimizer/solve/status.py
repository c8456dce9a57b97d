"""Moved to `optimizer.status`; import it from there.

Transitional: kept only while `optimizer.solve.decompose` and `optimizer.robust.robust` (being
rewritten on other branches) still import this path. Delete it once neither does.
"""

from optimizer.status import PLANNED, Status, Termination, has_plan, status_of

__all__ = ["PLANNED", "Status", "Termination", "has_plan", "status_of"]
