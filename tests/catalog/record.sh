#!/usr/bin/env bash
# Records what real clients send to a real PostgreSQL 15 when they read its catalog, into
# tests/catalog/corpus/{psql,pgjdbc,sqlalchemy,superset,asyncpg}.sql. For developers, when
# a client or the fixture changes; the tests only read the corpus. The other corpus files
# (dbeaver, metabase, grafana, npgsql) are those clients' statements taken from their
# sources, since the clients do not run here; each file's header says where from and how
# it was filled in.
#
#   tests/catalog/record.sh          re-record the corpus
#   tests/catalog/record.sh --serve  start the same server with the fixture loaded, print
#                                    its conninfo, and keep it until Enter or Ctrl-C
#
# It initdb's a throwaway PostgreSQL 15 in a temporary directory on a free port, logging
# every statement (log_statement = 'all', to a CSV log), loads fixture.sql, then runs psql
# 15 (one process per backslash command, told apart by application_name, plus psql's tab
# completion through a pseudo-terminal), tests/drivers/JdbcMetadata.java,
# tests/drivers/sqlalchemy_inspect.py, tests/drivers/superset_probe.py and
# tests/drivers/asyncpg_types.py (these send a marker statement before each call when
# MALLARD_RECORD_MARKERS=1). The statements are then taken out of the log: bind
# parameters are replaced by the logged values, as SQL literals, so each entry runs as a
# simple query; the marker statements and the fixture's DDL are left out; repeats are
# dropped, first appearance kept. Each entry is:
#
#   --- <label>
#   <one statement>
#
# Finally every entry is run once more, as a simple query, and the ones that fail are listed.
#
# Needs: PostgreSQL 15 binaries ($PG_BIN, default /usr/lib/postgresql/15/bin), a Python
# with psycopg, SQLAlchemy and asyncpg ($MALLARD_PYTHON, default the venv .ci/run makes),
# java and pgjdbc ($MALLARD_PGJDBC_JAR, default Debian's). Under root, PostgreSQL runs as the postgres user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
drivers="$here/../drivers"
corpus="$here/corpus"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
python="${MALLARD_PYTHON:-$HOME/.cache/mallard/venv/bin/python}"
jar="${MALLARD_PGJDBC_JAR:-/usr/share/java/postgresql.jar}"

serve=""
case "${1:-}" in
  "") ;;
  --serve) serve=1 ;;
  *) echo "usage: $0 [--serve]" >&2; exit 2 ;;
esac

for tool in initdb pg_ctl postgres psql; do
  [ -x "$pg_bin/$tool" ] || { echo "missing $pg_bin/$tool (install postgresql-15)" >&2; exit 1; }
done
"$python" -c "import psycopg, sqlalchemy, asyncpg" ||
  { echo "$python lacks psycopg, SQLAlchemy or asyncpg: run .ci/run" >&2; exit 1; }
