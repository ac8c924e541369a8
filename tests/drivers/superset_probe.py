"""What Apache Superset sends to a PostgreSQL database when a user adds it and browses it,
replayed through SQLAlchemy 2 (over psycopg 3) without Superset itself: the calls of
superset/db_engine_specs/postgres.py (PostgresEngineSpec: get_catalog_names' own SQL,
get_table_names = tables plus foreign tables, get_prequeries' search_path, the backend pid
it keeps to cancel a query) and of superset/db_engine_specs/base.py (schema, view and
materialized view names; a table's columns, primary key, foreign keys, indexes and
comment). Postgres has no latest-partition probe in Superset (that is Presto and Hive).

Usage: superset_probe.py "host=... port=... user=... dbname=..."
With MALLARD_RECORD_MARKERS=1, a `select 'mallard-record: <label>'` goes to the server
before each step, for tests/catalog/record.sh. It prints what it found, sorted.
"""

import os
import sys

from sqlalchemy import create_engine, inspect, text

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sqlalchemy_inspect import engine_url  # noqa: E402

MARKERS = os.environ.get("MALLARD_RECORD_MARKERS") == "1"


def main():
    engine = create_engine(engine_url(sys.argv[1] if len(sys.argv) > 1 else ""))

    def step(label):
        if MARKERS:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"select 'mallard-record: {label}'")
        print(f"# {label}")

    step("catalogs")
    with engine.connect() as conn:
        rows = conn.execute(text("\nSELECT datname FROM pg_database\nWHERE datistemplate = false;\n            "))
        print(sorted(r[0] for r in rows))
    insp = inspect(engine)
    step("schemas")
    schemas = sorted(insp.get_schema_names())
    print(schemas)
    for schema in ("public", "sales"):
        step(f"tables of {schema}")
        print(sorted(set(insp.get_table_names(schema)) | set(insp.get_foreign_table_names(schema))))
        step(f"views of {schema}")
        print(sorted(insp.get_view_names(schema)), sorted(insp.get_materialized_view_names(schema)))
    for schema, table in (("public", "orders"), ("public", "customers"), ("sales", "regions")):
        step(f"table metadata {schema}.{table}")
        print([c["name"] for c in insp.get_columns(table, schema)])
        print(insp.get_pk_constraint(table, schema)["constrained_columns"])
        print(sorted(fk["name"] for fk in insp.get_foreign_keys(table, schema)))
        print(sorted(i["name"] for i in insp.get_indexes(table, schema)))
        print(insp.get_table_comment(table, schema)["text"])
    step("query session")
    with engine.connect() as conn:
        conn.exec_driver_sql('set search_path = "public"')
        conn.exec_driver_sql("SELECT pg_backend_pid()").fetchone()
        print(conn.exec_driver_sql("SELECT * FROM orders LIMIT 100").keys())


if __name__ == "__main__":
    main()
