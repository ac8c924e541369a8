"""LISTEN/NOTIFY as psycopg 3 uses it: a listener reads `Connection.notifies()` while
idle; a second connection (on another worker of mallard) notifies, in autocommit and in
transactions, with parameters, and rolls one back.

Usage: psycopg_notify.py "host=... port=... user=... dbname=..."
Prints one line per check; the first failure exits 1 with what was expected and seen.
"""

import sys

import psycopg

from driver_common import check

CONNINFO = sys.argv[1] if len(sys.argv) > 1 else ""


def received(listener, n):
    """The next `n` notifications as (channel, payload, pid), waiting while idle."""
    got = [(x.channel, x.payload, x.pid) for x in listener.notifies(timeout=10, stop_after=n)]
    if len(got) != n:
        print(f"FAIL waited 10 s for {n} notification(s), got {got!r}")
        sys.exit(1)
    return got


def main():
    listener = psycopg.connect(CONNINFO, autocommit=True)
    sender = psycopg.connect(CONNINFO, autocommit=True)
    me = listener.execute("select pg_backend_pid()").fetchone()[0]
    them = sender.execute("select pg_backend_pid()").fetchone()[0]
    listener.execute("LISTEN jobs")

    sender.execute("NOTIFY jobs, 'from psycopg'")
    check("NOTIFY arrives with the sender's pid", received(listener, 1), [("jobs", "from psycopg", them)])

    with sender.transaction():
        for payload in ("first", "second", "first"):
            sender.execute("select pg_notify(%s, %s)", ("jobs", payload))
    check("a transaction's notifications, once each, in order", received(listener, 2),
          [("jobs", "first", them), ("jobs", "second", them)])

    try:
        with sender.transaction():
            sender.execute("NOTIFY jobs, 'rolled back'")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    sender.execute("NOTIFY jobs, 'after the rollback'")
    check("nothing from a rolled-back transaction", received(listener, 1),
          [("jobs", "after the rollback", them)])

    big = "é" * 3998 + "xyz"
    sender.execute("select pg_notify('jobs', %s)", (big,))
    check("a 7999-byte payload arrives whole", received(listener, 1), [("jobs", big, them)])
    try:
        sender.execute("select pg_notify('jobs', %s)", ("x" * 8000,))
        check("an 8000-byte payload is refused", "accepted", "refused")
    except psycopg.Error as e:
        check("an 8000-byte payload is refused", (e.sqlstate, e.diag.message_primary),
              ("22023", "payload string too long"))

    listener.execute("NOTIFY jobs, 'self'")
    check("a session hears itself", received(listener, 1), [("jobs", "self", me)])

    handled = []
    listener.add_notify_handler(lambda n: handled.append((n.channel, n.payload, n.pid)))
    sender.execute("NOTIFY jobs, 'to the handler'")
    received(listener, 1)
    check("add_notify_handler sees it too", handled, [("jobs", "to the handler", them)])

    listener.execute("UNLISTEN jobs")
    listener.execute("LISTEN marks")
    sender.execute("NOTIFY jobs, 'unheard'")
    sender.execute("NOTIFY marks, 'heard'")
    check("nothing after UNLISTEN", received(listener, 1)[0][:2], ("marks", "heard"))
    check("pg_listening_channels", listener.execute("select pg_listening_channels()").fetchall(), [("marks",)])

    listener.close()
    sender.close()
    print("all psycopg notification checks passed")


if __name__ == "__main__":
    main()