if [ -z "$serve" ]; then
  [ -f "$jar" ] || { echo "missing $jar (install libpostgresql-jdbc-java)" >&2; exit 1; }
  command -v java >/dev/null || { echo "java is missing" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mallard-record.XXXXXX")
data="$work/data"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root.
  as_pg=(runuser -u postgres --)
  chown postgres: "$work"
fi
pg() { (cd "$work" && "${as_pg[@]}" "$pg_bin/$1" "${@:2}"); }

cleanup() {
  if [ -f "$data/postmaster.pid" ]; then
    pg pg_ctl stop -m fast -w -D "$data" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg initdb -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$data/postgresql.conf" <<EOF

listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
fsync = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'ISO, MDY'
logging_collector = on
log_destination = 'stderr,csvlog'
log_directory = '$work/log'
log_filename = 'postgres'
log_line_prefix = '%m [%p] %q%a|%d|%u '
log_statement = 'all'
log_parameter_max_length = -1
EOF
pg pg_ctl start -w -t 60 -D "$data" -l "$work/startup.log" >/dev/null

target="host=127.0.0.1 port=$port user=postgres dbname=postgres"
psql_at() { PGAPPNAME="$1" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -d "$target" "${@:2}"; }

# The fixture, statement by statement.
psql_at record-fixture -f "$here/fixture.sql" >/dev/null

if [ -n "$serve" ]; then
  echo "PostgreSQL 15 with the catalog fixture: $target"
  echo "  $python tests/drivers/sqlalchemy_inspect.py \"$target\""
  echo "  java -cp $jar tests/drivers/JdbcMetadata.java \"$target\""
  echo "Enter or Ctrl-C stops it."
  read -r _ || true
  exit 0
fi

# application_name -> corpus file and the label of what it sent (the labels of the
# markers take over from there).
apps="$work/apps.tsv"
: >"$apps"
n=0
psql_command() {
  # psql_command <label> <psql arguments...>
  n=$((n + 1))
  printf 'record-psql-%d\tpsql\tpsql %s\n' "$n" "$1" >>"$apps"
  psql_at "record-psql-$n" "${@:2}" >/dev/null
}
for cmd in '\l' '\dn' '\dt' '\dt sales.*' '\d' '\d orders' '\d customers' '\d sales.regions' \
  '\d+ orders' '\d big_orders' '\d+ big_orders' '\d order_ids' '\d orders_placed_idx' '\dt+' '\dv' '\di' \
  '\ds' '\df' '\du' '\dT' '\dx'; do
  psql_command "$cmd" -c "$cmd"
done
psql_command '\x, select * from orders' -c '\x' -c 'select * from orders'
psql_command 'select version()' -c 'select version()'

# Tab completion: psql only completes on a terminal, so each line is typed into an
# interactive psql on a pseudo-terminal, followed by two tabs, then the line is dropped.
completions=(
  'select * from ord'
  'select * from sales.'
  'select * from orders where '
  'insert into orders ('
  '\d ord'
  '\dn '
  'set search_'
  'alter table orders alter column '
)
for line in "${completions[@]}"; do
  n=$((n + 1))
  printf 'record-psql-%d\tpsql\tpsql tab completion: %s<tab>\n' "$n" "$line" >>"$apps"
  PGAPPNAME="record-psql-$n" "$python" - "$pg_bin/psql" "$target" "$line" <<'PY'
import os, pty, select, sys, time

psql, target, line = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.execv(psql, [psql, "-X", "-d", target])


def drain(quiet=0.7, limit=10.0):
    """Reads until psql has said nothing for `quiet` seconds."""
    out, end = b"", time.time() + limit
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], quiet)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


drain()
os.write(fd, line.encode() + b"\t\t")
if b"possibilities" in drain():
    os.write(fd, b"n")
    drain()
os.write(fd, b"\x15\\q\n")  # Ctrl-U drops the line
drain()
os.waitpid(pid, 0)
PY
done

printf 'JdbcMetadata\tpgjdbc\tpgjdbc connect\n' >>"$apps"
MALLARD_RECORD_MARKERS=1 java -cp "$jar" "$drivers/JdbcMetadata.java" "$target" >"$work/jdbc.out" ||
  { cat "$work/jdbc.out"; exit 1; }

printf 'record-sqlalchemy\tsqlalchemy\tsqlalchemy connect\n' >>"$apps"
MALLARD_RECORD_MARKERS=1 "$python" "$drivers/sqlalchemy_inspect.py" "$target application_name=record-sqlalchemy" \
  >"$work/sqlalchemy.out" || { cat "$work/sqlalchemy.out"; exit 1; }

printf 'record-superset\tsuperset\tsuperset connect\n' >>"$apps"
MALLARD_RECORD_MARKERS=1 "$python" "$drivers/superset_probe.py" "$target application_name=record-superset" \
  >"$work/superset.out" || { cat "$work/superset.out"; exit 1; }

printf 'record-asyncpg\tasyncpg\tasyncpg connect\n' >>"$apps"
MALLARD_RECORD_MARKERS=1 "$python" "$drivers/asyncpg_types.py" "$target application_name=record-asyncpg" \
  >"$work/asyncpg.out" || { cat "$work/asyncpg.out"; exit 1; }

# The log is written by the logging collector, a little after the statements ran: wait
# for a last statement to show up in it.
psql_at record-end -c "select 'mallard-record: end'" >/dev/null
for _ in $(seq 100); do
  grep -q "mallard-record: end" "$work/log/postgres.csv" 2>/dev/null && break
  sleep 0.1
done

mkdir -p "$corpus"
"$python" - "$work/log/postgres.csv" "$apps" "$corpus" "$target" <<'PY'
import csv, re, sys

import psycopg

