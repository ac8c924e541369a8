"""Pooled connections across server reloads, as an application holds them: ten psycopg 3
connections and an asyncpg pool of ten, never closed. Each connection sets a few
settings and prepares statements once, then every connection runs its statements over
and over while the server reloads. Every statement must succeed, every connection keep
its backend pid and its settings, and a cancel must still reach it at the end.

Usage: pools_across_reloads.py "host=... port=... user=... dbname=..."
With RELOAD_COMMAND set (a shell command), it runs that command RELOADS times (default
5) while the connections work; without, the connections just work (the PostgreSQL
reference run, which proves the script's expectations).
"""

import asyncio
import os
import subprocess
import sys
import threading
import time

import asyncpg
import psycopg

from driver_common import check, conninfo

CONNECTIONS = 10
RELOADS = int(os.environ.get("RELOADS", "5"))
SLOW = "select count(*) from generate_series(1, 300000) a, generate_series(1, 10000) b where a + b = 7"


def settings_query():
    return (
        "select current_setting('application_name') || ' ' || current_setting('statement_timeout')"
        " || ' ' || current_setting('myapp.tag')"
    )


def psycopg_worker(target, i, stop, results):
    """One psycopg connection: its settings, a server-side prepared statement, a loop."""
    try:
        conn = psycopg.connect(target, autocommit=True)
        conn.execute(f"set application_name = 'psy-{i}'")
        conn.execute(f"set statement_timeout = '{23456 + i}ms'")
        conn.execute(f"set myapp.tag = 'p{i}'")
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        expected = conn.execute(settings_query()).fetchone()[0]
        runs = 0
        while not stop.is_set():
            # prepare=True: a named statement on the server, reused from the second run.
            value, seen = conn.execute(
                "select %s::int * 3, pg_backend_pid()", (runs,), prepare=True
            ).fetchone()
            if (value, seen) != (runs * 3, pid):
                raise AssertionError(f"run {runs}: got {(value, seen)}, pid {pid}")
            if runs % 10 == 0:
                shown = conn.execute(settings_query(), prepare=True).fetchone()[0]
                if shown != expected:
                    raise AssertionError(f"settings {shown!r}, not {expected!r}")
            runs += 1
            time.sleep(0.02)
        # The key psycopg got at connect still cancels a statement on this session.
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        try:
            conn.execute(SLOW)
            raise AssertionError("the slow statement was not cancelled")
        except psycopg.errors.QueryCanceled:
            pass
        timer.join()
        results.append(("psycopg", i, runs, None))
        conn.close()
    except Exception as e:  # noqa: BLE001 - reported as the connection's failure
        results.append(("psycopg", i, 0, repr(e)))


async def asyncpg_pool(target, stop, results):
    """An asyncpg pool of ten, its statements prepared by asyncpg's own statement cache
    (named server-side statements). Its release runs RESET ALL, so settings are not
    checked here."""
    kwargs = conninfo(target)
    pool = await asyncpg.create_pool(min_size=CONNECTIONS, max_size=CONNECTIONS, **kwargs)
    conns = [await pool.acquire() for _ in range(CONNECTIONS)]
    pids = [await c.fetchval("select pg_backend_pid()") for c in conns]
    for c in conns:
        await pool.release(c)
    runs = 0
    errors = []

    async def one(n):
        async with pool.acquire() as conn:
            value, pid = await conn.fetchrow("select $1::int + 1, pg_backend_pid()", n)
            if value != n + 1 or pid not in pids:
                errors.append(f"run {n}: got {(value, pid)}, pids {pids}")

    while not stop.is_set():
        try:
            await asyncio.gather(*(one(runs * CONNECTIONS + k) for k in range(CONNECTIONS)))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
            break
        runs += 1
        await asyncio.sleep(0.02)
    conns = [await pool.acquire() for _ in range(CONNECTIONS)]
    after = sorted([await c.fetchval("select pg_backend_pid()") for c in conns])
    for c in conns:
        await pool.release(c)
    await pool.close()
    if sorted(pids) != after:
        errors.append(f"pool pids changed: {sorted(pids)} -> {after}")
    results.append(("asyncpg", 0, runs, "; ".join(errors) or None))


def main():
    target = sys.argv[1]
    stop = threading.Event()
    results = []
    threads = [
        threading.Thread(target=psycopg_worker, args=(target, i, stop, results)) for i in range(CONNECTIONS)
    ]
    threads.append(threading.Thread(target=lambda: asyncio.run(asyncpg_pool(target, stop, results))))
    for t in threads:
        t.start()
    time.sleep(1)
    reload_command = os.environ.get("RELOAD_COMMAND")
    if reload_command:
        for n in range(RELOADS):
            done = subprocess.run(reload_command, shell=True, capture_output=True, text=True)
            check(f"reload {n + 1}", done.returncode, 0)
            time.sleep(0.5)
    else:
        time.sleep(3)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    check("connections reporting", len(results), CONNECTIONS + 1)
    for driver, i, runs, error in sorted(results, key=lambda r: (r[0], r[1])):
        check(f"{driver} {i}: no error", error, None)
        check(f"{driver} {i}: ran", runs > 10, True)


if __name__ == "__main__":
    main()
