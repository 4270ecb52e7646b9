"""The benchmark report's arithmetic: contender names, ratios, targets, wrk parsing, SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import pytest

from benchmarks import chart, ratios, tables
from benchmarks.http_load import Measurement, Sample, cpu_seconds, keep_ratios
from benchmarks.http_traffic import parse_wrk


def bench(name: str, group: str, median: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "group": group, "stats": {"median": median}, "extra_info": extra}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ["test_unsign_c", "test_unsign_py", "test_unsign_itsdangerous"],
            ["c", "py", "itsdangerous"],
        ),
        (["test_sign_c", "test_sign_hmac_floor"], ["c", "hmac_floor"]),
        (["test_c_parse", "test_py_parse", "test_werkzeug_parse"], ["c", "py", "werkzeug"]),
        (["test_get[c]", "test_get[py]", "test_get[cachetools]"], ["c", "py", "cachetools"]),
        (["test_lru_get[c]", "test_cachetools_get"], ["lru[c]", "cachetools"]),
        (["test_only_one"], ["one"]),
    ],
)
def test_contenders_are_what_differs_between_names(names: list[str], expected: list[str]) -> None:
    assert ratios.contenders(names) == expected


def test_kernel_ratios_are_against_the_compiled_twin() -> None:
    data = {
        "benchmarks": [
            bench("test_unsign_py", "unsign", 4e-6),
            bench("test_unsign_c", "unsign", 1e-6),
            bench("test_unsign_itsdangerous", "unsign", 6e-6),
        ]
    }
    rows = ratios.grouped(ratios.entries(data))["unsign"]
    assert [(r.contender, r.ratio) for r in rows] == [
        ("fastsession[c]", 1.0),
        ("fastsession[py]", 4.0),
        ("itsdangerous", 6.0),
    ]
    assert [r.is_reference for r in rows] == [True, False, False]


def test_extra_info_contender_wins_and_py_is_the_fallback_reference() -> None:
    data = {
        "benchmarks": [
            bench("test_a", "parse", 2e-6, contender="fastsession[py]"),
            bench("test_b", "parse", 1e-6, contender="werkzeug"),
        ]
    }
    rows = ratios.grouped(ratios.entries(data))["parse"]
    assert {r.contender: r.ratio for r in rows} == {"werkzeug": 0.5, "fastsession[py]": 1.0}


def test_middleware_added_cost_is_per_request_and_per_family() -> None:
    group = "middleware-wsgi-read"
    data = {
        "benchmarks": [
            bench(
                "t[bare]", group, 100e-6, contender="bare", baseline="bare", calls=100, op="read"
            ),
            bench(
                "t[fs]",
                group,
                300e-6,
                contender="fastsession",
                baseline="bare",
                calls=100,
                op="read",
            ),
            bench(
                "t[bk]", group, 2100e-6, contender="beaker", baseline="bare", calls=100, op="read"
            ),
            bench(
                "t[fl]", group, 5000e-6, contender="flask", baseline="flask", calls=100, op="read"
            ),
            bench(
                "t[ffs]",
                group,
                5400e-6,
                contender="flask+fastsession",
                baseline="flask",
                calls=100,
                op="read",
            ),
            bench(
                "t[fsess]",
                group,
                9000e-6,
                contender="flask+flask-session",
                baseline="flask",
                calls=100,
                op="read",
            ),
        ]
    }
    rows = {r.contender: r for r in ratios.grouped(ratios.entries(data))[group]}
    assert rows["bare"].added is None and rows["flask"].added is None
    assert rows["fastsession"].added == pytest.approx(2e-6)
    assert rows["beaker"].ratio == pytest.approx(10.0)
    assert rows["flask+flask-session"].added == pytest.approx(40e-6)
    assert rows["flask+flask-session"].ratio == pytest.approx(10.0)  # vs flask+fastsession's 4 µs
    assert rows["fastsession"].target == 3.0
    assert rows["flask+fastsession"].target is None and rows["beaker"].target is None
    text = "\n".join(ratios.group_table(group, list(rows.values())))
    assert "≤ 3 µs: met" in text  # 2 µs
    slower = [r if r.contender != "fastsession" else replace(r, added=4e-6) for r in rows.values()]
    assert "≤ 3 µs: MISSED" in "\n".join(ratios.group_table(group, slower))


def test_http_keep_ratios_come_from_slices_paired_with_bare_ones() -> None:
    bare = Measurement("starlette", "bare", "read", rps=[1000, 1100, 900], cpu=[100e-6])
    fs = Measurement("starlette", "fastsession", "read")
    fs.add(Sample(900, 125e-6), before=Sample(1000, 100e-6), after=Sample(1000, 100e-6))
    fs.add(Sample(500, 130e-6), before=Sample(600, 110e-6), after=Sample(400, 150e-6))
    fs.add(Sample(800, None), before=Sample(1000, 100e-6), after=Sample(1000, 100e-6))
    assert fs.keeps == [0.9, 1.0, 0.8]  # each against the mean of its two bare slices
    assert fs.cpu_keeps == pytest.approx([0.8, 1.0])  # a slice without CPU time adds none
    rows = keep_ratios([bare, fs])
    assert rows[0]["keep"] == 1.0 and rows[0]["median"] == 1000 and rows[0]["cpu_keep"] == 1.0
    assert rows[1]["keep"] == 0.9 and rows[1]["cpu_keep"] == pytest.approx(0.9)
    assert rows[1]["cpu_us"] == pytest.approx(127.5)
    text = "\n".join(tables.http_table(rows))
    assert "| starlette | fastsession | read | 800 | 90% | 90% | 127.5 µs |" in text
    assert "one cookie ≥ 90%: met" in text


WRK = """Running 2s test @ http://127.0.0.1:41234/read
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.85ms    1.02ms  20.01ms   92.12%
  14622 requests in 2.00s, 2.11MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   7308.12
