"""SQLAlchemy 2 async engines and migrations.

MySQL/MariaDB through ``mysql+aiomysql`` (pymysql underneath); SQLite through ``sqlite+aiosqlite``
for the embedded mode. The schema is owned by Alembic migrations (``common/migrations``), never by
``create_all`` at start-up. Integer primary keys never auto-increment where the value comes from
the chain (block 0 stores as 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from common.offsets import upsert

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, read_only: bool = False
) -> AsyncEngine:
    """An async engine for ``url`` with settings that suit each backend.

    ``read_only`` (SQLite; nothing changes on MySQL/MariaDB, whose transactions read one
    snapshot already): an engine whose connections only read, each connection's transaction
    a real one, begun with its first statement, so that all its statements read one
    snapshot. pysqlite otherwise runs every SELECT outside any transaction, each in its own
    snapshot, so a page and its total, or a value and the head it is served at, could straddle
    a consumer's commit. Not for writers: a transaction that read first would then fail at
    its first write, instead of waiting, if another writer had committed meanwhile."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if read_only:
            event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_transactions)
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # pre-ping on every checkout costs a round trip (~0.15 ms of a ~0.75 ms indexed read,
    # measured 2026-12-01), but only ~4% of an uncached REST transfer page. Pinging only
    # connections idle for a second was tried and dropped: the fault campaign's MariaDB
    # restarted in under a second, and a read on a connection used just before the crash
    # failed instead of being replaced.
    kwargs.update(
        pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=3600
    )
    return create_async_engine(parsed, **kwargs)


async def sums(engine: Any, parts: Sequence[tuple[Any, Any]]) -> list[tuple[int, int]]:
    """(sum, row count) of each (integer or amount column, condition) of ``parts``, read in
    ONE statement (a UNION ALL): one snapshot on SQLite too, whose driver runs each SELECT of
    a read-only connection on its own, so separate reads could straddle a writer's commit.
    Summed here, exactly (SQLite keeps amounts as text; its SUM would be a float)."""
    union = sa.union_all(
        *(
            sa.select(sa.literal(i).label("k"), column.label("v")).where(where)
            for i, (column, where) in enumerate(parts)
        )
    )
    out = [[0, 0] for _ in parts]
    async with engine.connect() as conn:
        for k, v in await conn.execute(union):
            out[int(k)][0] += int(v or 0)
            out[int(k)][1] += 1
    return [(total, rows) for total, rows in out]


