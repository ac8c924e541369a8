"""What asyncpg does against a PostgreSQL server. asyncpg speaks only the extended protocol
with binary values, so this covers binary parameters and results of each type, prepared
statements, binary COPY in and out, and portals read a page at a time.

Usage: asyncpg_check.py "host=... port=... user=... dbname=..."
Prints one line per check; the first failure exits 1 with what was expected and seen.
"""

import asyncio
import datetime as dt
import json
import sys
import uuid
from decimal import Decimal

import asyncpg

from driver_common import check, conninfo

TABLE = "drv_asyncpg"
STEP = "connect"


UTC = dt.timezone.utc

# (PostgreSQL type, value, expected). Each goes out as a binary parameter of that type
# (`select $1::TYPE` makes the server infer it) and comes back as a binary result.
ROUND_TRIPS = [
    ("int2", 32767, 32767),
    ("int2", -32768, -32768),
    ("int4", 2147483647, 2147483647),
    ("int4", -5, -5),
    ("int8", 9223372036854775807, 9223372036854775807),
    ("int8", -(2**40), -(2**40)),
    ("float4", 1.5, 1.5),
    ("float8", -2.0e-300, -2.0e-300),
    ("float8", float("inf"), float("inf")),
    ("bool", True, True),
    ("bool", False, False),
    ("numeric", Decimal("12345678901234567890.123456789"), Decimal("12345678901234567890.123456789")),
    ("numeric", Decimal("-0.0001"), Decimal("-0.0001")),
    ("numeric", Decimal("0"), Decimal("0")),
    ("text", "héllo\t'wörld'", "héllo\t'wörld'"),
    ("text", "", ""),
    ("varchar", "short", "short"),
    ("bytea", b"\x00\x01\xfe\xff", b"\x00\x01\xfe\xff"),
    ("bytea", b"", b""),
    ("date", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("date", dt.date(1, 1, 1), dt.date(1, 1, 1)),
    ("time", dt.time(23, 59, 59, 999999), dt.time(23, 59, 59, 999999)),
    ("timestamp", dt.datetime(2024, 2, 29, 13, 45, 30, 123456), dt.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    ("timestamp", dt.datetime(1970, 1, 1), dt.datetime(1970, 1, 1)),
    ("timestamptz", dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC), dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
    (
        "timestamptz",
        dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2024, 6, 1, 17, 0, tzinfo=UTC),
    ),
    (
        "interval",
        dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
        dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
    ),
    ("interval", dt.timedelta(seconds=-1), dt.timedelta(seconds=-1)),
    ("uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    # asyncpg sends and returns json as text; compare the parsed documents.
    ("json", json.dumps({"a": [1, 2, None]}), {"a": [1, 2, None]}),
    ("jsonb", json.dumps({"k": "v", "n": 1.5}), {"k": "v", "n": 1.5}),
    ("int4[]", [1, 2, None, 4], [1, 2, None, 4]),
    ("int8[]", [2**40, -1], [2**40, -1]),
    ("float8[]", [1.5, -0.25], [1.5, -0.25]),
    ("text[]", ["a", "b c", "", None], ["a", "b c", "", None]),
    ("bool[]", [True, False], [True, False]),
    ("numeric[]", [Decimal("1.5"), Decimal("-2")], [Decimal("1.5"), Decimal("-2")]),
    ("date[]", [dt.date(2024, 1, 1), dt.date(2000, 2, 29)], [dt.date(2024, 1, 1), dt.date(2000, 2, 29)]),
    ("uuid[]", [uuid.UUID(int=1), uuid.UUID(int=2)], [uuid.UUID(int=1), uuid.UUID(int=2)]),
    ("int4[]", [], []),
]


async def round_trips(conn):
    for type_name, value, want in ROUND_TRIPS:
        got = await conn.fetchval(f"select $1::{type_name}", value)
        if type_name in ("json", "jsonb"):
            got = json.loads(got)
        check(f"select $1::{type_name} {value!r:.40}", got, want)
    check("select $1::int4 NULL", await conn.fetchval("select $1::int4", None), None)
    row = await conn.fetchrow("select $1::int4 + $2::int4 as total, $3::text || $4::text as joined", 40, 2, "ab", "cd")
    check("several parameters, named columns", (row["total"], row["joined"]), (42, "abcd"))


async def prepared(conn):
    stmt = await conn.prepare("select $1::int8 * 2, $2::text")
    got = [tuple(await stmt.fetchrow(i, f"v{i}")) for i in range(12)]
    check("prepare, reused 12 times", got, [(i * 2, f"v{i}") for i in range(12)])
    check(
        "prepared statement types",
        [a.type.name for a in stmt.get_attributes()],
        ["int8", "text"],
    )
    rows = await conn.prepare("select i, i * i from generate_series(1, $1::int4) as g(i)")
    check("prepared fetch of many rows", [tuple(r) for r in await rows.fetch(5)], [(i, i * i) for i in range(1, 6)])
    check("prepared fetch again", len(await rows.fetch(1000)), 1000)


async def copy(conn):
    await conn.execute(f"drop table if exists {TABLE}")
    await conn.execute(
        f"create table {TABLE} (id int8, name text, amount numeric(12,3), ts timestamp, day date, "
        "ok bool, score float8, data bytea)"
    )
    records = [
        (
            i,
            f"name {i}" if i % 7 else None,
            Decimal(i) / 8,
            dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i),
            dt.date(2024, 1, 1) + dt.timedelta(days=i % 365),
            i % 2 == 0,
            i * 0.5,
            bytes([i % 256, 0]),
        )
        for i in range(5000)
    ]
    result = await conn.copy_records_to_table(
        TABLE, records=records, columns=["id", "name", "amount", "ts", "day", "ok", "score", "data"]
    )
    check("copy_records_to_table status", result, "COPY 5000")
    rows = await conn.fetch(f"select id, name, amount, ts, day, ok, score, data from {TABLE} order by id")
    check("copy_records_to_table rows", [tuple(r) for r in rows], records)
    row = await conn.fetchrow(f"select count(*), sum(id) from {TABLE}")
    check("copy_records_to_table count, sum", tuple(row), (5000, 5000 * 4999 // 2))

    chunks = []

    async def sink(data):
        chunks.append(data)

    result = await conn.copy_from_query(
        f"select id, name from {TABLE} where id < $1 order by id", 4, output=sink, format="csv"
    )
    check("copy_from_query status", result, "COPY 4")
    check("copy_from_query csv", b"".join(chunks).decode(), "0,\n1,name 1\n2,name 2\n3,name 3\n")


async def jsonb_columns(conn):
    """asyncpg reads a jsonb column (3802) in binary, version byte first, and a json one
    (114) as text."""
    await conn.execute(f"drop table if exists {TABLE}")
    await conn.execute(f"create table {TABLE} (id int, doc jsonb, meta json)")
    await conn.execute(f"insert into {TABLE} values ($1, $2, $3)", 1, json.dumps({"k": [1, "v"]}), "[2]")
    stmt = await conn.prepare(f"select doc, meta from {TABLE}")
    check("jsonb column: types", [a.type.name for a in stmt.get_attributes()], ["jsonb", "json"])
    row = await stmt.fetchrow()
    check("jsonb column: values", (json.loads(row[0]), json.loads(row[1])), ({"k": [1, "v"]}, [2]))


async def cursors(conn):
    n = 20000
    query = "select i from generate_series(1, $1::int4) as g(i)"
    async with conn.transaction():
        count, total = 0, 0
        async for record in conn.cursor(query, n, prefetch=700):
            count += 1
            total += record[0]
        check("cursor iteration: count, sum", (count, total), (n, n * (n + 1) // 2))
    async with conn.transaction():
        cur = await conn.cursor(query, n)
        first = await cur.fetch(3)
        check("cursor fetch(3)", [r[0] for r in first], [1, 2, 3])
        await cur.forward(996)
        check("cursor forward then fetchrow", (await cur.fetchrow())[0], 1000)
        rest = await cur.fetch(n)
        check("cursor fetch the rest", (len(rest), rest[-1][0]), (n - 1000, n))


async def transaction(conn):
    await conn.execute(f"drop table if exists {TABLE}")
    await conn.execute(f"create table {TABLE} (id int)")
    tx = conn.transaction()
    await tx.start()
    await conn.execute(f"insert into {TABLE} values ($1), ($2)", 1, 2)
    check("transaction: rows visible inside", await conn.fetchval(f"select count(*) from {TABLE}"), 2)
    await tx.rollback()
    check("transaction: rows gone after rollback", await conn.fetchval(f"select count(*) from {TABLE}"), 0)
    try:
        await conn.fetchval("select $1::text::int4", "x")
    except asyncpg.exceptions.InvalidTextRepresentationError:
        check("error: bad input is SQLSTATE 22P02", True, True)
    else:
        check("error: bad input raised", False, True)
    check("session usable after the error", await conn.fetchval("select $1::int4 + 1", 1), 2)


async def pool(target):
    """A pool resets each connection it gets back with `SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL;`: an advisory lock a borrower forgot is released,
    and the next borrower, on either connection, can take it."""
    async with asyncpg.create_pool(**conninfo(target), min_size=2, max_size=2) as p:
        for i in range(4):
            async with p.acquire() as conn:
                check(f"pool: borrower {i} takes the advisory lock", await conn.fetchval("select pg_try_advisory_lock(4242)"), True)
                await conn.execute("set application_name = 'borrowed'")
        async with p.acquire() as one, p.acquire() as two:
            check("pool: the lock is shared by the pool's sessions", await one.fetchval("select pg_try_advisory_lock(4343)"), True)
            check("pool: another session cannot take it", await two.fetchval("select pg_try_advisory_lock(4343)"), False)
            check("pool: reset undid SET", await two.fetchval("show application_name"), "")
        async with p.acquire() as conn:
            check("pool: released with its borrower", await conn.fetchval("select pg_try_advisory_lock(4343)"), True)


async def main(target):
    global STEP
    conn = await asyncpg.connect(**conninfo(target))
    try:
        print(f"connected: server_version {conn.get_server_version()}")
        for step in (round_trips, prepared, copy, jsonb_columns, cursors, transaction):
            STEP = step.__name__
            await step(conn)
        STEP = "pool"
        await pool(target)
        STEP = "cleanup"
        await conn.execute(f"drop table {TABLE}")
    finally:
        await conn.close()
    print("all asyncpg checks passed")


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
    except Exception as e:  # a driver or server error: say where, then fail
        print(f"FAIL in {STEP}: {type(e).__name__}: {e}")
        sys.exit(1)
