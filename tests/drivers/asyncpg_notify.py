"""LISTEN/NOTIFY as asyncpg uses it: `add_listener` on one connection while a second one
(on another worker of mallard) notifies; `remove_listener` unlistens.

Usage: asyncpg_notify.py "host=... port=... user=... dbname=..."
Prints one line per check; the first failure exits 1 with what was expected and seen.
"""

import asyncio
import sys

import asyncpg

from driver_common import check, conninfo

STEP = "connect"


async def received(queue, n):
    return [await asyncio.wait_for(queue.get(), 10) for _ in range(n)]


async def main(target):
    global STEP
    listener = await asyncpg.connect(**conninfo(target))
    sender = await asyncpg.connect(**conninfo(target))
    me = await listener.fetchval("select pg_backend_pid()")
    them = await sender.fetchval("select pg_backend_pid()")
    queue = asyncio.Queue()

    def on_notification(connection, pid, channel, payload):
        queue.put_nowait((channel, payload, pid))

    STEP = "add_listener"
    await listener.add_listener("jobs", on_notification)
    await sender.execute("NOTIFY jobs, 'from asyncpg'")
    check("NOTIFY arrives with the sender's pid", await received(queue, 1), [("jobs", "from asyncpg", them)])

    STEP = "transaction"
    async with sender.transaction():
        for payload in ("first", "second", "first"):
            await sender.execute("select pg_notify($1, $2)", "jobs", payload)
    check("a transaction's notifications, once each, in order", await received(queue, 2),
          [("jobs", "first", them), ("jobs", "second", them)])

    STEP = "rollback"
    tx = sender.transaction()
    await tx.start()
    await sender.execute("NOTIFY jobs, 'rolled back'")
    await tx.rollback()
    await sender.execute("NOTIFY jobs, 'after the rollback'")
    check("nothing from a rolled-back transaction", await received(queue, 1),
          [("jobs", "after the rollback", them)])

    STEP = "self"
    await listener.execute("NOTIFY jobs, 'self'")
    check("a session hears itself", await received(queue, 1), [("jobs", "self", me)])

    STEP = "remove_listener"
    await listener.remove_listener("jobs", on_notification)
    await listener.add_listener("marks", on_notification)
    await sender.execute("NOTIFY jobs, 'unheard'")
    await sender.execute("NOTIFY marks, 'heard'")
    check("nothing after remove_listener", await received(queue, 1), [("marks", "heard", them)])

    await listener.close()
    await sender.close()
    print("all asyncpg notification checks passed")


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
    except Exception as e:  # a driver or server error: say where, then fail
        print(f"FAIL in {STEP}: {type(e).__name__}: {e}")
        sys.exit(1)
