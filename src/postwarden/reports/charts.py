"""Charts of a provider's daily series, drawn by matplotlib on the server: volume,
complaint rate against its lines, bounce rate against its lines, and each
remediation step as a numbered marker on every panel. The same function serves the
web pages (SVG) and the dossier (SVG for HTML, PNG for Markdown, a figure for PDF).

Figures are made with ``matplotlib.figure.Figure`` directly, never pyplot: no GUI
backend is chosen, and drawing holds no global state, so it is safe from several
threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from postwarden.reports.stats import Counts, Lines, ProviderSeries

WARNING_COLOUR = "#d98a00"
CRITICAL_COLOUR = "#c0392b"
STEP_COLOUR = "#2c7a7b"
SENT_COLOUR = "#4a6fa5"


def _steps_in_range(steps: Sequence[Any], first: date, last: date) -> list[tuple[int, datetime, str]]:
    numbered = [(n, s.at, s.text) for n, s in enumerate(steps, start=1)]
    return [(n, at, text) for n, at, text in numbered if first <= at.date() <= last]


def provider_figure(series: ProviderSeries, lines: Lines, steps: Sequence[Any] = (),
                    title: str | None = None) -> Figure:
    """Three panels sharing the day axis. ``steps`` are remediation rows (``at``,
    ``text``) numbered in the order given, as the dossier lists them."""
    days = [d for d, _ in series.days]
    counts = [c for _, c in series.days]
    figure = Figure(figsize=(9, 6.4), layout="constrained")
    volume, complaints, bounces = figure.subplots(3, 1, sharex=True, height_ratios=(1, 1, 1))
    figure.suptitle(title or f"{series.label}: daily volume and rates", fontsize=12)

    volume.bar(days, [c.sent for c in counts], color=SENT_COLOUR, width=0.8, label="sent")
    volume.set_ylabel("messages sent")

    def rate_panel(axes: Any, rates: list[float | None], pair: tuple[float, float], name: str) -> None:
        shown = [r if r is not None else float("nan") for r in rates]
        axes.plot(days, shown, marker="o", markersize=2.5, linewidth=1.4, color="#333333", label=name)
        axes.axhline(pair[0], color=WARNING_COLOUR, linestyle="--", linewidth=1,
                     label=f"warning {pair[0]:.1%}")
        axes.axhline(pair[1], color=CRITICAL_COLOUR, linestyle="--", linewidth=1,
                     label=f"critical {pair[1]:.1%}")
        top = max([pair[1] * 1.25, *(r for r in rates if r is not None)])
        axes.set_ylim(0, top * 1.05)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2 if pair[1] < 0.01 else 0))
        axes.set_ylabel(name)
        # Above the panel, where no data can be hidden under it.
        axes.legend(loc="lower right", bbox_to_anchor=(1, 1), fontsize=7, frameon=False, ncols=3,
                    borderaxespad=0.1)

    rate_panel(complaints, [c.complaint_rate for c in counts], lines.complaint, "complaint rate")
    rate_panel(bounces, [c.bounce_rate for c in counts], lines.bounce, "bounce rate")

    if days:
        for number, at, _ in _steps_in_range(steps, days[0], days[-1]):
            for axes in (volume, complaints, bounces):
                axes.axvline(at, color=STEP_COLOUR, linewidth=1.2, alpha=0.8)
            volume.annotate(f"{number}", xy=(at, 1), xycoords=("data", "axes fraction"),
                            xytext=(2, -2), textcoords="offset points", va="top", color=STEP_COLOUR,
                            fontsize=8, fontweight="bold")
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        bounces.xaxis.set_major_locator(locator)
        bounces.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    for axes in (volume, complaints, bounces):
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    return figure


def render(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # No embedded creation date: the same data gives the same file.
    metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
    figure.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
    return buffer.getvalue()


def provider_svg(series: ProviderSeries, lines: Lines, steps: Sequence[Any] = (),
                 title: str | None = None) -> str:
    """The chart as an SVG document, for the web pages and the HTML dossier."""
    return render(provider_figure(series, lines, steps, title), "svg").decode()


def effects_figure(effects: Sequence[tuple[str, Counts, Counts]], lines: Lines) -> Figure:
    """Rates before and after each remediation step: ``effects`` are (label, counts
    over the days before, counts over the days after), one pair of bars each."""
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    figure.suptitle("Rates before and after each remediation step", fontsize=12)
    labels = [label for label, _, _ in effects]
    positions = list(range(len(effects)))
    for axes, name, pair, rate in (
            (figure.add_subplot(1, 2, 1), "complaint rate", lines.complaint, "complaint_rate"),
            (figure.add_subplot(1, 2, 2), "bounce rate", lines.bounce, "bounce_rate")):
        before: list[float] = [getattr(b, rate) or 0.0 for _, b, _ in effects]
        after: list[float] = [getattr(a, rate) or 0.0 for _, _, a in effects]
        axes.bar([p - 0.2 for p in positions], before, width=0.4, color="#9aa5b1", label="before")
        axes.bar([p + 0.2 for p in positions], after, width=0.4, color=STEP_COLOUR, label="after")
        axes.axhline(pair[0], color=WARNING_COLOUR, linestyle="--", linewidth=1)
        axes.axhline(pair[1], color=CRITICAL_COLOUR, linestyle="--", linewidth=1)
        axes.set_xticks(positions, labels)
        axes.set_ylim(0, max([pair[1] * 1.25, *before, *after]) * 1.05)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2 if pair[1] < 0.01 else 0))
        axes.set_title(name, fontsize=10)
        axes.set_xlabel("step")
        axes.legend(fontsize=7, frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
    return figure
