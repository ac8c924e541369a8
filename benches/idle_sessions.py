"""What idle sessions cost a worker, for benches/run.sh.

    python idle_sessions.py PORT USER DATABASE WORKER_PID [SESSIONS]

Opens SESSIONS (1000) connections with psycopg, each running `select 1`, keeps them
idle, then closes them all. Prints the worker's resident memory before, with every
session open (and per session), and two seconds after the last one closed, in one
line: `idle BASE_KIB FULL_KIB PER_SESSION_KIB AFTER_KIB`.
"""

import sys
import time

import psycopg


def rss_kib(pid: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def main() -> None:
    port, user, database, worker = sys.argv[1:5]
    sessions = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    base = rss_kib(worker)
    conns = []
    for _ in range(sessions):
        conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=database, autocommit=True)
        conn.execute("select 1").fetchall()
        conns.append(conn)
    time.sleep(1)
    full = rss_kib(worker)
    for conn in conns:
        conn.close()
    # A worker whose last session ended returns freed memory at most once a second.
    time.sleep(2)
    after = rss_kib(worker)
    print(f"idle {base} {full} {(full - base) / sessions:.0f} {after}")


if __name__ == "__main__":
    main()
