"""The Summary's charts and the ChartData sheet behind them: portfolio totals by quarter, four
native charts two by two, axes whose zeros line up and whose quarters are labelled by year.
`chart_series` and `style_chart` serve the sweep and robust reports' charts too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference, Series
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.plan import CASH_FLOW_COLUMNS, Plan
from optimizer.reports.xl import fit_widths, put, write_frame


def axis_labels(quarters: list[str]) -> list[str]:
    """The charts' quarter axis labels: the year at each first quarter (and the first quarter
    in full when the horizon starts later in a year), blank elsewhere, so that 40 quarters
    read as 10 years (LibreOffice ignores an axis's label step)."""
    return [q[:4] if q.endswith("Q1") else q if i == 0 else "" for i, q in enumerate(quarters)]


def chart_data_sheet(ws: Worksheet, plan: Plan) -> tuple[int, int]:
    """Portfolio totals by quarter behind the charts; return (first, last) data rows."""
    quarters = plan.portfolio.quarter_labels
    cap = plan.capacity
    cols = ["mining_mw", "ai_it_mw_online", "power_used_mw"]
    by_q = (cap.groupby("quarter")[cols].sum() if len(cap) else pd.DataFrame(columns=cols))
    by_q = by_q.reindex(quarters).fillna(0.0)
    capex = plan.cash_flows.set_index("quarter")["capex_musd"].reindex(quarters).fillna(0.0)
    budget = plan.portfolio.quarters.set_index("quarter")["budget_musd"].reindex(quarters)
    use = plan.cash_flows.set_index("quarter")["budget_use_musd"].reindex(quarters).fillna(0.0)
    frame = pd.DataFrame({"quarter": quarters, "mining_mw": by_q["mining_mw"].to_numpy(),
                          "ai_it_mw_online": by_q["ai_it_mw_online"].to_numpy(),
                          "capex_musd": capex.to_numpy(), "budget_musd": budget.to_numpy(),
                          "budget_use_musd": use.to_numpy(),
                          "ai_grid_mw": (by_q["power_used_mw"] - by_q["mining_mw"]).to_numpy(),
                          "axis_label": axis_labels(quarters)})
    last = write_frame(ws, frame, "tChartData")
    put(ws.cell(last + 2, 1), "Series of the Summary charts (portfolio totals; a blank budget "
        "means no limit in that quarter; budget use is what counts against the budget: "
        f"budget_basis = {plan.portfolio.settings.budget_basis}; ai_grid_mw is the grid power "
        "the AI halls reserve, built or building: power used less mining; axis_label, the "
        "charts' quarter labels, one a year).")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))
    return 2, 1 + len(quarters)


def chart_series(chart: BarChart | LineChart | AreaChart, ws: Worksheet, col: int,
                 rows: tuple[int, int], label: str, colour: str) -> None:
    """Add one series (a column's rows) under a reader's label and colour."""
    series = Series(Reference(ws, min_col=col, min_row=rows[0], max_row=rows[1]), title=label)
    series.graphicalProperties.solidFill = colour
    series.graphicalProperties.line.solidFill = colour
    if isinstance(chart, LineChart):
        series.smooth = False  # LibreOffice draws openpyxl's lines smoothed unless told
        series.graphicalProperties.line.width = 28575  # 2.25 pt
    chart.series.append(series)


