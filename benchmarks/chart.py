"""A hand-written SVG bar chart of one report's ratios (no plotting dependency).

Three panels, each with its own scale: kernel time relative to fastsession (log
scale, 1× line), µs added per request by each session middleware (log scale, the
targets drawn as lines), and the share of bare requests/s kept over HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from benchmarks.ratios import KEEP_TARGETS, TRAFFIC_KEEP_TARGETS, Row

WIDTH, LABEL_W, VALUE_W, ROW_H, TITLE_H, GAP = 960, 300, 150, 18, 46, 16
PLOT_W = WIDTH - LABEL_W - VALUE_W
OURS, PEER, AXIS = "#1f6fb2", "#9aa3ad", "#444"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    ours: bool


@dataclass(frozen=True)
class Panel:
    title: str
    bars: Sequence[Bar]
    log: bool = False
    marks: Sequence[tuple[float, str]] = ()  # reference lines: value, caption


def _x(panel: Panel, value: float, lo: float, hi: float) -> float:
    if panel.log:
        value = min(max(value, lo), hi)
        return LABEL_W + PLOT_W * (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return LABEL_W + PLOT_W * max(0.0, value - lo) / (hi - lo)


def _bounds(panel: Panel) -> tuple[float, float]:
    values = [b.value for b in panel.bars if b.value > 0] + [v for v, _ in panel.marks]
    if panel.log:
        # Below 1/8 (of a µs, or of fastsession's time) nothing is worth a bar's length.
        lo = 2 ** math.floor(math.log2(max(min(values + [1.0]), 0.125)))
        hi = 2 ** math.ceil(math.log2(max(values + [2.0])))
        return lo, max(hi, lo * 2)
    return 0.0, (max(values) if values else 1.0) * 1.05 or 1.0


def _panel(panel: Panel, top: float) -> tuple[list[str], float]:
    lo, hi = _bounds(panel)
    out = [f'<text x="8" y="{top + 20:.0f}" class="title">{escape(panel.title)}</text>']
    y0 = top + TITLE_H
    bottom = y0 + ROW_H * len(panel.bars)
    for i, bar in enumerate(panel.bars):
        y = y0 + i * ROW_H
        start = _x(panel, lo if panel.log else 0.0, lo, hi)
        end = _x(panel, bar.value, lo, hi) if bar.value > 0 else start
        colour = OURS if bar.ours else PEER
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + 13:.0f}" class="label">{escape(bar.label)}</text>'
        )
        out.append(
            f'<rect x="{start:.1f}" y="{y + 3:.0f}" width="{max(end - start, 1):.1f}" '
            f'height="{ROW_H - 6}" fill="{colour}"/>'
        )
        out.append(
            f'<text x="{end + 4:.1f}" y="{y + 13:.0f}" class="value">{escape(bar.text)}</text>'
        )
    last = -1e9
    for value, caption in sorted(panel.marks):
        x = _x(panel, value, lo, hi)
        lift = 10 if x - last < 40 else 0  # stagger captions that would overlap
        last = x if not lift else -1e9
        out.append(
            f'<line x1="{x:.1f}" y1="{y0 - 4:.0f}" x2="{x:.1f}" y2="{bottom + 2:.0f}" '
            f'class="markline"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y0 - 7 - lift:.0f}" class="marktext">{escape(caption)}</text>'
        )
    out.append(
        f'<line x1="{LABEL_W}" y1="{bottom + 2:.0f}" x2="{LABEL_W + PLOT_W}" '
        f'y2="{bottom + 2:.0f}" stroke="{AXIS}"/>'
    )
    for tick in _ticks(panel, lo, hi):
        x = _x(panel, tick, lo, hi)
        out.append(
            f'<line x1="{x:.1f}" y1="{bottom + 2:.0f}" x2="{x:.1f}" y2="{bottom + 6:.0f}" '
            f'stroke="{AXIS}"/>'
        )
        out.append(f'<text x="{x:.1f}" y="{bottom + 17:.0f}" class="tick">{tick:.4g}</text>')
    return out, bottom + 20 + GAP


def _ticks(panel: Panel, lo: float, hi: float) -> list[float]:
    if panel.log:
        steps = max(1, round(math.log2(hi / lo)))
        every = 1 if steps <= 10 else 2
        return [lo * 2**i for i in range(0, steps + 1, every)]
    step = 10 ** math.floor(math.log10(hi / 2)) if hi > 0 else 1
    step *= 2 if hi / step > 10 else 1
    return [i * step for i in range(int(hi // step) + 1)]


def _added_label(group: str, row: Row) -> str:
    if group.startswith("traffic-") and row.sessions:
        return f"{group.removeprefix('traffic-')} · {row.sessions:,} sessions · {row.contender}"
    return f"{group.removeprefix('middleware-')} · {row.contender}"


def _traffic(row: Mapping[str, Any]) -> str:
    count = int(row.get("cookies", 1))
    return "" if count == 1 else f" · {count:,} sessions"


def panels(
    groups: Mapping[str, Sequence[Row]], http_rows: Sequence[Mapping[str, Any]]
) -> list[Panel]:
    kernels: list[Bar] = []
    added: list[Bar] = []
    targets: set[float] = set()
    for name, rows in groups.items():
        for r in rows:
            if r.added is not None and not r.contender.startswith("bare"):
                # The bare-control rows (noise, about 0) stay in the table: on a log scale
                # they would only stretch the axis.
                added.append(
                    Bar(
                        _added_label(name, r),
                        r.added * 1e6,
                        f"{r.added * 1e6:+.1f} µs",
                        r.is_reference,
                    )
                )
                if r.target is not None:
                    targets.add(r.target)
            elif r.ratio is not None and not name.startswith("middleware"):
                kernels.append(
                    Bar(
                        f"{name} · {r.contender}",
                        r.ratio,
                        f"{r.ratio:.2f}×",
                        "fastsession" in r.contender,
                    )
                )
    keeps = [
        Bar(
            f"{r['framework']} · {r['contender']} · {r['op']}" + _traffic(r),
            r["keep"] * 100,
            f"{r['keep']:.0%}"
            + (f" (by CPU {r['cpu_keep']:.0%})" if isinstance(r.get("cpu_keep"), float) else ""),
            "fastsession" in r["contender"],
        )
        for r in http_rows
        if isinstance(r.get("keep"), float) and r["contender"] != "bare"
    ]
    found = []
    if kernels:
        found.append(
            Panel(
                "Kernels: time relative to fastsession (log scale; right of 1× = slower)",
                kernels,
                log=True,
                marks=[(1.0, "1×")],
            )
        )
    if added:
        found.append(
            Panel(
                "Middleware in-process: µs added per request to the bare app (log scale)",
                added,
                log=True,
                marks=[(t, f"{t:g} µs") for t in sorted(targets)],
            )
        )
    if keeps:
        targets_kept = [*KEEP_TARGETS.values(), *TRAFFIC_KEEP_TARGETS.values()]
        marks = sorted({(v * 100, f"{v:.0%}") for v in targets_kept})
        found.append(Panel("HTTP: share of the bare app's requests/s kept", keeps, marks=marks))
    return found


def svg(found: Sequence[Panel], subtitle: str = "") -> str:
    body: list[str] = []
    top = 30.0
    for panel in found:
        part, top = _panel(panel, top)
        body += part
    height = top + 10
    style = (
        "text{font-family:system-ui,sans-serif;font-size:12px;fill:#222}"
        ".title{font-size:14px;font-weight:600}.label{text-anchor:end}"
        ".value{fill:#333}.markline{stroke:#c0392b;stroke-dasharray:4 3}"
        ".marktext{fill:#c0392b;text-anchor:middle;font-size:10px}"
        ".tick{fill:#555;text-anchor:middle;font-size:10px}"
    )
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}">',
        f"<style>{style}</style>",
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="#fff"/>',
        f'<text x="8" y="18" class="value">{escape(subtitle)}</text>',
    ]
    return "\n".join([*head, *body, "</svg>", ""])
