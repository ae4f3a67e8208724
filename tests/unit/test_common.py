"""Settings, structured logging, metrics naming and the CLI entry point."""

from __future__ import annotations

import logging

import orjson
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from common.logging import _Formatter, get_logger
from common.metrics import Metrics, isolated_registry
from common.settings import CommonSettings, describe_validation_error
from nova.cli import app


def test_settings_read_the_nova_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("NOVA_METRICS_PORT", "9100")
    settings = CommonSettings()
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.metrics_port == 9100
    assert settings.kafka_bootstrap_servers is None  # unset = in-process bus


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_METRICS_PORT", "ninety")
    with pytest.raises(ValidationError) as info:
        CommonSettings()
    message = describe_validation_error(info.value)
    assert "NOVA_METRICS_PORT" in message
    assert "'ninety'" in message


@pytest.mark.parametrize(
    ("value", "parsed"), [("12", 12), ("0", 0), ("finalized", "finalized"), ("safe", "safe")]
)
def test_confirmations_are_a_count_or_a_finality_tag(
    monkeypatch: pytest.MonkeyPatch, value: str, parsed: int | str
) -> None:
    from block_sync_service.settings import BlockSyncSettings

    monkeypatch.setenv("NOVA_CONFIRMATIONS", value)
    assert BlockSyncSettings().confirmations == parsed


@pytest.mark.parametrize("value", ["-1", "latest", "1.5", "", "\u0663"])
def test_bad_confirmations_are_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from block_sync_service.settings import BlockSyncSettings

    monkeypatch.setenv("NOVA_CONFIRMATIONS", value)
    with pytest.raises(ValidationError) as info:
        BlockSyncSettings()
    assert "NOVA_CONFIRMATIONS" in describe_validation_error(info.value)


@pytest.mark.parametrize(
    "url", ["postgresql://root:s3cret@db/nova", "mysql://root:s3cret@db/nova", "nova.sqlite"]
)
def test_an_unsupported_database_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("NOVA_DATABASE_URL", url)
    with pytest.raises(ValidationError) as info:
        CommonSettings()
    message = describe_validation_error(info.value)
    assert "NOVA_DATABASE_URL: Value error, must start with mysql+aiomysql://" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("primary", "replica", "error"),
    [
        (
            "mysql+aiomysql://root@db/nova",
            "sqlite+aiosqlite:///replica.sqlite",
            "a read replica must be MySQL/MariaDB",
        ),
        ("mysql+aiomysql://root@db/nova", "replica:3306", "got no scheme"),
        (
            "sqlite+aiosqlite:///nova.sqlite",
            "mysql+aiomysql://root:s3cret@replica/nova",
            "a read replica needs a MySQL/MariaDB NOVA_DATABASE_URL",
        ),
    ],
)
def test_a_bad_read_replica_url_is_named(
    monkeypatch: pytest.MonkeyPatch, primary: str, replica: str, error: str
) -> None:
    from token_service.settings import TokenSettings

    monkeypatch.setenv("NOVA_DATABASE_URL", primary)
    monkeypatch.setenv("NOVA_DATABASE_READ_URL", replica)
    with pytest.raises(ValidationError) as info:
        TokenSettings()
    message = describe_validation_error(info.value)
    assert "NOVA_DATABASE_READ_URL" in message and error in message
    assert "s3cret" not in message


def test_a_read_replica_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    from staking_service.settings import StakingSettings

    monkeypatch.setenv("NOVA_DATABASE_URL", "mysql+aiomysql://root@db/nova")
    assert StakingSettings().database_read_url is None
    monkeypatch.setenv("NOVA_DATABASE_READ_URL", "mariadb+aiomysql://reader@replica/nova")
    assert StakingSettings().database_read_url == "mariadb+aiomysql://reader@replica/nova"


def test_secrets_in_bad_settings_are_not_echoed() -> None:
    from api_gateway.settings import GatewaySettings

    with pytest.raises(ValidationError) as info:
        GatewaySettings(api_keys=["k3y"], rate_limit_per_minute=-1)
    message = describe_validation_error(info.value)
    assert "NOVA_API_KEYS" in message and "k3y" not in message


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_log_lines_carry_fields(fmt: str) -> None:
    record = logging.LogRecord("nova.sync", logging.INFO, __file__, 1, "block synced", (), None)
    record.fields = {"block": 12, "hash": "0xab cd"}
    line = _Formatter(fmt).format(record)
    assert "\n" not in line
    if fmt == "json":
        data = orjson.loads(line)
        assert data["msg"] == "block synced"
        assert data["block"] == 12
    else:
        assert 'msg="block synced"' in line
        assert "block=12" in line
        assert 'hash="0xab cd"' in line


def test_struct_logger_passes_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="nova.test"):
        get_logger("nova.test").info("reorg", depth=3)
    assert caplog.records[0].fields == {"depth": 3}  # type: ignore[attr-defined]


def test_metric_names_follow_the_convention() -> None:
    metrics = Metrics("block_sync", isolated_registry())
    counter = metrics.counter("events_published_total", "events", ("topic",))
    counter.labels("token").inc(2)
    assert (
        metrics.registry.get_sample_value(
            "nova_block_sync_events_published_total", {"topic": "token"}
        )
        == 2
    )
    with pytest.raises(ValueError, match="snake_case"):
        metrics.gauge("Bad-Name", "x")