def style_chart(chart: BarChart | LineChart | AreaChart, axis_title: str) -> None:
    chart.y_axis.title = axis_title
    chart.y_axis.number_format = "#,##0"
    # openpyxl >= 3.1 marks axes deleted unless told otherwise; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def add_charts(ws: Worksheet, cash: Worksheet, cash_rows: tuple[int, int], data: Worksheet,
               data_rows: tuple[int, int], top: int = 2) -> None:
    """Four native charts on the Summary sheet, two by two from row `top` (below the metrics
    and the account: nothing runs under them), each `CHART_CM` in size.

    Net cash flow (columns) with cumulative discounted NPV (line, secondary axis, zero levels
    aligned) from CashFlows; grid MW of mining and of the AI halls (stacked area: both are
    grid MW, summing to the grid power used) and budget use vs budget (columns + line: what
    the budget limits against it; capex itself is on CashFlows) from ChartData; equity cash
    flow with debt outstanding from CashFlows. Quarter axes are labelled by year.
    """
    second = top + CHART_ROWS + 1
    for row in range(top, second + CHART_ROWS + 1):  # rows of the height the anchors assume
        ws.row_dimensions[row].height = 15
    anchors = [f"A{top}", f"{CHART_RIGHT_COL}{top}", f"A{second}", f"{CHART_RIGHT_COL}{second}"]
    col = {c: i for i, c in enumerate(CASH_FLOW_COLUMNS, start=1)}
    bars = BarChart()
    bars.title = "Net cash flow and cumulative discounted NPV, before terminal value ($M)"
    chart_series(bars, cash, col["net_musd"], cash_rows, "net cash flow", "4472C4")
    quarters = Reference(data, min_col=8, min_row=data_rows[0], max_row=data_rows[1])
    bars.set_categories(quarters)
    style_chart(bars, "net cash flow, $M")
    bars.x_axis.tickLblPos = "low"  # quarter labels below the negative bars, not across them
    line = LineChart()
    chart_series(line, cash, col["cumulative_discounted_musd"], cash_rows,
            "cumulative discounted (right axis)", "C00000")
    style_chart(line, "cumulative discounted, $M")
    line.y_axis.axId = 200
    line.y_axis.crosses = "max"
    _align_zero(bars, line, cash.cell, cash_rows, col["net_musd"],
                col["cumulative_discounted_musd"])
    bars += line
    _place(ws, bars, anchors[0])

    area = AreaChart()
    area.grouping = "stacked"  # both series are grid MW: the stack is the grid power used
    area.title = "Grid power used: mining vs AI halls (MW, portfolio)"
    chart_series(area, data, 2, data_rows, "mining (grid MW)", "FFC000")
    chart_series(area, data, 7, data_rows, "AI halls (grid MW reserved)", "70AD47")
    area.set_categories(quarters)
    style_chart(area, "grid MW")
    _place(ws, area, anchors[1])

    capex = BarChart()
    # Budget use, not capex, is what the budget limits: under budget_basis = equity only the
    # equity share counts, and capex set against the budget would look like an overspend.
    capex.title = "Budget use by quarter against the capital budget ($M)"
    chart_series(capex, data, 6, data_rows, "budget use", "ED7D31")
    capex.set_categories(quarters)
    style_chart(capex, "$M")
    budget = LineChart()
    chart_series(budget, data, 5, data_rows, "budget", "404040")
    style_chart(budget, "$M")
    capex += budget
    _place(ws, capex, anchors[2])

    equity = BarChart()
    equity.title = "Equity cash flow and debt outstanding by quarter ($M)"
    chart_series(equity, cash, col["equity_cash_flow_musd"], cash_rows, "equity cash flow",
                 "5B9BD5")
    equity.set_categories(quarters)
    style_chart(equity, "equity cash flow, $M")
    equity.x_axis.tickLblPos = "low"
    debt = LineChart()
    chart_series(debt, cash, col["debt_outstanding_musd"], cash_rows,
                 "debt outstanding (right axis)", "7030A0")
    style_chart(debt, "debt outstanding, $M")
    debt.y_axis.axId = 300
    debt.y_axis.crosses = "max"
    equity += debt
    _place(ws, equity, anchors[3])


def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at least `raw` (a readable axis step)."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw * (1 - 1e-12):
            return m * power
    return 10 * power


def axis_scales(ranges: list[tuple[float, float]], intervals: int = 8
                ) -> list[tuple[float, float, float]]:
    """(min, max, step) for each (lo, hi) so that every axis puts zero on the same gridline.

    Each axis gets `intervals` steps, k of them above zero (the same k for all axes), with a
    readable step; k is chosen to waste the least height.
    """
    spans = [(min(lo, 0.0), max(hi, 0.0)) for lo, hi in ranges]
    best: tuple[float, list[tuple[float, float, float]]] | None = None
    for k in range(intervals, -1, -1):  # on a tie, prefer room above zero
        scales, waste = [], 0.0
        for lo, hi in spans:
            if (hi > 0 and k == 0) or (lo < 0 and k == intervals):
                break
            need = max(hi / k if k else 0.0, -lo / (intervals - k) if k < intervals else 0.0)
            step = nice_step(need)
            scales.append((-(intervals - k) * step, k * step, step))
            waste += 1 - (hi - lo) / (intervals * step) if hi > lo else 0.0
        else:
            if best is None or waste < best[0]:
                best = (waste, scales)
    return best[1] if best else [(0.0, 1.0, 0.125) for _ in ranges]


def _align_zero(bars: BarChart, line: LineChart, cell: Callable[[int, int], Cell],
                rows: tuple[int, int], bar_col: int, line_col: int) -> None:
    """Put the zero of the secondary (line) axis level with the zero of the bars' axis."""
    def span(col: int) -> tuple[float, float]:
        values = [cell(r, col).value for r in range(rows[0], rows[1] + 1)]
        numbers = [v for v in values if isinstance(v, int | float)]
        return (min(numbers, default=0.0), max(numbers, default=0.0))

    for chart, (lo, hi, step) in zip((bars, line), axis_scales([span(bar_col), span(line_col)]),
                                     strict=True):
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = lo, hi
        chart.y_axis.majorUnit = step


# Summary charts: size (cm), rows each takes (15-point rows), the column of the right-hand pair.
CHART_CM = (14.5, 13.0)  # fits columns A:D (15 cm in Calibri, wider in other fonts)
CHART_ROWS = 25
CHART_RIGHT_COL = "E"  # the notes' column, 70 characters (`sheets.SUMMARY_WIDTHS`)
QUARTER_LABEL_STEP = 4  # a tick mark a year on the charts' axes (labels: `axis_labels`)


def _place(ws: Worksheet, chart: BarChart | AreaChart, anchor: str) -> None:
    chart.width, chart.height = CHART_CM
    chart.legend.position = "b"
    chart.x_axis.tickMarkSkip = QUARTER_LABEL_STEP
    ws.add_chart(chart, anchor)