def snapshot_reads(url: str) -> AsyncEngine | None:
    """An engine of its own for a service's reads, where one is needed for each read to be
    one snapshot: SQLite (``read_only``, see :func:`create_engine`); None on MySQL/MariaDB,
    whose own transactions already are (REPEATABLE READ)."""
    if make_url(url).get_backend_name() != "sqlite":
        return None
    return create_engine(url, read_only=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_url(url: str) -> URL:
    """The blocking-driver twin of an async URL (Alembic runs synchronously)."""
    parsed = make_url(url)
    driver = {"aiomysql": "pymysql", "asyncmy": "pymysql", "aiosqlite": "pysqlite"}.get(
        parsed.get_driver_name(), parsed.get_driver_name()
    )
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


# The newest migration's revision (bump it with each new migration: a test holds it to Alembic's
# head).
HEAD_REVISION = "0017"


def migrate(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (blocking)."""
    if revision == "head" and at_head(url):
        return
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def at_head(url: str) -> bool:
    """Whether the database's schema is already at :data:`HEAD_REVISION`: one query, so a
    process started on an up-to-date database does not import Alembic (with Mako and Pygments,
    ~0.15 s of CPU and ~0.3 s before a ``nova backfill`` could start). False when the database
    cannot say (no version table yet, unreachable): Alembic then does the work or the error."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return False  # do not create the file here
    engine = sa.create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()
    return [v for (v,) in versions] == [HEAD_REVISION]


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["sqlalchemy_url"] = sync_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
    return cfg


def _ensure_sqlite_dir(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_no_implicit_transactions(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver begins nothing by itself...


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")  # ...and every SQLAlchemy transaction is a SQLite one


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# ---------------------------------------------------------------------- bulk inserts

_CHUNK_CHARS = 1_000_000  # well under MariaDB's default max_allowed_packet (16 MB)


class _NotLiteral(Exception):
    pass


def _literal(v: Any) -> str:
    c = v.__class__
    if c is str:
        # chain data is hex (0x..), decimal digits or checksummed addresses: ASCII letters and
        # digits only, which need no escaping in MySQL or SQLite; anything else goes the slow way
        if v.isascii() and v.isalnum():
            return f"'{v}'"
        raise _NotLiteral
    if v is None:
        return "NULL"
    if c is bool:
        return "1" if v else "0"
    if c is int:
        return str(v)
    if c is bytes:
        return f"X'{v.hex()}'"
    if c is Decimal and v == v.to_integral_value():
        return str(int(v))
    raise _NotLiteral


async def insert_rows(
    conn: Any,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    ignore: bool = False,
    update: Sequence[str] = (),
    increment: Sequence[str] = (),
) -> None:
    """``INSERT`` (with ``ignore``: ``INSERT IGNORE``, SQLite ``OR IGNORE``; with ``update``:
    an upsert that sets those columns on a duplicate key, as :func:`common.offsets.upsert`,
    and adds the new row's value to the stored one for the ``increment`` columns) of many rows
    with the same keys, in the caller's transaction.

    Chain data is hex and integers, so the rows are written as multi-row SQL literals (a few
    times faster than the driver's per-value escaping, which dominated the backfill's commit).
    Columns of a TypeDecorator type (e.g. amounts) go through its bind processing first, so
    its checks still apply. A value that is not then a plain ASCII letter/digit string, int,
    integral Decimal, bool, bytes or None makes the whole call use SQLAlchemy's parameterised
    statements instead. (Compiling SQLAlchemy's multi-row upsert construct was a tenth of the
    staking consumer's CPU.)
    """
    if not rows:
        return
    if ignore and (update or increment):
        raise ValueError("insert_rows: ignore and update are exclusive")
    dialect = conn.dialect
    columns = list(rows[0])
    bind = {
        c: table.c[c].type.process_bind_param
        for c in columns
        if isinstance(table.c[c].type, sa.types.TypeDecorator)
    }
    try:
        if bind:
            rows_out = [
                {c: (bind[c](v, dialect) if c in bind else v) for c, v in row.items()}
                for row in rows
            ]
        else:
            rows_out = rows
        values = ["(" + ",".join([_literal(row[c]) for c in columns]) + ")" for row in rows_out]
    except _NotLiteral:
        if update or increment:
            for i in range(0, len(rows), 500):
                await conn.execute(
                    upsert(dialect.name, table, rows[i : i + 500], update, increment)
                )
            return
        stmt = sa.insert(table)
        if ignore:
            stmt = stmt.prefix_with("IGNORE", dialect="mysql").prefix_with(
                "OR IGNORE", dialect="sqlite"
            )
        await conn.execute(stmt, rows)
        return
    await insert_values(
        conn, table, columns, values, ignore=ignore, update=update, increment=increment
    )


def quoted_safely(rendered: Sequence[str], quoted: int) -> bool:
    """Whether rows rendered as SQL literals, with ``quoted`` string values each put between
    single quotes as they were, read back as exactly those values in MySQL and SQLite: no
    value brought a quote (the rows hold exactly two per value) or a backslash (MySQL's
    escape) of its own, and all is ASCII. One pass over the batch in C, where checking each
    value's characters cost more than rendering it."""
    text = "".join(rendered)
    return text.isascii() and "\\" not in text and text.count("'") == 2 * quoted


async def insert_values(
    conn: Any,
    table: Any,
    columns: Sequence[str],
    values: list[str],
    *,
    ignore: bool = False,
    update: Sequence[str] = (),
    increment: Sequence[str] = (),
) -> None:
    """:func:`insert_rows` of rows the caller already rendered as SQL literal tuples
    (``"('0xab..',12,NULL)"``), for hot paths whose value types are fixed: integers rendered
    by ``%d``, strings checked by :func:`quoted_safely`."""
    if not values:
        return
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    if ignore:
        verb = "INSERT OR IGNORE" if dialect.name == "sqlite" else "INSERT IGNORE"
    else:
        verb = "INSERT"
    head = f"{verb} INTO {quote(table.name)} ({','.join(quote(c) for c in columns)}) VALUES "
    tail = _on_duplicate(dialect, table, update, increment) if update or increment else ""
    chunk: list[str] = []
    size = 0
    for v in values:
        chunk.append(v)
        size += len(v) + 1
        if size >= _CHUNK_CHARS:
            await conn.exec_driver_sql(head + ",".join(chunk) + tail)
            chunk, size = [], 0
    if chunk:
        await conn.exec_driver_sql(head + ",".join(chunk) + tail)


def _on_duplicate(
    dialect: Any, table: Any, update: Sequence[str], increment: Sequence[str] = ()
) -> str:
    """The upsert clause SQLAlchemy's constructs compile to (MySQL >= 8.0.20 names the new
    row by an alias; MariaDB and older MySQL use ``VALUES(c)``): ``update`` columns take the
    new row's value, ``increment`` columns add it to theirs."""
    q = dialect.identifier_preparer.quote
    if dialect.name == "sqlite":
        new = "excluded.{}"
        keys = ",".join(q(c.name) for c in table.primary_key.columns)
        head = f" ON CONFLICT ({keys}) DO UPDATE SET "
    elif dialect.name != "mysql":
        raise ValueError(f"no upsert for dialect {dialect.name!r}")
    elif getattr(dialect, "_requires_alias_for_on_duplicate_key", False):
        alias = "new_1" if table.name.lower() == "new" else "new"
        new = alias + ".{}"
        head = f" AS {alias} ON DUPLICATE KEY UPDATE "
    else:
        new = "VALUES({})"
        head = " ON DUPLICATE KEY UPDATE "
    sets = [f"{q(c)} = {new.format(q(c))}" for c in update]
    sets += [f"{q(c)} = {q(c)} + {new.format(q(c))}" for c in increment]
    return head + ", ".join(sets)
