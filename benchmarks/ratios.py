"""From one run's pytest-benchmark JSON and HTTP results to ratio tables (pure, no I/O).

Kernel groups: each contender's median and its ratio to the fastsession contender.
Middleware groups (``extra_info["baseline"]`` set): µs per request, µs added to the bare
app of the same family, that cost relative to fastsession's, and the objects per request
left to the cyclic GC (``extra_info["gc_objects"]``). benchmarks/tables.py turns these
and the HTTP keep ratios into the report's Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The targets this project set itself (medians, same run).
ADDED_US_TARGETS = {"read": 3.0, "write": 5.0}
# What Starlette's SessionMiddleware added in-process when the targets were set.
STARLETTE_REFERENCE_US = {"read": 15.5, "write": 30.0}
# HTTP: the share of the bare app's requests/s kept, with one replayed cookie...
KEEP_TARGETS = {
    ("starlette", "fastsession", "read"): 0.90,
    ("starlette", "fastsession", "write"): 0.85,
}
# ...and on real traffic (many sessions visited in turn, benchmarks/http_traffic.py).
TRAFFIC_KEEP_TARGETS = {
    ("starlette", "fastsession", "read"): 0.85,
    ("starlette", "fastsession", "write"): 0.80,
}
# In-process on real traffic (benchmarks/bench_traffic.py): fastsession's added cost at
# most this share of Starlette SessionMiddleware's, in the same run.
TRAFFIC_SHARE_TARGETS = {"read": 1 / 6, "write": 1 / 10}


@dataclass(frozen=True)
class Entry:
    group: str
    contender: str
    seconds: float  # median per call (per round divided by extra_info["calls"])
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    group: str
    contender: str
    seconds: float
    ratio: float | None  # kernels: time / fastsession's; middleware: added / fastsession's added
    added: float | None = None  # middleware only: seconds over the baseline
    target: float | None = None  # middleware only: the added-µs target, if any
    is_reference: bool = False
    baseline: str | None = None  # middleware only: the bare variant it is measured against
    gc_objects: float | None = None  # middleware only: objects per request left to the GC
    sessions: int | None = None  # real-traffic groups: the sessions visited in turn


def _split_name(name: str) -> tuple[list[str], str | None]:
    base, _, param = name.partition("[")
    tokens = base.removeprefix("test_").split("_")
    return tokens, (param.rstrip("]") or None)


def contenders(names: Sequence[str]) -> list[str]:
    """Contender labels for the tests of one group: what differs between their names.

    ``test_unsign_c``/``test_unsign_py``/``test_unsign_itsdangerous`` give c/py/
    itsdangerous; ``test_sign[c]``/``test_sign[py]`` give c/py; mixed forms keep both.
    """
    split = [_split_name(n) for n in names]
    bases = [tokens for tokens, _ in split]
    if len({tuple(b) for b in bases}) > 1:
        shortest = min(len(b) for b in bases)
        head = 0
        while head < shortest - 1 and len({b[head] for b in bases}) == 1:
            head += 1
        tail = 0
        while tail < shortest - head - 1 and len({b[-1 - tail] for b in bases}) == 1:
            tail += 1
        cores = ["_".join(b[head : len(b) - tail]) for b in bases]
    else:
        cores = ["" for _ in bases]
    labels = []
    for core, (tokens, param) in zip(cores, split, strict=True):
        if core and param:
            labels.append(f"{core}[{param}]")
        else:
            labels.append(core or param or tokens[-1])
    return labels


def display(contender: str) -> str:
    """Bare twin tags name fastsession's own implementations."""
    return {"c": "fastsession[c]", "py": "fastsession[py]"}.get(contender, contender)


def entries(data: Mapping[str, Any]) -> list[Entry]:
    """The benchmarks of a pytest-benchmark JSON document, contenders named."""
    benches = data.get("benchmarks", [])
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for b in benches:
        by_group.setdefault(b.get("group") or b["name"].partition("[")[0], []).append(b)
    found: list[Entry] = []
    for group, members in by_group.items():
        derived = contenders([m["name"] for m in members])
        for member, label in zip(members, derived, strict=True):
            extra = member.get("extra_info") or {}
            calls = extra.get("calls") or 1
            contender = display(str(extra.get("contender") or label))
            found.append(Entry(group, contender, member["stats"]["median"] / calls, extra))
    return found


def _reference(group: Sequence[Entry]) -> Entry | None:
    """fastsession's contender: flagged, else compiled, else any fastsession, else py."""
    tests: tuple[Callable[[Entry], bool], ...] = (
        lambda e: bool(e.extra.get("reference")),
        lambda e: re.search(r"fastsession(\[c\]|[_-]c\b|$)", e.contender) is not None,
        lambda e: "fastsession" in e.contender and "py" not in e.contender,
        lambda e: "fastsession" in e.contender,
    )
    for test in tests:
        hits = [e for e in group if test(e)]
        if hits:
            return hits[0]
    return None


