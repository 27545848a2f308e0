"""PostgreSQL for the CLI and the server: the embedded server for trials (`rag db start|stop`),
schema upgrades (`rag db upgrade`), copying a folder index into a database (`rag migrate`).
`Assistant.load("postgresql://...")` opens an index in a database as it opens a folder."""

from index.migrate import copy_to_db
from index.pgserver import start, stop
from index.pgstore import DEFAULT_SCHEMA, is_db_url, redact, split_address, upgrade

__all__ = ["DEFAULT_SCHEMA", "copy_to_db", "is_db_url", "redact", "split_address", "start", "stop", "upgrade"]
