"""TPC-H data and queries for benches/run.sh, from DuckDB's tpch extension.

    python tpch_data.py SCALE DIRECTORY

Writes into DIRECTORY: schema.sql (the eight tables, in types PostgreSQL and mallard
both accept), one TABLE.tbl per table in COPY's text format with `|` between fields,
and q01.sql to q22.sql. Needs the PyPI packages duckdb and duckdb-extension-tpch (the
same DuckDB version as the workspace's). Writes `done` last, so a directory without it
is incomplete and is written again.
"""

import os
import sys

import duckdb
import duckdb_extension_tpch

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def main() -> None:
    scale, directory = float(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    con = duckdb.connect()
    version = duckdb.__version__
    extension = os.path.join(
        os.path.dirname(duckdb_extension_tpch.__file__), f"extensions/v{version}/tpch.duckdb_extension"
    )
    con.execute(f"LOAD '{extension}'")
    con.execute(f"CALL dbgen(sf = {scale})")

    with open(os.path.join(directory, "schema.sql"), "w") as schema:
        for table in TABLES:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            listed = ",\n  ".join(f"{name} {kind}" for name, kind in columns)
            schema.write(f"CREATE TABLE {table} (\n  {listed}\n);\n")

    for table in TABLES:
        path = os.path.join(directory, f"{table}.tbl")
        # TPC-H text has no `|`, quote or backslash, so CSV without quoting is COPY's
        # text format; the check below makes sure.
        con.execute(f"COPY {table} TO '{path}' (FORMAT csv, DELIMITER '|', HEADER false, QUOTE '')")
        bad = con.execute(
            f"SELECT count(*) FROM read_csv('{path}', delim = chr(1), header = false, columns = {{'l': 'VARCHAR'}}, quote = '') "
            "WHERE contains(l, '\\') OR contains(l, '\"')"
        ).fetchone()[0]
        if bad:
            sys.exit(f"{table}: {bad} lines need escaping")

    for number, query in con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY 1").fetchall():
        with open(os.path.join(directory, f"q{number:02}.sql"), "w") as out:
            out.write(query.strip() + "\n")

    open(os.path.join(directory, "done"), "w").close()


if __name__ == "__main__":
    main()
