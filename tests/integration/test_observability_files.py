"""deploy/observability: Prometheus accepts the scrape configuration and the alert rules, every
alert passes its unit test, and the rules and the dashboard name only metrics the gateway
exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "observability"
METRIC = re.compile(r"\bai_gateway_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum")


def promtool(*args: str) -> str:
    done = subprocess.run(
        ["promtool", *args], cwd=FOLDER, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def alert_names() -> list[str]:
    return re.findall(r"^\s+- alert: (\S+)$", (FOLDER / "alerts.yml").read_text(), re.MULTILINE)


def test_the_rules_are_valid_and_every_alert_passes_its_unit_test() -> None:
    assert "SUCCESS: 7 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    tested = set(
        re.findall(r"alertname: (\S+)", (FOLDER / "alerts_test.yml").read_text(), re.MULTILINE)
    )
    assert set(alert_names()) == tested
    assert len(alert_names()) == 7


def test_the_scrape_configuration_is_valid_and_scrapes_api_and_workers() -> None:
    promtool("check", "config", "--syntax-only", "prometheus.yml")
    text = (FOLDER / "prometheus.yml").read_text()
    assert "job_name: ai-gateway-api" in text
    assert "job_name: ai-gateway-worker" in text


def test_rules_and_dashboard_name_only_metrics_the_gateway_exports() -> None:
    source = "".join(p.read_text() for p in (ROOT / "src" / "ai_gateway").rglob("*.py"))
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = set(METRIC.findall("\n".join([*queries, (FOLDER / "alerts.yml").read_text()])))

    def exported(name: str) -> bool:
        bases = [name] + [name.removesuffix(s) for s in SUFFIXES if name.endswith(s)]
        return any(f'"{base}"' in source for base in bases)

    assert sorted(n for n in used if not exported(n)) == []
    assert len(queries) > 25
