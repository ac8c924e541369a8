"""What asyncpg asks of the catalog: its type introspection (`WITH RECURSIVE typeinfo_tree
...` over pg_type, pg_namespace and pg_range), which it sends for every type it meets in a
result or parameter and has no codec for, such as the arrays of builtin types. Each step reads such values on a fresh connection (asyncpg caches what it
learnt per connection) and prints them with their Python types.

Usage: asyncpg_types.py "host=... port=... user=... dbname=..."
With MALLARD_RECORD_MARKERS=1, a `select 'mallard-record: <label>'` goes to the server
before each step, for tests/catalog/record.sh.
"""

import asyncio
import datetime as dt
import os
import sys
from decimal import Decimal

import asyncpg

from driver_common import conninfo

MARKERS = os.environ.get("MALLARD_RECORD_MARKERS") == "1"

# (label, statement, parameters).
STEPS = [
    ("int4[] result", "select array[1, 2, null]::int4[] as a", []),
    ("int8[] parameter", "select $1::int8[] as a", [[7, -(2**40)]]),
    ("int2[] and float8[]", "select array[1, 2]::int2[] as a, array[1.5, -2]::float8[] as b", []),
    ("text[] and varchar[]", "select array['x', 'y z']::text[] as a, array['v']::varchar[] as b", []),
    ("bpchar[] and bool[]", "select array['ab']::char(2)[] as a, array[true, false]::bool[] as b", []),
    ("numeric[] parameter", "select $1::numeric[] as a", [[Decimal("1.25"), Decimal("-3"), Decimal("0.1234567")]]),
    ("date[] and timestamp[]",
     "select array[date '2024-02-29']::date[] as a, array[timestamp '2024-01-02 03:04:05']::timestamp[] as b", []),
    ("timestamptz[] parameter", "select $1::timestamptz[] as a",
     [[dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc)]]),
    ("uuid[] and bytea[]",
     "select array['00000000-0000-0000-0000-000000000001']::uuid[] as a, array['\\x01ff'::bytea] as b", []),
    ("interval[] and time[]", "select array[interval '1 day 2 hours']::interval[] as a, array[time '10:11:12'] as b", []),
    ("jsonb[] and json[]", "select array['{\"k\": 1}'::jsonb] as a, array['[1]'::json] as b", []),
]


def shown(value):
    """The value's repr; a numeric by its value only, since mallard gives an unconstrained
    numeric 10 decimal places where PostgreSQL keeps each value's own scale."""
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return f"Decimal({value.normalize()})"
    return repr(value)


async def main(target):
    for label, sql, args in STEPS:
        conn = await asyncpg.connect(**conninfo(target))
        try:
            if MARKERS:
                await conn.execute(f"select 'mallard-record: {label}'")
            print(f"# {label}")
            for row in await conn.fetch(sql, *args):
                print(" | ".join(f"{key}={shown(value)} ({type(value).__name__})" for key, value in row.items()))
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
