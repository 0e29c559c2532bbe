"""The benchmark harness runs end to end on a tiny tier. No timing is checked: only the summary's shape.

It takes some 40 s (every measure, the web load included): ``slow``, run by CI's step after the two
suites (.ci/run) and by ``make test-slow``.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_harness_writes_the_summary(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--tier",
            "mini",
            "--runs",
            "1",
            "--data",
            str(tmp_path / "data"),
            "--results",
            str(tmp_path / "results"),
            # The database measures on SQLite only (PostgreSQL may be absent), with a token load.
            "--databases",
            "sqlite",
            "--web-users",
            "2",
            "--web-duration",
            "2",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads((tmp_path / "results" / "summary.json").read_text(encoding="utf-8"))
    assert summary["tier"] == "mini" and summary["machine"]["cores"]
    entries = {(e["name"], e["database"]): e for e in summary["measures"]}
    measured = {name for (name, _), e in entries.items() if e["status"] == "measured"}
    assert {"stats_50000x30", "engine_file_mini", "read_usagers_mini", "read_coop_mini"} <= measured
    assert {"import_usagers_mini", "diagnostic_db_mini", "web_mini"} <= measured
    for e in summary["measures"]:
        assert {"name", "tier", "database", "status", "target"} <= set(e)
        if e["status"] == "measured":
            for key in ("median", "min", "max", "baseline_median", "ratio", "n"):
                assert isinstance(e[key], int | float), (e["name"], key)
            assert e["min"] <= e["median"] <= e["max"]
        else:
            assert e["status"] == "not yet measured" and e["reason"]
    assert "peak_rss_mib" in entries[("read_usagers_mini", "none")]
    assert "peak_rss_mib" in entries[("import_usagers_mini", "sqlite")]
    web = entries[("web_mini", "sqlite")]
    assert isinstance(web["errors"], int) and isinstance(web["p95"], float)
