"""Block Kit and chart of `/crm stats`: the figures as a table in code blocks (one row per rep,
then the team's) and a PNG of invoiced amount and margin per rep. Pure functions: data in,
message or bytes out."""
from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal

from matplotlib.figure import Figure  # the object API draws with Agg, without pyplot's global state

from bot.blocks import context, escape, header, message, plain_section, section
from crm.stats import Figures, RepFigures

COLUMNS = (("Rep", 16), ("Prosp/Cust", 10), ("Proposals", 9), ("Proposed", 12), ("Signed", 6),
           ("Won", 12), ("Win%", 5), ("Orders", 12), ("Invoiced", 12), ("Margin", 12), ("Events", 6))
ROWS_PER_BLOCK = 18  # a code block of this many rows stays under 3,000 characters
MAX_ROWS = 90  # beyond this, the rest are counted, not shown (asking for one rep shows theirs)
CHART_REPS = 15
NO_REP = "No rep"


def in_progress(label: str) -> dict:
    text = f"Working out the figures for {label}…"
    return message(text, [plain_section(f"\u23f3 {text}")])


def failed(label: str, reason: str) -> dict:
    text = f"The figures for {label} could not be worked out: {reason}"
    return message(text, [plain_section(f"\u26a0\ufe0f {text}")])


def figures_message(found: Figures, names: dict[str, str]) -> dict:
    title = f"Figures for {found.period.label}"
    blocks = [header(title),
              context(f"{found.period.first_day} to {found.period.last_day} · amounts in {found.currency} "
                      "excluding tax, rounded · documents count for their rep on the day they were validated")]
    if not found.reps:
        blocks.append(plain_section("Nobody has third parties or documents to count in this period."))
        return message(title, blocks)
    rows = [_row(_name(r, names), r) for r in found.reps[:MAX_ROWS]]
    lines = [_row_text([name for name, _ in COLUMNS]), *rows]
    for start in range(0, len(lines), ROWS_PER_BLOCK):
        blocks.append(section("```" + "\n".join(lines[start:start + ROWS_PER_BLOCK]) + "```"))
    if len(found.reps) > 1:
        blocks.append(section("```" + _row("Team", found.team) + "```"))
    notes = []
    if len(found.reps) > MAX_ROWS:
        notes.append(f"{len(found.reps) - MAX_ROWS} more reps are not shown: ask for one with `/crm stats @name`.")
    if found.other_currencies:
        counted = ", ".join(f"{count} in {code}" for code, count in sorted(found.other_currencies.items()))
        notes.append(f"Documents in other currencies are counted but their amounts are left out: {counted}.")
    notes.append("Proposed, Won: amounts of the proposals validated, signed in the period. "
                 "Win%: signed ÷ (signed + refused) among proposals closed in the period. "
                 "A customer with two reps counts for each, once in the team's total.")
    blocks.append(context(" ".join(notes)))
    return message(title, blocks)


def _name(row: RepFigures, names: dict[str, str]) -> str:
    return NO_REP if row.rep_id is None else names.get(row.rep_id, row.rep_id)


def _row(name: str, row: RepFigures) -> str:
    rate = "—" if row.win_rate is None else f"{_whole(row.win_rate * 100)}%"
    return escape(_row_text([name, f"{row.prospects}/{row.customers}", str(row.proposals),
                      _whole(row.proposals_amount), str(row.signed), _whole(row.signed_amount), rate,
                      _whole(row.orders_amount), _whole(row.invoices_amount), _whole(row.margin), str(row.events)]))


def _row_text(cells: list[str]) -> str:
    first, *others = [(cell if len(cell) <= width else cell[:width - 1] + "…", width)
                      for cell, (_, width) in zip(cells, COLUMNS)]
    return " ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in others)])


def _whole(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal(1), rounding=ROUND_HALF_UP):,f}"


def chart_png(found: Figures, names: dict[str, str]) -> bytes | None:
    """Invoiced amount and margin per rep (the most invoiced first), as a PNG; None when there is
    nothing to draw. CPU work: run it off the event loop."""
    shown = [row for row in found.reps[:CHART_REPS] if row.invoices_amount or row.margin]
    if not shown:
        return None
    labels = [_name(row, names)[:16].replace("$", r"\$") for row in shown]  # a "$" would start mathtext
    figure = Figure(figsize=(max(6.0, 1.1 * len(shown) + 2), 4.5), dpi=100)
    axes = figure.subplots()
    positions = range(len(shown))
    # floats only here, for drawing: the figures themselves stay Decimal
    axes.bar([p - 0.2 for p in positions], [float(row.invoices_amount) for row in shown], 0.4, label="Invoiced")
    axes.bar([p + 0.2 for p in positions], [float(row.margin) for row in shown], 0.4, label="Margin")
    crowded = len(shown) > 5
    axes.set_xticks(list(positions), labels, rotation=30 if crowded else 0, ha="right" if crowded else "center")
    axes.set_ylabel(f"{found.currency}, excluding tax")
    axes.set_title(f"Invoiced and margin per rep, {found.period.label}")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return png.getvalue()
