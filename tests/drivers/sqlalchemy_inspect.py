"""What SQLAlchemy 2's inspector (over psycopg 3) reports about the catalog fixture
(tests/catalog/fixture.sql), printed in a normalized, sorted form, so that the output
against PostgreSQL 15 and against mallard can be compared line by line.

Usage: sqlalchemy_inspect.py "host=... port=... user=... dbname=..."  (or the PG* variables)
Exits 0 when every inspector call ran, 1 after printing the exception otherwise.

With MALLARD_RECORD_MARKERS=1 in the environment, a `select 'mallard-record: <label>'`
goes to the server before each call, so tests/catalog/record.sh can tell from the server
log which call sent which statements. Tests leave it unset.
"""

import os
import sys

from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.engine import URL

CONNINFO = sys.argv[1] if len(sys.argv) > 1 else ""
MARKERS = os.environ.get("MALLARD_RECORD_MARKERS") == "1"
SCHEMAS = ("public", "sales")
STEP = "connect"


def engine_url(conninfo):
    """A SQLAlchemy URL from libpq-style `key=value ...` words; keys it has no field for
    (connect_timeout, application_name, ...) go to psycopg as query arguments."""
    words = dict(w.split("=", 1) for w in conninfo.split() if "=" in w)
    port = words.pop("port", None)
    return URL.create(
        "postgresql+psycopg",
        username=words.pop("user", None),
        password=words.pop("password", None),
        host=words.pop("host", None),
        port=int(port) if port else None,
        database=words.pop("dbname", None),
        query=words,
    )


class Report:
    def __init__(self, engine):
        self.engine = engine
        self.insp = inspect(engine)

    def section(self, label, columns=""):
        """Starts a section: its header line, and the marker statement when recording."""
        global STEP
        STEP = label
        if MARKERS:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"select 'mallard-record: {label}'")
        print()
        print(f"# {label}: {columns}" if columns else f"# {label}")

    @staticmethod
    def line(*values):
        print(" | ".join(show(v) for v in values))


def show(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(value[k])}" for k in sorted(value)) + "}"
    return str(value).replace("\\", "\\\\").replace("\n", "\\n")


def run(r):
    insp = r.insp
    r.section("get_schema_names")
    for name in sorted(insp.get_schema_names()):
        if name in SCHEMAS:
            r.line(name)

    tables = []
    for schema in SCHEMAS:
        r.section(f"get_table_names {schema}")
        for name in sorted(insp.get_table_names(schema=schema)):
            r.line(schema, name)
            tables.append((schema, name))

    r.section("get_table_names (default schema)")
    for name in sorted(insp.get_table_names()):
        r.line(name)

    views = []
    for schema in SCHEMAS:
        r.section(f"get_view_names {schema}")
        for name in sorted(insp.get_view_names(schema=schema)):
            r.line(schema, name)
            views.append((schema, name))

    for schema, name in tables + views:
        r.section(f"get_columns {schema}.{name}", "name | type | nullable | default | comment")
        # Column order is the table's: kept.
        for col in insp.get_columns(name, schema=schema):
            r.line(col["name"], col["type"], col["nullable"], col["default"], col.get("comment"))

    r.section("get_columns orders (default schema)", "name | type | nullable | default | comment")
    for col in insp.get_columns("orders"):
        r.line(col["name"], col["type"], col["nullable"], col["default"], col.get("comment"))

    for schema, name in tables:
        r.section(f"get_pk_constraint {schema}.{name}", "name | constrained_columns")
        pk = insp.get_pk_constraint(name, schema=schema)
        r.line(pk.get("name"), pk["constrained_columns"])

        r.section(
            f"get_foreign_keys {schema}.{name}",
            "name | constrained_columns | referred_schema | referred_table | referred_columns | options",
        )
        for fk in sorted(insp.get_foreign_keys(name, schema=schema), key=lambda f: str(f["name"])):
            r.line(
                fk["name"],
                fk["constrained_columns"],
                fk["referred_schema"],
                fk["referred_table"],
                fk["referred_columns"],
                fk.get("options", {}),
            )

        r.section(f"get_indexes {schema}.{name}", "name | column_names | unique | duplicates_constraint")
        for ix in sorted(insp.get_indexes(name, schema=schema), key=lambda i: str(i["name"])):
            r.line(ix["name"], ix["column_names"], ix["unique"], ix.get("duplicates_constraint"))

        r.section(f"get_unique_constraints {schema}.{name}", "name | column_names")
        for uc in sorted(insp.get_unique_constraints(name, schema=schema), key=lambda u: str(u["name"])):
            r.line(uc["name"], uc["column_names"])

        r.section(f"get_check_constraints {schema}.{name}", "sqltext")
        for sqltext in sorted(cc["sqltext"] for cc in insp.get_check_constraints(name, schema=schema)):
            r.line(sqltext)

        r.section(f"get_table_comment {schema}.{name}")
        r.line(insp.get_table_comment(name, schema=schema)["text"])

    for schema in SCHEMAS:
        r.section(f"get_sequence_names {schema}")
        for name in sorted(insp.get_sequence_names(schema=schema)):
            r.line(schema, name)

    r.section("has_table", "schema | name | result")
    for schema, name in [
        ("public", "customers"),
        ("public", "orders"),
        ("public", "big_orders"),
        ("public", "regions"),
        ("sales", "regions"),
        ("public", "no_such_table"),
    ]:
        r.line(schema, name, insp.has_table(name, schema=schema))
    r.section("has_sequence", "schema | name | result")
    for name in ("order_ids", "no_such_sequence"):
        r.line("public", name, insp.has_sequence(name, schema="public"))
    r.section("has_index", "table | index | result")
    for name in ("orders_placed_idx", "orders_note_idx", "no_such_index"):
        r.line("orders", name, insp.has_index("orders", name))
    r.section("has_schema", "schema | result")
    for name in ("public", "sales", "no_such_schema"):
        r.line(name, insp.has_schema(name))

    # What MetaData.reflect builds (it reads the catalog through the get_multi_* calls).
    for schema in (None, "sales"):
        r.section(f"MetaData.reflect schema={schema}", "table | columns | foreign keys")
        meta = MetaData()
        meta.reflect(bind=r.engine, schema=schema, views=True)
        for key in sorted(meta.tables):
            table = meta.tables[key]
            cols = [f"{c.name} {c.type} nullable={c.nullable} pk={c.primary_key}" for c in table.columns]
            fks = sorted(f"{fk.parent.name} -> {fk.target_fullname}" for fk in table.foreign_keys)
            r.line(key, cols, fks)


def main():
    engine = create_engine(engine_url(CONNINFO))
    try:
        run(Report(engine))
    finally:
        engine.dispose()
    print()
    print("all SQLAlchemy inspector calls ran")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a driver, SQLAlchemy or server error: say where, then fail
        print(f"FAIL in {STEP}: {type(e).__name__}: {e}")
        sys.exit(1)
