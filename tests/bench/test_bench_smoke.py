"""The benchmark harness: a tiny run end to end, its parsers, its arithmetic."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `bench` sits at the top of the repository, outside src/
    sys.path.insert(0, str(REPO))

from bench.load import find_tool, parse_hey, parse_wrk  # noqa: E402
from bench.refresh import growth_bound  # noqa: E402
from bench.synthetic import SyntheticWarehouse, series_for, workspaces_for  # noqa: E402

from bench import __main__ as cli  # noqa: E402

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:37085/metrics
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   263.10us  139.12us   3.83ms   98.67%
    Req/Sec     7.78k   206.01     7.98k    80.00%
  Latency Distribution
     50%  245.00us
     75%  255.00us
     90%  290.00us
     99%    1.36s{PAD}
  7739 requests in 1.00s, 1.25GB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:   7729.99
Transfer/sec:      1.25GB
""".format(PAD=" ")  # wrk pads a duration in seconds with a trailing space

HEY_OUTPUT = """\

Summary:
  Total:\t1.0004 secs
  Requests/sec:\t1833.3214

Latency distribution:
  10% in 0.0005 secs
  50% in 0.0010 secs
  99% in 0.0038 secs

Status code distribution:
  [200]\t1834 responses
  [503]\t2 responses

Error distribution:
  [7]\tGet "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused
"""


def test_parse_wrk() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests == 7739
    assert result.requests_per_second == pytest.approx(7729.99)
    assert result.p50_ms == pytest.approx(0.245)
    assert result.p99_ms == pytest.approx(1360.0)  # wrk pads "s" with a space
    assert result.errors == 2 + 3 + 4
    assert result.bytes_per_second == pytest.approx(1.25 * 1024**3)


def test_parse_hey_counts_statuses_and_errors_apart() -> None:
    result = parse_hey(HEY_OUTPUT)
    assert result.requests == 1834
    assert result.p50_ms == pytest.approx(1.0)
    assert result.p99_ms == pytest.approx(3.8)
    assert result.errors == 2 + 7


def test_parse_wrk_refuses_other_output() -> None:
    with pytest.raises(ValueError, match="unexpected wrk output"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_growth_bound_is_n_log_n() -> None:
    n = 1_000_000
    assert growth_bound(n, 4 * n) == pytest.approx(4 * math.log(4 * n) / math.log(n))
    assert growth_bound(n, n) == pytest.approx(1.0)


def test_synthetic_snapshot_sizes() -> None:
    for target in (10_000, 100_000):
        assert abs(series_for(workspaces_for(target)) - target) / target < 0.06
    warehouse = SyntheticWarehouse(2)
    built = sum(c.build(result).series for c, result in warehouse.results())
    assert built == series_for(2)


def test_scrape_part_skipped_without_nginx(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "find_tool", lambda name: None)
    monkeypatch.setattr(cli, "missing_tools", lambda: ["wrk", "hey", "nginx"])
    assert cli._scrape_tool(None) is None
    err = capsys.readouterr().err
    assert "missing: wrk, hey, nginx" in err
    assert "scrape part skipped" in err


@pytest.mark.slow
def test_smoke_run_records_every_part(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--results", str(results),
         "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    text = results.read_text(encoding="utf-8")
    assert "smoke run" in text
    assert "### Refresh path" in text
    assert "### Memory and start-up" in text
    assert "databricks.sdk imported 1 time(s)" in text
    assert len(list((tmp_path / "out").glob("*-smoke.json"))) == 1
    if find_tool("nginx") and (find_tool("wrk") or find_tool("hey")):
        assert "### Scrape path" in text
        assert "Errors (socket errors, timeouts, non-2xx): exporter 0, nginx 0" in text
    else:
        assert "scrape part skipped" in done.stderr
