"""What psycopg 3 does against a PostgreSQL server: typed parameters, prepared and binary
queries, COPY both ways, a rolled-back transaction and a server-side cursor.

Usage: psycopg_check.py "host=... port=... user=... dbname=..."  (or the PG* variables)
Prints one line per check; the first failure exits 1 with what was expected and seen.
"""

import datetime as dt
import sys
import uuid
from decimal import Decimal

import psycopg
from psycopg.types.json import Json, Jsonb

from driver_common import check

CONNINFO = sys.argv[1] if len(sys.argv) > 1 else ""
TABLE = "drv_psycopg"


UTC_PLUS_2 = dt.timezone(dt.timedelta(hours=2))

# (name, value, what comes back). psycopg chooses each parameter's type from the
# Python type; the server answers with its own types, which psycopg loads again.
ROUND_TRIPS = [
    ("int small", 42, 42),
    ("int big", 2**40 + 3, 2**40 + 3),
    ("int negative", -7, -7),
    ("float", 1.5, 1.5),
    ("bool true", True, True),
    ("bool false", False, False),
    ("decimal", Decimal("12345.6789"), Decimal("12345.6789")),
    ("decimal negative", Decimal("-0.001"), Decimal("-0.001")),
    ("str", "héllo, 'wörld' \\ \"x\"", "héllo, 'wörld' \\ \"x\""),
    ("str empty", "", ""),
    ("bytes", b"\x00\x01\xff\\abc'", b"\x00\x01\xff\\abc'"),
    ("date", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("time", dt.time(13, 45, 30, 123456), dt.time(13, 45, 30, 123456)),
    ("datetime naive", dt.datetime(2024, 2, 29, 13, 45, 30, 123456), dt.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    # Aware datetimes compare by instant, whatever zone the server answers in.
    (
        "datetime aware",
        dt.datetime(2024, 2, 29, 13, 45, 30, 123456, tzinfo=UTC_PLUS_2),
        dt.datetime(2024, 2, 29, 11, 45, 30, 123456, tzinfo=dt.timezone.utc),
    ),
    (
        "timedelta",
        dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
        dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
    ),
    ("uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("json", Json({"a": [1, 2, {"b": None}], "c": "d"}), {"a": [1, 2, {"b": None}], "c": "d"}),
    ("jsonb", Jsonb({"k": [True, 1.5]}), {"k": [True, 1.5]}),
    ("list of int", [1, 2, 3], [1, 2, 3]),
    # psycopg sends a list of str as an array of unknown type: the cast says which.
    ("list of str", ["a", "b c", ""], ["a", "b c", ""], "::text[]"),
    ("list of float", [1.5, -2.25], [1.5, -2.25]),
    ("None", None, None),
]


def round_trips(conn, binary):
    mode = "binary" if binary else "text"
    with conn.cursor(binary=binary) as cur:
        for name, value, want, *cast in ROUND_TRIPS:
            cur.execute("select %s" + "".join(cast), [value])
            check(f"{mode} select %s: {name}", cur.fetchone()[0], want)
        # Several parameters in one statement, and a parameter used in an expression.
        cur.execute("select %s + %s, %s || %s", [40, 2, "ab", "cd"])
        check(f"{mode} expressions over parameters", cur.fetchone(), (42, "abcd"))
        # Values the server computes (no parameters) in this format.
        cur.execute(
            "select 7::int4, 8::int8, 2.5::float8, 'x'::text, true, '2024-01-02'::date, "
            "'12.50'::numeric, '\\x0102'::bytea"
        )
        check(
            f"{mode} server-typed columns",
            cur.fetchone(),
            (7, 8, 2.5, "x", True, dt.date(2024, 1, 2), Decimal("12.50"), b"\x01\x02"),
        )


def prepared(conn):
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {TABLE}")
        cur.execute(f"create table {TABLE} (id int, name text, amount numeric(12,2), ts timestamp)")
        for i in range(1, 21):
            cur.execute(
                f"insert into {TABLE} (id, name, amount, ts) values (%s, %s, %s, %s)",
                [i, f"n{i}", Decimal(i) / 4, dt.datetime(2024, 1, 1) + dt.timedelta(hours=i)],
                prepare=True,
            )
        got = []
        for i in (3, 7, 20):
            cur.execute(f"select name, amount, ts from {TABLE} where id = %s", [i], prepare=True)
            got.append(cur.fetchone())
        want = [
            (f"n{i}", (Decimal(i) / 4).quantize(Decimal("0.01")), dt.datetime(2024, 1, 1) + dt.timedelta(hours=i))
            for i in (3, 7, 20)
        ]
        check("prepare=True: 20 inserts, 3 selects", got, want)
        cur.execute(f"select count(*), sum(id) from {TABLE}")
        check("prepare=True: rows inserted", cur.fetchone(), (20, 210))


COPY_ROWS = [
    (1, "plain", Decimal("1.50"), dt.date(2024, 1, 1), b"\x00\x01"),
    (2, "tab\there, newline\nhere, backslash \\", Decimal("-2.25"), dt.date(1999, 12, 31), b"\xff"),
    (3, None, None, None, None),
]


def copy(conn):
    types = ["int4", "text", "numeric", "date", "bytea"]
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {TABLE}")
        cur.execute(f"create table {TABLE} (id int, name text, amount numeric(10,2), day date, data bytea)")
        with cur.copy(f"copy {TABLE} (id, name, amount, day, data) from stdin") as cp:
            for row in COPY_ROWS:
                cp.write_row(row)
        check("copy from stdin (text): rowcount", cur.rowcount, 3)
        cur.execute(f"select id, name, amount, day, data from {TABLE} order by id")
        check("copy from stdin (text): rows", cur.fetchall(), COPY_ROWS)

        with cur.copy(f"copy (select id, name, amount, day, data from {TABLE} order by id) to stdout") as cp:
            cp.set_types(types)
            check("copy to stdout (text)", list(cp.rows()), COPY_ROWS)

        cur.execute(f"delete from {TABLE}")
        with cur.copy(f"copy {TABLE} (id, name, amount, day, data) from stdin (format binary)") as cp:
            cp.set_types(types)
            for row in COPY_ROWS:
                cp.write_row(row)
        cur.execute(f"select id, name, amount, day, data from {TABLE} order by id")
        check("copy from stdin (binary): rows", cur.fetchall(), COPY_ROWS)

        with cur.copy(f"copy {TABLE} (id, name, amount, day, data) to stdout (format binary)") as cp:
            cp.set_types(types)
            check("copy to stdout (binary)", sorted(cp.rows(), key=lambda r: r[0]), COPY_ROWS)

        # Many rows in one COPY, larger than any single network buffer.
        cur.execute(f"delete from {TABLE}")
        with cur.copy(f"copy {TABLE} (id, name) from stdin") as cp:
            for i in range(20000):
                cp.write_row((i, f"row {i}"))
        cur.execute(f"select count(*), sum(id), max(name) from {TABLE}")
        check("copy from stdin: 20000 rows", cur.fetchone(), (20000, 199990000, "row 9999"))


def jsonb_columns(conn):
    """A jsonb column is jsonb (3802) in the row description, so psycopg reads its binary
    form, which starts with a version byte, in selects and in COPY, both ways."""
    doc = {"k": [True, 1.5], "s": "x"}
    with conn.cursor(binary=True) as cur:
        cur.execute(f"drop table if exists {TABLE}")
        cur.execute(f"create table {TABLE} (id int, doc jsonb, meta json)")
        cur.execute(f"insert into {TABLE} values (%s, %s, %s)", [1, Jsonb(doc), Json([1])])
        cur.execute(f"select doc, meta from {TABLE}")
        check("jsonb column: type oids", [c.type_code for c in cur.description], [3802, 114])
        check("jsonb column: binary values", cur.fetchone(), (doc, [1]))
        with cur.copy(f"copy {TABLE} (id, doc) to stdout (format binary)") as cp:
            cp.set_types(["int4", "jsonb"])
            rows = list(cp.rows())
        check("jsonb column: copy to stdout (binary)", rows, [(1, doc)])
        with cur.copy(f"copy {TABLE} (id, doc) from stdin (format binary)") as cp:
            cp.set_types(["int4", "jsonb"])
            cp.write_row((2, Jsonb({"two": 2})))
        cur.execute(f"select doc from {TABLE} where id = 2")
        check("jsonb column: copy from stdin (binary)", cur.fetchone()[0], {"two": 2})


def transaction(conn):
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {TABLE}")
        cur.execute(f"create table {TABLE} (id int)")
        cur.execute(f"insert into {TABLE} values (1)")
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(f"insert into {TABLE} values (%s), (%s)", [2, 3])
            cur.execute(f"select count(*) from {TABLE}")
            check("transaction: rows visible inside", cur.fetchone()[0], 3)
            check("transaction: status in block", conn.info.transaction_status.name, "INTRANS")
        raise psycopg.Rollback()
    check("transaction: status after rollback", conn.info.transaction_status.name, "IDLE")
    with conn.cursor() as cur:
        cur.execute(f"select count(*) from {TABLE}")
        check("transaction: rows gone after rollback", cur.fetchone()[0], 1)
    # An error inside a transaction block, then the block is rolled back.
    with conn.cursor() as cur:
        try:
            with conn.transaction():
                cur.execute(f"insert into {TABLE} values (4)")
                cur.execute("select 'x'::int4")
        except psycopg.errors.InvalidTextRepresentation:
            pass
        else:
            check("transaction: bad input raised", False, True)
        cur.execute(f"select count(*) from {TABLE}")
        check("transaction: failed block rolled back", cur.fetchone()[0], 1)
    # Nested transactions are savepoints: a nested block that only reads, released, and
    # one whose read fails, rolled back to its savepoint while the outer block goes on.
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(f"insert into {TABLE} values (5)")
            with conn.transaction():
                cur.execute(f"select count(*) from {TABLE}")
                check("nested: rows visible inside", cur.fetchone()[0], 2)
            try:
                with conn.transaction():
                    cur.execute("select * from no_such_table")
            except psycopg.errors.UndefinedTable:
                pass
            else:
                check("nested: missing table raised", False, True)
            cur.execute(f"select count(*) from {TABLE}")
            check("nested: outer block goes on", cur.fetchone()[0], 2)
    with conn.cursor() as cur:
        cur.execute(f"select count(*) from {TABLE}")
        check("nested: outer block committed", cur.fetchone()[0], 2)


def server_cursor(conn):
    n = 100_000
    query = "select i from generate_series(1, %s) as g(i)"
    with conn.transaction():
        with conn.cursor(name="drv_big") as cur:
            cur.execute(query, [n])
            count, total, pages = 0, 0, 0
            while True:
                page = cur.fetchmany(7000)
                if not page:
                    break
                pages += 1
                count += len(page)
                total += sum(r[0] for r in page)
            check("server cursor fetchmany: count, sum, pages", (count, total, pages), (n, n * (n + 1) // 2, 15))
    with conn.transaction():
        with conn.cursor(name="drv_iter") as cur:
            cur.itersize = 2500
            cur.execute(query, [n])
            count, total = 0, 0
            for (i,) in cur:
                count += 1
                total += i
            check("server cursor itersize: count, sum", (count, total), (n, n * (n + 1) // 2))


def time_zones_and_locks(conn):
    """The session's TimeZone shapes timestamptz text and casts; advisory locks bind
    other sessions, and transaction-level ones end with the transaction."""
    conn.execute("set timezone = 'America/New_York'")
    got = conn.execute("select '2024-07-01 12:00:00+00'::timestamptz").fetchone()[0]
    check("timestamptz arrives in the session's zone", (got, got.utcoffset()),
          (dt.datetime(2024, 7, 1, 12, tzinfo=dt.timezone.utc), dt.timedelta(hours=-4)))
    got = conn.execute("select %s::timestamptz", [dt.datetime(2024, 3, 10, 2, 30)]).fetchone()[0]
    check("a wall-clock time in the DST gap", got, dt.datetime(2024, 3, 10, 7, 30, tzinfo=dt.timezone.utc))
    check("current_date is a date", type(conn.execute("select current_date").fetchone()[0]), dt.date)
    conn.execute("reset timezone")
    with psycopg.connect(CONNINFO, autocommit=True) as other:
        conn.execute("select pg_advisory_lock(515)")
        check("advisory lock held by another session", other.execute("select pg_try_advisory_lock(515)").fetchone()[0], False)
        check("advisory unlock", conn.execute("select pg_advisory_unlock(515)").fetchone()[0], True)
        check("advisory lock free again", other.execute("select pg_try_advisory_lock(515)").fetchone()[0], True)
        other.execute("select pg_advisory_unlock_all()")
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(516)")
            check("xact lock held inside the block", other.execute("select pg_try_advisory_lock(516)").fetchone()[0], False)
        check("xact lock gone after the block", other.execute("select pg_try_advisory_lock(516)").fetchone()[0], True)


def main():
    global STEP
    with psycopg.connect(CONNINFO, autocommit=True) as conn:
        print(f"connected: server_version {conn.info.parameter_status('server_version')}")
        STEP = 'round_trips'
        round_trips(conn, binary=False)
        STEP = 'round_trips'
        round_trips(conn, binary=True)
        STEP = 'prepared'
        prepared(conn)
        STEP = 'copy'
        copy(conn)
        STEP = 'jsonb_columns'
        jsonb_columns(conn)
        STEP = 'transaction'
        transaction(conn)
        STEP = 'server_cursor'
        server_cursor(conn)
        STEP = 'time_zones_and_locks'
        time_zones_and_locks(conn)
        with conn.cursor() as cur:
            cur.execute(f"drop table {TABLE}")
    print("all psycopg checks passed")


if __name__ == "__main__":
    STEP = "connect"
    try:
        main()
    except Exception as e:  # a driver or server error: say where, then fail
        print(f"FAIL in {STEP}: {type(e).__name__}: {e}")
        sys.exit(1)
