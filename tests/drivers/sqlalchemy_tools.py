"""What the tools built on SQLAlchemy see of the catalog fixture (tests/catalog/fixture.sql):
Alembic's autogenerate against a model of it, pandas' to_sql and read_sql, SQLAlchemy's
inspector over psycopg2, and psycopg 3's TypeInfo.fetch; printed in a normalized form, so
that the output against PostgreSQL 15 and against mallard can be compared line by line.

Usage: sqlalchemy_tools.py "host=... port=... user=... dbname=..."
Exits 0 when every step ran, 1 after printing the exception otherwise.
"""

import datetime
import decimal
import sys

import pandas as pd
import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg.types import TypeInfo
from sqlalchemy import (
    Boolean,
    CHAR,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    BigInteger,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    DateTime,
    create_engine,
    inspect,
)

from sqlalchemy_inspect import engine_url, show

CONNINFO = sys.argv[1] if len(sys.argv) > 1 else ""
STEP = "connect"


def section(label):
    global STEP
    STEP = label
    print()
    print(f"# {label}")


def line(*values):
    print(" | ".join(show(v) for v in values))


def model():
    """The fixture as an application's model, plus what the application added since: a
    table and a column the database does not have yet."""
    meta = MetaData()
    Table(
        "customers",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(80), nullable=False, unique=True),
        Column("name", Text),
        Column("created", Date),
    )
    Table(
        "orders",
        meta,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("total", Numeric(12, 2)),
        Column("discount", Numeric),
        Column("note", String(20)),
        Column("placed", DateTime),
        Column("paid", Boolean),
        Column("shipped", DateTime),  # new in the model
        Index("orders_placed_idx", "placed"),
        Index("orders_note_idx", "customer_id", "note", unique=True),
    )
    Table(
        "regions",
        meta,
        Column("code", CHAR(2), primary_key=True),
        Column("label", Text, nullable=False),
        schema="sales",
    )
    Table("audit_log", meta, Column("id", Integer, primary_key=True), Column("entry", Text))  # new
    return meta


def name_of(value):
    """A diff element as text: schema objects by name, types by their SQL."""
    if hasattr(value, "name") and not isinstance(value, str):
        return value.name
    return value


def alembic(engine):
    section("alembic compare_metadata (autogenerate)")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_schemas": True, "compare_type": True})
        diffs = compare_metadata(context, model())
    lines = []
    for diff in diffs:
        # A modification comes as a list of tuples; the others as one tuple.
        for op in diff if isinstance(diff, list) else [diff]:
            lines.append(" ".join(str(name_of(v)) for v in op if not isinstance(v, dict)))
    for text in sorted(lines):
        line(text)


def pandas(engine):
    section("pandas to_sql, read_sql_table, read_sql_query")
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "amount": [1.5, -2.25, 1e10],
            "label": ["a", "it's", None],
            "flag": [True, False, True],
            "seen": [datetime.datetime(2026, 12, 3, 14, 30), datetime.datetime(1999, 1, 8), None],
        }
    )
    frame.to_sql("pandas_frame", engine, if_exists="replace", index=False)
    back = pd.read_sql_table("pandas_frame", engine)
    line("read_sql_table dtypes", [f"{c} {t}" for c, t in back.dtypes.items()])
    for row in back.sort_values("id").itertuples(index=False):
        line(*row)
    query = pd.read_sql_query("select id, amount * 2 as twice, label from pandas_frame order by id", engine)
    line("read_sql_query dtypes", [f"{c} {t}" for c, t in query.dtypes.items()])
    for row in query.itertuples(index=False):
        line(*row)
    frame.to_sql("pandas_frame", engine, if_exists="append", index=False)
    line("rows after append", pd.read_sql_query("select count(*) as n from pandas_frame", engine)["n"][0])
    with engine.begin() as conn:
        conn.exec_driver_sql("drop table pandas_frame")


def psycopg2_inspector(conninfo):
    section("SQLAlchemy inspector over psycopg2")
    engine = create_engine(engine_url(conninfo).set(drivername="postgresql+psycopg2"))
    try:
        insp = inspect(engine)
        line("tables", sorted(insp.get_table_names()))
        line("views", sorted(insp.get_view_names()))
        for col in insp.get_columns("orders"):
            line(col["name"], col["type"], col["nullable"])
        line("pk", insp.get_pk_constraint("orders")["constrained_columns"])
        fks = insp.get_foreign_keys("orders")
        line("fks", [(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]) for fk in fks])
        line("indexes", sorted((ix["name"], ix["unique"]) for ix in insp.get_indexes("orders")))
    finally:
        engine.dispose()


def type_info(conninfo):
    section("psycopg TypeInfo.fetch")
    with psycopg.connect(conninfo) as conn:
        for name in ("int4", "text", "numeric", "varchar", "timestamptz", "bool", "jsonb", "int4[]", "_text", "uuid"):
            info = TypeInfo.fetch(conn, name)
            if info is None:
                line(name, None)
            else:
                line(name, info.name, info.oid, info.array_oid, info.regtype, info.delimiter)


def main():
    engine = create_engine(engine_url(CONNINFO))
    try:
        alembic(engine)
        pandas(engine)
    finally:
        engine.dispose()
    psycopg2_inspector(CONNINFO)
    type_info(CONNINFO)
    print()
    print("all steps ran")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a driver, library or server error: say where, then fail
        print(f"FAIL in {STEP}: {type(e).__name__}: {e}")
        sys.exit(1)
