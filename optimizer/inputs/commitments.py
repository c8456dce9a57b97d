"""The Commitments sheet's rules (each start, exclude and not_before against the other sheets
and against each other), checked once the cells are read (`optimizer.inputs.cells.SheetRecords`).

Problems and warnings go to the lists the validator collects (`optimizer.inputs.validation`), in
row order, so one pass reports every problem of the workbook at once.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from models.errors import InputProblem
from models.quarters import add_quarters, quarter_ordinal
from optimizer.inputs.cells import BAD, SheetRecords


@dataclass
class _Commitments:
    """What the Commitments checks look up, each built once: every readable option's
    lead_quarters, each readable site's record, the (site, option) pairs SiteOptions forbids,
    and by (site, option) (a blank option is None) the exclude rows and the not_before rows
    with a readable quarter (as (quarter ordinal, row), sorted)."""

    lead: dict[str, Any]
    sites: dict[str, dict[str, Any]]
    forbidden: set[tuple[str, str]]
    excludes: dict[tuple[object, object], list[int]]
    not_befores: dict[tuple[object, object], list[tuple[int, int]]]

    @classmethod
    def of(cls, rows: SheetRecords, sites: SheetRecords | None, options: SheetRecords | None,
           site_options: SheetRecords | None) -> _Commitments:
        lead = {}
        if options is not None:
            lead = {r["option"]: r["lead_quarters"] for i, r in enumerate(options.records)
                    if options.ok(i, "option") and options.ok(i, "lead_quarters")}
        site_rec = {}
        if sites is not None:
            site_rec = {r["site"]: r for i, r in enumerate(sites.records) if sites.ok(i, "site")}
        forbidden: set[tuple[str, str]] = set()
        if site_options is not None:
            forbidden = {(r["site"], r["option"]) for i, r in enumerate(site_options.records)
                         if site_options.ok(i, "site") and site_options.ok(i, "option")
                         and r["allowed"] is False}
        excludes: dict[tuple[object, object], list[int]] = {}
        not_befores: dict[tuple[object, object], list[tuple[int, int]]] = {}
        for j, rec in enumerate(rows.records):
            key = (rec["site"], rec["option"])
            if rec["action"] == "exclude":
                excludes.setdefault(key, []).append(j)
            elif rec["action"] == "not_before" and rows.ok(j, "quarter"):
                not_befores.setdefault(key, []).append((quarter_ordinal(rec["quarter"]), j))
        for pairs in not_befores.values():
            pairs.sort()
        return cls(lead, site_rec, forbidden, excludes, not_befores)

    def against(self, site: str, option: str | None, quarter: str) -> list[int]:
        """The rows that contradict a start of `option` (None: any option) at `site` in
        `quarter`: the site's excludes and its not_befores later than `quarter`, of no option
        or the same option, in row order. Cost: the rows found, plus a bisection."""
        after = quarter_ordinal(quarter)
        found: list[int] = []
        for key in dict.fromkeys([(site, None), (site, option)]):
            found += self.excludes.get(key, [])
            pairs = self.not_befores.get(key, [])
            found += [j for _, j in pairs[bisect.bisect_right(pairs, (after, math.inf)):]]
        return sorted(found)


@dataclass
class CommitmentChecks:
    """The Commitments rules for a plan from quarter `start` to quarter `last` (None when the
    Settings could not say), appending to the validator's `problems` and `warnings`."""

    start: str | None
    last: str | None
    problems: list[InputProblem]
    warnings: list[str]

    def run(self, rows: SheetRecords, sites: SheetRecords | None, options: SheetRecords | None,
            site_options: SheetRecords | None) -> None:
        """Commitments rules.

        - start: needs quarter and halls; a blank option means any option (but a hall begun
          before the start quarter must name its option); the option must be allowed at the site;
          its hall must be online by the last quarter (quarter + lead_quarters <= last);
          no exclude of the same site (blank or same option) and no not_before later than it
          at the same site (blank or same option); the starts at a site total at most its
          halls. Before the site's earliest_start: honoured, with a warning. Before the start
          quarter: a hall begun in an earlier plan, its capex before the start quarter sunk
          (a warning).
        - exclude: no quarter, no halls. not_before: a quarter, no halls.

        Linear in the rows and the contradictions found: the excludes and not_befores are
        indexed by (site, option) once (`_Commitments`), not scanned for each start.
        """
        self._cells(rows)
        known = _Commitments.of(rows, sites, options, site_options)
        for i, rec in enumerate(rows.records):
            if rec["action"] == "start" and all(
                    rows.ok(i, c) for c in ("site", "quarter", "halls")):
                self._start(rows, i, known)
        self._totals(rows, known)

    def _cells(self, rows: SheetRecords) -> None:
        """Which cells each action needs or forbids: a start needs quarter and halls; exclude
        and not_before take no halls; exclude takes no quarter; not_before needs one. A cell
        reported here is marked bad (its checks downstream are skipped)."""
        for i, rec in enumerate(rows.records):
            action = rec["action"]
            if action is BAD:
                continue
            if action == "start":
                for column in ("quarter", "halls"):
                    if rec[column] is None or (isinstance(rec[column], float)
                                               and math.isnan(rec[column])):
                        self.problems.append(rows.problem(
                            i, column, None, f"blank; a start needs its {column}"))
                        rec[column] = BAD
            else:
                if rows.ok(i, "halls") or rec["halls"] is BAD:
                    self.problems.append(rows.problem(
                        i, "halls", rec["halls"] if rec["halls"] is not BAD else None,
                        f"halls only go with action start, not {action}; leave blank"))
                if action == "exclude" and (rows.ok(i, "quarter") or rec["quarter"] is BAD):
                    self.problems.append(rows.problem(
                        i, "quarter", rec["quarter"] if rec["quarter"] is not BAD else None,
                        "an exclude has no quarter (it forbids every start); leave blank or "
                        "use not_before"))
                if action == "not_before" and rec["quarter"] is None:
                    self.problems.append(rows.problem(
                        i, "quarter", None, "blank; not_before needs the first allowed quarter"))
                    rec["quarter"] = BAD

    def _start(self, rows: SheetRecords, i: int, known: _Commitments) -> None:
        """One start (site, quarter and halls readable): its option, its hall online by the
        last quarter, no exclude or later not_before against it, and the warnings for a start
        before the start quarter or before the site's earliest_start."""
        rec = rows.records[i]
        site, option, quarter = rec["site"], rec["option"], rec["quarter"]
        if option is BAD:
            return
        lead = known.lead
        any_option = option is None
        where = f"start of {'any option' if any_option else option} at {site} in {quarter}"
        begun = self.start is not None and (
            quarter_ordinal(quarter) < quarter_ordinal(self.start))
        if any_option and begun:
            self.problems.append(rows.problem(
                i, "option", None,
                f"{where}: a hall begun before the start quarter must name its option"))
            return
        # A blank option means "any option": it fails only if every option fails.
        candidates = list(lead) if any_option else [option]
        usable = [o for o in candidates if (site, o) not in known.forbidden]
        if not usable:
            self.problems.append(rows.problem(
                i, "option", option,
                f"{where}: " + ("no option is" if any_option else "the option is not")
                + " allowed at the site (SiteOptions allowed FALSE)"))
        elif self.last is not None and all(
                quarter_ordinal(add_quarters(quarter, lead[o])) > quarter_ordinal(self.last)
                for o in usable if o in lead) and any(o in lead for o in usable):
            o = min((o for o in usable if o in lead), key=lambda o: lead[o])
            self.problems.append(rows.problem(
                i, "quarter", quarter,
                f"{where}: its hall would be online in {add_quarters(quarter, lead[o])} "
                f"(lead_quarters {lead[o]}), after the last quarter {self.last}"))
        for j in known.against(site, option, quarter):
            other = rows.records[j]
            if other["action"] == "exclude":
                self.problems.append(rows.problem(
                    i, "action", "start",
                    f"{where}: contradicted by the exclude at {rows.cell_name(j, 'action')}"))
            else:
                self.problems.append(rows.problem(
                    i, "quarter", quarter,
                    f"{where}: before the not_before {other['quarter']} at "
                    f"{rows.cell_name(j, 'quarter')}"))
        site_row = known.sites.get(site)
        if self.start is not None and quarter_ordinal(quarter) < quarter_ordinal(self.start):
            self.warnings.append(str(rows.problem(
                i, "quarter", quarter,
                f"{where}: before the start quarter {self.start}; accepted as a hall begun "
                "in an earlier plan, its capex before the start quarter is sunk")))
        elif site_row is not None and isinstance(site_row["earliest_start"], str) and (
                quarter_ordinal(quarter) < quarter_ordinal(site_row["earliest_start"])):
            self.warnings.append(str(rows.problem(
                i, "quarter", quarter,
                f"{where}: before the site's earliest_start "
                f"{site_row['earliest_start']}; honoured as a decision already taken")))

    def _totals(self, rows: SheetRecords, known: _Commitments) -> None:
        """The committed starts at a site total at most its halls (reported at the site's last
        start row)."""
        totals: dict[str, tuple[int, int]] = {}
        for i, rec in enumerate(rows.records):
            if rec["action"] == "start" and rows.ok(i, "site") and rows.ok(i, "halls"):
                total, _ = totals.get(rec["site"], (0, i))
                totals[rec["site"]] = (total + rec["halls"], i)
        for site, (total, i) in totals.items():
            site_row = known.sites.get(site)
            if site_row is not None and isinstance(site_row["halls"], int) and (
                    total > site_row["halls"]):
                self.problems.append(rows.problem(
                    i, "halls", total,
                    f"committed starts at {site} total {total} halls, more than its "
                    f"{site_row['halls']} halls (Sites)"))

    def signed_leases(self, rows: SheetRecords, options: SheetRecords | None) -> None:
        """lease_signed: only on a `start` row, naming its option (the signed contract modelled
        as its own option), and that option needs lease_term_years (the backlog runs to the end
        of the first term)."""
        terms = {}
        if options is not None:
            terms = {r["option"]: r["lease_term_years"] for i, r in enumerate(options.records)
                     if options.ok(i, "option") and r["lease_term_years"] is not BAD}
        for i, rec in enumerate(rows.records):
            if not rows.ok(i, "lease_signed") or rec["lease_signed"] is not True:
                continue
            action = rec["action"]
            if action is BAD:
                continue
            if action != "start":
                self.problems.append(rows.problem(
                    i, "lease_signed", rec["lease_signed"],
                    f"lease_signed only goes with action start, not {action}; leave blank or "
                    "FALSE"))
                continue
            option = rec["option"]
            if option is None:
                self.problems.append(rows.problem(
                    i, "option", None,
                    "blank, but lease_signed is TRUE: a signed start names its option (the "
                    "contract modelled as its own option)"))
            elif option is not BAD and option in terms and terms[option] is None:
                self.problems.append(rows.problem(
                    i, "lease_signed", rec["lease_signed"],
                    f"the signed start's option {option} has no lease_term_years (Options); "
                    "a signed lease needs its term for the contracted backlog"))
