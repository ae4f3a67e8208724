"""The deployment files are checked here since no docker engine runs on this machine kind:
docker-compose.yml against the Compose Specification's JSON schema, every `nova` command it
runs against the real CLI, health-gated ordering, the Dockerfile's shape, the observability
bundle against the metrics the code exports, and the configuration reference against the
settings classes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import typer.main
import yaml

from nova.cli import app
from nova.config_doc import render

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_compose_file_follows_the_compose_specification() -> None:
    # deploy/compose-spec.schema.json: compose/config/compose_spec.json of PyPI docker-compose
    # 1.29.2 (Apache-2.0), the schema `docker compose config` validates against
    schema = json.loads((ROOT / "deploy/compose-spec.schema.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert errors == []
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["token"]["depends_on"]["kafka"]["condition"] = "whenever"
    assert not validator.is_valid(broken)  # the check can fail


def _nova_paths() -> set[tuple[str, ...]]:
    root = typer.main.get_command(app)
    paths: set[tuple[str, ...]] = set()

    def walk(cmd: Any, prefix: tuple[str, ...]) -> None:
        paths.add(prefix)
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            for name, sub in cmd.commands.items():
                walk(sub, (*prefix, name))

    walk(root, ())
    return paths


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "build" in s))
def test_every_service_command_exists_in_the_cli(name: str) -> None:
    command = [str(x) for x in SERVICES[name]["command"]]
    words = tuple(w for w in command if not w.startswith("-") and not w.startswith("$"))
    paths = _nova_paths()
    longest = max((p for p in paths if words[: len(p)] == p), key=len)
    assert longest and longest != (), f"{name}: `nova {' '.join(command)}` is not a nova command"
    # every option it passes is an option of that command
    cmd: Any = typer.main.get_command(app)
    for word in longest:
        cmd = cmd.commands[word]
    options = {o for p in cmd.params for o in getattr(p, "opts", [])}
    for w in command:
        if w.startswith("--"):
            assert w in options, f"{name}: {w} is not an option of nova {' '.join(longest)}"


def test_health_gated_ordering() -> None:
    for name, svc in SERVICES.items():
        deps = svc.get("depends_on") or {}
        for dep, cond in (deps if isinstance(deps, dict) else {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                target = SERVICES[dep]
                has_check = "healthcheck" in target or "build" in target  # image HEALTHCHECK
                assert has_check and not target.get("healthcheck", {}).get("disable"), (
                    f"{name} waits for {dep} to be healthy, but {dep} has no health check"
                )
    for name in ("block-sync", "token", "staking", "governance"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert [p.split(":")[-1] for s in SERVICES.values() for p in s.get("ports", [])] == [
        "8080",
        "3000",
    ]  # the gateway (and Grafana in the observability profile) only


def test_env_example_covers_every_variable() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used - example == set()


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD nova health", text, re.M)
    assert "uv sync --frozen --no-dev" in text


def _exported_metrics() -> set[str]:
    """nova_<service>_<thing> for every metric the code declares."""
    services = {
        "block_sync_service": "block_sync",
        "token_service": "token",
        "staking_service": "staking",
        "governance_service": "governance",
        "api_gateway": "gateway",
    }
    names: set[str] = set()
    shared = set()
    for path in (ROOT / "common").rglob("*.py"):
        shared |= set(
            re.findall(r'\.(?:counter|gauge|histogram)\(\s*"([a-z_]+)"', path.read_text())
        )
    for package, service in services.items():
        for path in (ROOT / package).rglob("*.py"):
            for thing in re.findall(
                r'\.(?:counter|gauge|histogram)\(\s*"([a-z_]+)"', path.read_text()
            ):
                names.add(f"nova_{service}_{thing}")
        names |= {f"nova_{service}_{thing}" for thing in shared}
    return names


def test_dashboard_and_scrape_config_match_the_code() -> None:
    dash = json.loads((ROOT / "deploy/observability/grafana/dashboards/novatoken.json").read_text())
    exported = _exported_metrics()
    used = {
        re.sub(r"_(bucket|sum|count)$", "", m)
        for p in dash["panels"]
        for t in p["targets"]
        for m in re.findall(r"\bnova_[a-z_]+", t["expr"])
    }
    assert used and used - exported == set(), used - exported
    prom = yaml.safe_load((ROOT / "deploy/observability/prometheus.yml").read_text())
    for job in prom["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            assert target.split(":")[0] in SERVICES, target


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs/configuration.md").read_text()
    assert committed == render(), "run: nova config reference > docs/configuration.md"