def test_nova_help_lists_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "stack" in result.output


@pytest.mark.parametrize("service", ["token", "staking", "governance"])
def test_a_negative_verify_block_is_a_usage_error(service: str) -> None:
    result = CliRunner().invoke(app, ["verify", service, "--block", "-3"])
    assert result.exit_code == 2
    assert "--block" in result.output and "greater than or equal to 0" in result.output


def test_literal_upsert_clause_matches_sqlalchemy_for_each_mysql_flavour() -> None:
    """insert_rows' upsert clause is the one SQLAlchemy compiles for the same dialect: the
    ``AS new`` alias of MySQL >= 8.0.20, ``VALUES(c)`` on MariaDB and older MySQL."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql

    from common.db import _on_duplicate
    from common.offsets import upsert

    table = sa.Table(
        "probe",
        sa.MetaData(),
        sa.Column("k", sa.Integer, primary_key=True),
        sa.Column("v", sa.Integer),
    )
    for alias in (True, False):
        dialect = mysql.dialect()
        dialect._requires_alias_for_on_duplicate_key = alias
        stmt = upsert("mysql", table, [{"k": 1, "v": 2}], ["v"])
        assert isinstance(stmt, sa.sql.ClauseElement)
        compiled = str(stmt.compile(dialect=dialect))
        clause = _on_duplicate(dialect, table, ["v"])
        assert compiled.split("VALUES (%s, %s)")[1] == clause
        assert ("AS new" in clause) is alias


@pytest.mark.parametrize(
    ("rows", "quoted", "safe"),
    [
        (["('0xab',1,NULL)", "('0xcd',2,'0x')"], 3, True),
        (["('0xab',1,NULL)"], 2, False),  # a value brought a quote of its own (or a miscount)
        (["('it''s',1)"], 1, False),
        (["('back\\\\',1)"], 1, False),  # MySQL would read the backslash as an escape
        (["('ünï',1)"], 1, False),
    ],
)
def test_rendered_rows_are_checked_for_quotes_backslashes_and_ascii(
    rows: list[str], quoted: int, safe: bool
) -> None:
    from common.db import quoted_safely

    assert quoted_safely(rows, quoted) is safe


SETTINGS_CLASSES = [
    "block_sync_service.settings:BlockSyncSettings",
    "token_service.settings:TokenSettings",
    "staking_service.settings:StakingSettings",
    "governance_service.settings:GovernanceSettings",
    "api_gateway.settings:GatewaySettings",
]


@pytest.mark.parametrize("path", SETTINGS_CLASSES)
def test_generated_environments_are_accepted_or_named(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any value of any setting: the settings load, or a ValidationError whose description
    names the variable; never another exception (which would reach the user as a traceback)."""
    import importlib

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    module, name = path.split(":")
    cls = getattr(importlib.import_module(module), name)
    names = sorted(f"NOVA_{f.upper()}" for f in cls.model_fields)
    values = st.one_of(
        st.text(max_size=40).filter(lambda v: "\x00" not in v),
        st.sampled_from(["", "0", "-1", "1e3", "true", "latest", "finalized", "\u0663", "a,b"]),
        st.integers(-(2**70), 2**70).map(str),
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(env=st.dictionaries(st.sampled_from(names), values, max_size=4))
    def check(env: dict[str, str]) -> None:
        with monkeypatch.context() as m:
            for var in names:
                m.delenv(var, raising=False)
            for var, value in env.items():
                m.setenv(var, value)
            try:
                cls()
            except ValidationError as exc:
                message = describe_validation_error(exc)
                assert any(var in message for var in env), (env, message)

    check()


@pytest.mark.parametrize("bench", ["backfill", "gateway", "soak", "tip_latency", "reads"])
@pytest.mark.parametrize("args", [["--help"], ["--no-such-option"]])
def test_a_benchmark_that_never_ran_reaches_no_server(bench: str, args: list[str]) -> None:
    """``--help`` or a refused argument leaves nothing on the shared servers to delete, so a
    benchmark must not try to reach them (before, each printed a Kafka connection error)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NOVA_STACK_KAFKA_PORT": "9", "NOVA_STACK_REDIS_PORT": "9"}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == (0 if args == ["--help"] else 2), done.stderr
    assert "could not delete" not in done.stderr
    assert "Unable connect" not in done.stderr


def test_a_drift_report_prints_each_drift_once_up_to_a_cap() -> None:
    from common.drift import MAX_LINES
    from staking_service.infrastructure.verify import StakingDrift

    clean = StakingDrift(block=7, checked=3)
    assert clean.ok and clean.lines() == ["block 7: checked 3 active stakes", "OK: no drift"]
    one = StakingDrift(block=7, checked=3, drifts=["stake 2: indexed 1 chain 2"])
    assert not one.ok
    assert one.lines()[1:] == ["DRIFT stake 2: indexed 1 chain 2", "1 drifts"]
    many = StakingDrift(block=7, drifts=[f"stake {i}" for i in range(MAX_LINES + 5)])
    lines = many.lines()
    assert lines[1 : MAX_LINES + 1] == [f"DRIFT stake {i}" for i in range(MAX_LINES)]
    assert lines[-2:] == ["... and 5 more", f"{MAX_LINES + 5} drifts"]