Transfer/sec:      1.05MB
"""


def test_wrk_output_gives_rate_and_errors() -> None:
    assert parse_wrk(WRK) == (7308.12, 10, 14622)
    assert parse_wrk(
        WRK.replace("  Non-2xx or 3xx responses: 7\n", "").replace("timeout 3", "timeout 0")
    ) == (7308.12, 0, 14622)
    with pytest.raises(RuntimeError):
        parse_wrk("connection refused")


def test_svg_is_well_formed_with_one_bar_per_compared_row() -> None:
    data = {
        "benchmarks": [
            bench("test_sign_c", "sign", 1e-6),
            bench("test_sign_itsdangerous", "sign", 5e-6),
            bench(
                "t[bare]",
                "middleware-asgi-write",
                1e-4,
                contender="bare",
                baseline="bare",
                calls=100,
                op="write",
            ),
            bench(
                "t[fs]",
                "middleware-asgi-write",
                5e-4,
                contender="fastsession",
                baseline="bare",
                calls=100,
                op="write",
            ),
        ]
    }
    groups = ratios.grouped(ratios.entries(data))
    http = [{"framework": "express", "contender": "express-session", "op": "read", "keep": 0.55}]
    root = ET.fromstring(chart.svg(chart.panels(groups, http), "machine"))
    bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("fill") != "#fff"]
    assert len(bars) == 2 + 1 + 1  # two kernels, one middleware, one HTTP row
    texts = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "5.00×" in texts and "+4.0 µs" in texts and "55%" in texts


def test_calibration_scales_fastsession_by_starlettes_cost_in_this_run() -> None:
    group = "middleware-asgi-read"
    data = {
        "benchmarks": [
            bench("t[b]", group, 1e-6, contender="bare", baseline="bare", op="read"),
            bench("t[s]", group, 32e-6, contender="starlette", baseline="bare", op="read"),
            bench("t[f]", group, 5e-6, contender="fastsession", baseline="bare", op="read"),
        ]
    }
    notes = ratios.calibration(ratios.grouped(ratios.entries(data)))
    assert notes == [
        "ASGI read: Starlette adds 31.0 µs here (15.5 µs when the targets were set); "
        "on that scale fastsession adds 2.0 µs"
    ]


def test_other_stores_middleware_groups_have_no_memorystore_target() -> None:
    group = "redis-asgi-read"
    data = {
        "benchmarks": [
            bench("t[b]", group, 1e-6, contender="bare", baseline="bare", op="read"),
            bench("t[f]", group, 90e-6, contender="fastsession-async", baseline="bare", op="read"),
            bench("t[s]", group, 180e-6, contender="starsessions", baseline="bare", op="read"),
        ]
    }
    groups = ratios.grouped(ratios.entries(data))
    rows = {r.contender: r for r in groups[group]}
    assert rows["fastsession-async"].is_reference and rows["fastsession-async"].target is None
    assert rows["starsessions"].ratio == pytest.approx(179 / 89)
    assert "added vs bare" in "\n".join(ratios.group_table(group, groups[group]))


def test_cpu_seconds_reads_this_process_and_grows_with_work() -> None:
    import os

    first = cpu_seconds(os.getpid())
    if first is None:
        pytest.skip("no /proc schedstat on this platform")
    sum(i * i for i in range(200_000))
    second = cpu_seconds(os.getpid())
    assert second is not None and second > first
    assert cpu_seconds(2**22 + 12345) is None  # no such process


def middleware_data(group: str, op: str, added: dict[str, float], **extra: Any) -> list[Any]:
    """One group's benchmarks: a bare app at 1 µs and each contender ``added`` µs more."""
    rows = [bench(f"t[{group}-bare]", group, 100e-6, contender="bare", baseline="bare", op=op)]
    for name, us in added.items():
        rows.append(
            bench(
                f"t[{group}-{name}]",
                group,
                (1 + us) * 100e-6,
                contender=name,
                baseline="bare",
                op=op,
                calls=100,
                **extra,
            )
        )
    rows[0]["extra_info"]["calls"] = 100
    return rows


