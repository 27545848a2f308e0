"""The command line the dev scripts (calibrate, tune, bench) share: where they write, where indexes are cached."""

from __future__ import annotations

import argparse

from rag.assistant import default_cache_dir


def script_parser(doc: str | None, out: str) -> argparse.ArgumentParser:
    """A parser with the script's docstring as its help, `--out` (default `out`) and `--cache-dir`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=out, help=f"where the figures go (default: {out})")
    parser.add_argument(
        "--cache-dir", default=str(default_cache_dir() / "eval"), help="where eval indexes are cached"
    )
    return parser
