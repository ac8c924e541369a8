"""What the Python driver checks share: one check line per result, and libpq-style
targets turned into asyncpg's arguments. The scripts import it from their own folder."""

import sys


def check(name, got, want):
    """Prints `ok   name`, or `FAIL name: ...` and exits 1."""
    if got != want:
        print(f"FAIL {name}: expected {want!r}, got {got!r}")
        sys.exit(1)
    print(f"ok   {name}")


def conninfo(text):
    """The keywords of a libpq-style `key=value ...` string, as asyncpg.connect arguments."""
    args = dict(pair.split("=", 1) for pair in text.split())
    kwargs = {"host": args.get("host"), "user": args.get("user"), "database": args.get("dbname")}
    if "port" in args:
        kwargs["port"] = int(args["port"])
    if "application_name" in args:
        kwargs["server_settings"] = {"application_name": args["application_name"]}
    return {k: v for k, v in kwargs.items() if v is not None}
