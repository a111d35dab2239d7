import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_scenario_runs_and_leaves_database_and_log(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "----- transcript -----" in result.stdout
    assert "Welcome to this SMART Recovery meeting" in result.stdout
    assert "cross-talk" not in result.stdout and "No labels" in result.stdout
    assert "Your worksheet: DISARM" in result.stdout
    assert "This meeting has ended" in result.stdout
    assert "asked for a facilitator's attention" in result.stdout and "has seen your alert" in result.stdout
    assert "No facilitator has taken a member's call for help after 5 minutes" in result.stdout
    assert "Cover needed" in result.stdout and "Thank you for covering" in result.stdout
    assert "# schema_version: 2" in result.stdout and "Report: " in result.stdout
    assert (tmp_path / "report" / "summary.md").exists()
    assert re.search(r"http://127\.0\.0\.1:8080/login/link/[\w-]{40,}", result.stdout)  # the dashboard's link
    assert (tmp_path / "smartbot.sqlite3").exists()
    assert (tmp_path / "smartbot.log").exists()