def kernel_rows(group: Sequence[Entry]) -> list[Row]:
    ref = _reference(group)
    rows = []
    for e in sorted(group, key=lambda e: e.seconds):
        ratio = e.seconds / ref.seconds if ref and ref.seconds else None
        rows.append(Row(e.group, e.contender, e.seconds, ratio, is_reference=e is ref))
    return rows


def middleware_rows(group: Sequence[Entry]) -> list[Row]:
    """Per baseline family: the bare row, then each contender's added cost, with its ratio
    to the added cost of the fastsession contender of the same family."""
    by_name = {e.contender: e for e in group}
    op = str(group[0].extra.get("op", ""))
    rows = []
    families: dict[str, list[Entry]] = {}
    for e in group:
        families.setdefault(str(e.extra["baseline"]), []).append(e)
    for baseline, members in families.items():
        base = by_name.get(baseline)
        added = {e.contender: e.seconds - base.seconds for e in members if base is not None}
        ref = _reference([e for e in members if e.contender != baseline])
        ref_added = added.get(ref.contender) if ref else None
        for e in sorted(members, key=lambda e: (e.contender != baseline, e.seconds)):
            is_base = e.contender == baseline
            extra = None if is_base else added.get(e.contender)
            ratio = extra / ref_added if extra is not None and ref_added and ref_added > 0 else None
            # The targets are on a bare ASGI/WSGI app with a MemoryStore: not on other
            # stores' groups, nor on a framework's family (Flask's spread swamps µs).
            in_scope = e.group.startswith("middleware-") and baseline == "bare"
            target = ADDED_US_TARGETS.get(op) if e is ref and in_scope else None
            gc_objects, sessions = e.extra.get("gc_objects"), e.extra.get("sessions")
            rows.append(
                Row(
                    e.group,
                    e.contender,
                    e.seconds,
                    ratio,
                    extra,
                    target,
                    e is ref,
                    baseline,
                    None if gc_objects is None else float(gc_objects),
                    None if sessions is None else int(sessions),
                )
            )
    return rows


def grouped(found: Iterable[Entry]) -> dict[str, list[Row]]:
    groups: dict[str, list[Entry]] = {}
    for e in found:
        groups.setdefault(e.group, []).append(e)

    def is_middleware(name: str) -> bool:
        return all("baseline" in e.extra for e in groups[name])

    out = {}
    for name in sorted(groups, key=lambda g: (is_middleware(g), not g.startswith("middleware"), g)):
        members = groups[name]
        out[name] = middleware_rows(members) if is_middleware(name) else kernel_rows(members)
    return out


def fmt_time(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.2f} µs" if us >= 1 else f"{us * 1000:.0f} ns"


def fmt_added(seconds: float) -> str:
    return ("-" if seconds < 0 else "+") + fmt_time(abs(seconds))


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}×"


def group_table(name: str, rows: Sequence[Row]) -> list[str]:
    if any(r.baseline is not None for r in rows):
        lines = [
            f"### {name}",
            "",
            "| contender | per request | added vs bare | added vs fastsession | target "
            "| GC objects/req |",
            "|---|---:|---:|---:|---|---:|",
        ]
        for r in rows:
            added = "baseline" if r.added is None else fmt_added(r.added)
            target = ""
            if r.target is not None and r.added is not None:
                met = "met" if r.added * 1e6 <= r.target else "MISSED"
                target = f"≤ {r.target:g} µs: {met}"
            label = f"**{r.contender}**" if r.is_reference else r.contender
            gc_objects = "n/a" if r.gc_objects is None else f"{r.gc_objects:g}"
            cells = [label, fmt_time(r.seconds), added, fmt_ratio(r.ratio), target, gc_objects]
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines = [f"### {name}", "", "| contender | median | vs fastsession |", "|---|---:|---:|"]
        for r in rows:
            label = f"**{r.contender}**" if r.is_reference else r.contender
            lines.append(f"| {label} | {fmt_time(r.seconds)} | {fmt_ratio(r.ratio)} |")
    return [*lines, ""]


def calibration(groups: Mapping[str, Sequence[Row]]) -> list[str]:
    """How this run's machine state compares with the one the targets were set on,
    gauged by Starlette's SessionMiddleware, and fastsession's cost on that scale."""
    notes = []
    for op, then in STARLETTE_REFERENCE_US.items():
        rows = {r.contender: r for r in groups.get(f"middleware-asgi-{op}", [])}
        peer, ours = rows.get("starlette"), rows.get("fastsession")
        if peer is None or peer.added is None or peer.added <= 0:
            continue
        now = peer.added * 1e6
        line = (
            f"ASGI {op}: Starlette adds {now:.1f} µs here ({then:g} µs when the targets were set)"
        )
        if ours is not None and ours.added is not None:
            scaled = ours.added * 1e6 * then / now
            line += f"; on that scale fastsession adds {scaled:.1f} µs"
        notes.append(line)
    return notes
