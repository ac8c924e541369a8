//! Text output compared with a real PostgreSQL 15: see the harness.