log_path, apps_path, corpus_dir, target = sys.argv[1:5]
FILES = ["psql", "pgjdbc", "sqlalchemy", "superset", "asyncpg"]
HEADERS = {
    "superset": "-- Apache Superset's statements for a PostgreSQL database (its PostgresEngineSpec and\n"
    "-- base engine spec: catalogs, schemas, tables and foreign tables, views, a table's columns,\n"
    "-- keys, indexes and comment, the search_path prequery, the backend pid), as SQLAlchemy 2\n"
    "-- over psycopg 3 sent them to PostgreSQL 15 for tests/drivers/superset_probe.py, recorded\n"
    "-- by tests/catalog/record.sh. Superset itself does not run here.\n",
}
MARKER = re.compile(r"select 'mallard-record: (.*)'", re.S)
# "statement: ..." (simple query) or "execute <name>: ..." (extended; not the
# "execute fetch from <portal>" of a portal read again).
LOGGED = re.compile(r"(?:statement|execute (?!fetch from)[^:]*): (.*)", re.S)
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")

apps = {}
with open(apps_path) as f:
    for row in f:
        app, file, label = row.rstrip("\n").split("\t")
        apps[app] = (file, label)


def scan(sql, params):
    """Splits `sql` at top-level semicolons, replacing $n by params[n] outside quotes,
    identifiers and comments."""
    out, cur, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            cur.append(sql[i : j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            cur.append(sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            cur.append(sql[i:j])
            i = j
        elif c == "$":
            m = re.match(r"\$(\d+)", sql[i:])
            d = re.match(r"\$([A-Za-z_]\w*)?\$", sql[i:])
            prev = sql[i - 1] if i else " "
            if m and not (prev.isalnum() or prev == "_"):
                num = int(m.group(1))
                if num not in params:
                    sys.exit(f"no value logged for ${num} in: {sql}")
                cur.append(params[num])
                i += len(m.group(0))
            elif d and not (prev.isalnum() or prev == "_"):
                tag = d.group(0)
                j = sql.find(tag, i + len(tag))
                j = n if j < 0 else j + len(tag)
                cur.append(sql[i:j])
                i = j
            else:
                cur.append(c)
                i += 1
        elif c == ";":
            out.append("".join(cur))
            cur = []
            i += 1
        else:
            cur.append(c)
            i += 1
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


entries = {f: [] for f in FILES}
seen = {f: set() for f in FILES}
labels = {}  # session id -> current label
csv.field_size_limit(1 << 30)
with open(log_path, newline="") as f:
    for row in csv.reader(f):
        session, severity, message, detail, app = row[5], row[11], row[13], row[14], row[22]
        if severity != "LOG" or app not in apps:
            continue
        m = LOGGED.fullmatch(message)
        if not m:
            continue
        file, label = apps[app]
        params = {}
        if detail.startswith("parameters: "):
            params = {int(p.group(1)): p.group(2) for p in PARAM.finditer(detail)}
        for stmt in scan(m.group(1), params):
            marker = MARKER.fullmatch(stmt)
            if marker:
                labels[session] = f"{file} {marker.group(1)}"
                continue
            stmt = "\n".join(line.rstrip() for line in stmt.split("\n"))
            if any(line.startswith("--- ") for line in stmt.split("\n")):
                sys.exit(f"a statement has a line that starts like a label: {stmt}")
            if stmt in seen[file]:
                continue
            seen[file].add(stmt)
            entries[file].append((labels.get(session, label), stmt))

failures = 0
for file in FILES:
    with open(f"{corpus_dir}/{file}.sql", "w") as out:
        out.write(HEADERS.get(file, ""))
        for label, stmt in entries[file]:
            out.write(f"--- {label}\n{stmt}\n")
    # Every entry must run as a plain simple query.
    bad = []
    with psycopg.connect(target + " application_name=record-check", autocommit=True) as conn:
        pq = conn.pgconn
        for label, stmt in entries[file]:
            res = pq.exec_(stmt.encode())
            if res.status not in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
                bad.append((label, stmt, res.error_message.decode().strip()))
            if pq.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                pq.exec_(b"rollback")
        pq.exec_(b"rollback")
    print(f"corpus/{file}.sql: {len(entries[file])} entries, {len(bad)} failing as simple queries")
    for label, stmt, error in bad:
        print(f"  --- {label}\n  {stmt[:200]!r}\n  {error}")
    failures += len(bad)
if failures:
    sys.exit(1)
PY
