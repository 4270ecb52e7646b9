"""The report's Markdown (pure, no I/O): one cookie beside real traffic, then every group.

Two summary tables put each figure measured with one replayed cookie beside the same
figure on real traffic (many sessions visited in turn): in-process, the µs a middleware
adds to its bare app and that cost ÷ fastsession's (``middleware-*`` beside
``traffic-*`` groups); over HTTP, requests/s and the share of the bare app's kept. The
verdict column holds this project's targets. The per-group tables follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.ratios import (
    KEEP_TARGETS,
    TRAFFIC_KEEP_TARGETS,
    TRAFFIC_SHARE_TARGETS,
    Row,
    calibration,
    fmt_added,
    fmt_ratio,
    group_table,
)

REFERENCE_PEER = "starlette"  # the traffic targets are shares of its added cost
FLOOR = "floor"  # benchmarks/floor.py: the least a store-backed middleware does


def _share(fraction: float) -> str:
    return f"1/{1 / fraction:.3g}"


def traffic_verdict(ours: Row, peer: Row | None, op: str) -> str:
    """fastsession's added cost on real traffic against its share of Starlette's."""
    target = TRAFFIC_SHARE_TARGETS.get(op)
    if target is None or peer is None or peer.added is None or ours.added is None:
        return ""
    if peer.added <= 0:
        return f"≤ {_share(target)} of {REFERENCE_PEER}'s: n/a (its cost is within noise)"
    share = ours.added / peer.added
    met = "met" if share <= target else "MISSED"
    here = f"{_share(share)}" if share > 0 else "≤ 0"
    return f"≤ {_share(target)} of {REFERENCE_PEER}'s (here {here}): {met}"


def floor_verdict(floor: Row, peer: Row | None, op: str) -> str:
    """The yardstick's own share of Starlette's cost: what the target asks of it."""
    target = TRAFFIC_SHARE_TARGETS.get(op)
    if target is None or peer is None or not peer.added or floor.added is None:
        return ""
    share = floor.added / peer.added
    here = f"{_share(share)}" if share > 0 else "≤ 0"
    within = "within" if share <= target else "above"
    return f"yardstick: {here} of {REFERENCE_PEER}'s, {within} the {_share(target)} target"


def side_by_side(groups: Mapping[str, Sequence[Row]]) -> list[str]:
    """In-process: each contender's one-cookie figures beside its real-traffic ones."""
    pairs = [
        (name.removeprefix("middleware-"), rows, groups.get("traffic-" + name[11:], []))
        for name, rows in groups.items()
        if name.startswith("middleware-")
    ]
    pairs = [p for p in pairs if p[2]]
    if not pairs:
        return []
    sessions = max((r.sessions or 0 for _, _, t in pairs for r in t), default=0)
    lines = [
        f"### In-process: one cookie beside {sessions:,} sessions",
        "",
        f"The same variants on one replayed cookie (`middleware-*`) and on {sessions:,} "
        "sessions created by real logins and visited in a random order, one per request "
        "(`traffic-*`): µs added per request to the bare app, and each contender's added "
        "cost ÷ fastsession's in its family.",
        "",
        "| case | contender | one cookie: added | ÷ fastsession | "
        f"{sessions:,} sessions: added | ÷ fastsession | verdict ({sessions:,} sessions) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for case, one_rows, many_rows in pairs:
        op = case.rsplit("-", 1)[-1]
        one = {r.contender: r for r in one_rows}
        many = {r.contender: r for r in many_rows}
        peer = many.get(REFERENCE_PEER)
        for r in many_rows:
            if r.added is None:  # the bare app itself
                continue
            before = one.get(r.contender)
            verdict = ""
            if r.is_reference and r.baseline == "bare":
                verdict = traffic_verdict(r, peer, op)
            elif r.contender == FLOOR:
                verdict = floor_verdict(r, peer, op)
            label = f"**{r.contender}**" if r.is_reference else r.contender
            cells = [
                case.replace("-", " "),
                label,
                "n/a" if before is None or before.added is None else fmt_added(before.added),
                "n/a" if before is None else fmt_ratio(before.ratio),
                fmt_added(r.added),
                fmt_ratio(r.ratio),
                verdict,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _keep_verdict(row: Mapping[str, Any] | None, targets: Mapping[Any, float], tag: str) -> str:
    if row is None:
        return ""
    target = targets.get((row["framework"], row["contender"], row["op"]))
    keep = row.get("keep")
    if target is None or not isinstance(keep, float):
        return ""
    return f"{tag} ≥ {target:.0%}: {'met' if keep >= target else 'MISSED'}"


def _cells(row: Mapping[str, Any] | None) -> list[str]:
    if row is None:
        return ["n/a"] * 4
    keep, cpu_keep, cpu_us = row.get("keep"), row.get("cpu_keep"), row.get("cpu_us")
    return [
        f"{row['median']:.0f}",
        f"{keep:.0%}" if isinstance(keep, float) else "n/a",
        f"{cpu_keep:.0%}" if isinstance(cpu_keep, float) else "n/a",
        f"{cpu_us:.1f} µs" if isinstance(cpu_us, float) else "n/a",
    ]


def http_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per framework, contender and operation: the one-cookie figures, then the
    same on many sessions in turn (``cookies`` > 1), each keep against the bare app's
    slices of the same traffic. *by CPU* is the keep ratio by server CPU per request."""
    many = max((int(r.get("cookies", 1)) for r in rows), default=1)
    paired: dict[tuple[str, str, str], dict[int, Mapping[str, Any]]] = {}
    for r in rows:
        key = (r["framework"], r["contender"], r["op"])
        paired.setdefault(key, {})[int(r.get("cookies", 1))] = r
    title = "one cookie" if many == 1 else f"one cookie beside {many:,} sessions"
    lines = [
        f"### HTTP (uvicorn / Node on 127.0.0.1): {title}",
        "",
        "| framework | contender | op | one cookie: req/s | keep | by CPU | CPU/req "
        f"| {many:,} sessions: req/s | keep | by CPU | CPU/req | verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (framework, contender, op), found in paired.items():
        one, turn = found.get(1), found.get(many) if many > 1 else None
        verdicts = [
            _keep_verdict(one, KEEP_TARGETS, "one cookie"),
            _keep_verdict(turn, TRAFFIC_KEEP_TARGETS, f"{many:,} sessions"),
        ]
        cells = [
            framework,
            contender,
            op,
            *_cells(one),
            *_cells(turn),
            "; ".join(v for v in verdicts if v),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def markdown(
    machine: Mapping[str, Any],
    groups: Mapping[str, Sequence[Row]],
    http: Mapping[str, Any] | None,
    notes: Sequence[str] = (),
) -> str:
    lines = ["# fastsession benchmark report", ""]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    if http:
        s = http.get("settings", {})
        lines.append(
            f"- HTTP: {s.get('load')} with {s.get('connections')} connections, "
            f"{s.get('duration')} s slices x {s.get('rounds')} rounds, uvicorn "
            f"--loop {s.get('loop')} --http {s.get('http')}"
        )
    lines += [f"- note: {n}" for n in [*notes, *calibration(groups)]]
    lines += [
        "",
        "Ratios are from this one run. Kernels: time / fastsession's time (above 1: "
        "fastsession is faster). Middleware: µs a session middleware adds to its bare app "
        "per request, and that cost / fastsession's.",
        "",
    ]
    lines += side_by_side(groups)
    if http:
        lines += http_table(http.get("rows", []))
    for name, rows in groups.items():
        lines += group_table(name, rows)
    return "\n".join(lines)