def test_real_traffic_sits_beside_one_cookie_with_the_share_of_starlettes_cost() -> None:
    data = {
        "benchmarks": [
            *middleware_data("middleware-asgi-read", "read", {"fastsession": 2, "starlette": 12}),
            *middleware_data(
                "traffic-asgi-read", "read", {"fastsession": 2, "starlette": 13}, sessions=100_000
            ),
            *middleware_data("middleware-asgi-write", "write", {"fastsession": 3, "starlette": 24}),
            *middleware_data(
                "traffic-asgi-write", "write", {"fastsession": 6, "starlette": 24}, sessions=100_000
            ),
        ]
    }
    groups = ratios.grouped(ratios.entries(data))
    text = "\n".join(tables.side_by_side(groups))
    assert "one cookie beside 100,000 sessions" in text

    def line(case: str, contender: str) -> str:
        return next(x for x in text.splitlines() if x.startswith(f"| {case} | {contender} |"))

    read = line("asgi read", "**fastsession**")
    assert (
        "| +2.00 µs | 1.00× | +2.00 µs | 1.00× | ≤ 1/6 of starlette's (here 1/6.5): met |" in read
    )
    assert "| +12.00 µs | 6.00× | +13.00 µs | 6.50× |" in line("asgi read", "starlette")
    assert "≤ 1/10 of starlette's (here 1/4): MISSED" in line("asgi write", "**fastsession**")
    assert "bare |" not in text  # the baseline has no added cost to show
    # The whole report carries the side-by-side table and the per-group tables.
    report = tables.markdown({"CPU": "x"}, groups, None)
    assert report.index("one cookie beside") < report.index("### traffic-asgi-read")


def test_the_floor_row_shows_its_own_share_of_starlettes_cost() -> None:
    added = {"fastsession": 6, "floor": 3, "starlette": 12}
    data = {
        "benchmarks": [
            *middleware_data("middleware-asgi-read", "read", added),
            *middleware_data("traffic-asgi-read", "read", added, sessions=100_000),
        ]
    }
    text = "\n".join(tables.side_by_side(ratios.grouped(ratios.entries(data))))
    floor = next(x for x in text.splitlines() if x.startswith("| asgi read | floor |"))
    assert floor.endswith("| yardstick: 1/4 of starlette's, above the 1/6 target |")
    assert "MISSED" in next(x for x in text.splitlines() if "**fastsession**" in x)


def test_http_table_pairs_one_cookie_with_many_sessions_and_judges_both() -> None:
    def row(contender: str, op: str, cookies: int, median: float, keep: float) -> dict[str, Any]:
        return {
            "framework": "starlette",
            "contender": contender,
            "op": op,
            "cookies": cookies,
            "median": median,
            "keep": keep,
            "cpu_keep": keep,
            "cpu_us": 50.0,
        }

    rows = [
        row("bare", "read", 1, 10000, 1.0),
        row("bare", "read", 10_000, 9000, 1.0),
        row("fastsession", "read", 1, 9200, 0.92),
        row("fastsession", "read", 10_000, 7200, 0.80),
        row("fastsession", "write", 1, 8600, 0.86),
        row("fastsession", "write", 10_000, 7300, 0.81),
    ]
    text = "\n".join(tables.http_table(rows))
    assert "one cookie beside 10,000 sessions" in text
    read = next(line for line in text.splitlines() if "| fastsession | read |" in line)
    assert "| 9200 | 92% | 92% | 50.0 µs | 7200 | 80% | 80% | 50.0 µs |" in read
    assert read.endswith("one cookie ≥ 90%: met; 10,000 sessions ≥ 85%: MISSED |")
    write = next(line for line in text.splitlines() if "| fastsession | write |" in line)
    assert write.endswith("one cookie ≥ 85%: met; 10,000 sessions ≥ 80%: met |")
    # Results saved before the traffic runs have no "cookies": one cookie, nothing beside.
    old = [{k: v for k, v in r.items() if k != "cookies"} for r in rows[:1]]
    assert "| starlette | bare | read | 10000 | 100% | 100% | 50.0 µs | n/a |" in "\n".join(
        tables.http_table(old)
    )


def test_chart_names_the_traffic_rows() -> None:
    data = {
        "benchmarks": middleware_data(
            "traffic-wsgi-read", "read", {"fastsession": 5}, sessions=100_000
        )
    }
    groups = ratios.grouped(ratios.entries(data))
    http = [
        {"framework": "starlette", "contender": "fastsession", "op": "read", "keep": 0.8},
        {
            "framework": "starlette",
            "contender": "fastsession",
            "op": "read",
            "keep": 0.7,
            "cookies": 10_000,
        },
    ]
    labels = [b.label for p in chart.panels(groups, http) for b in p.bars]
    assert labels == [
        "wsgi-read · 100,000 sessions · fastsession",
        "starlette · fastsession · read",
        "starlette · fastsession · read · 10,000 sessions",
    ]
