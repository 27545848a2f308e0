"""Parse files in a worker process, stopped when it runs too long or grows too large.

A hostile or damaged PDF, .docx or HTML file can make a parser loop, recurse or allocate without
end; in a worker that costs the file, never the run. The worker is a fresh interpreter
(`python -m index.worker`, never a fork of a process with model threads running, and never a
re-import of the caller's script) that reads one JSON request per line on stdin and answers one
JSON line on stdout; its memory is capped with RLIMIT_AS where the platform has it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from index.extract import SkipFile, extract
from index.limits import Limits
from index.types import Extracted


class ExtractWorker:
    """`worker.extract(path)` -> `(title, text)` or SkipFile; the process starts on first use.

    >>> with ExtractWorker(Limits()) as worker:
    ...     title, text = worker.extract(Path("report.pdf"))
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str] = queue.Queue()

    def extract(self, path: Path) -> Extracted:
        proc = self._start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"path": str(path)}) + "\n")
            proc.stdin.flush()
            line = self._replies.get(timeout=self.limits.extract_timeout_s)
        except queue.Empty:
            self.close()
            raise SkipFile(
                f"parsing took longer than {self.limits.extract_timeout_s:g} s (RAG_EXTRACT_TIMEOUT_S); "
                "the file is damaged, hostile or too large"
            ) from None
        except OSError:  # the worker died before it read the request
            line = ""
        if not line:
            code = self.close()
            raise SkipFile(f"the parser crashed (exit code {code}); re-save or re-export the file")
        reply = json.loads(line)
        if reply.get("restart"):  # it ran out of memory: the next file gets a fresh process
            self.close()
        if "skip" in reply:
            raise SkipFile(reply["skip"])
        return Extracted(reply["title"], reply["text"], tuple(reply.get("pages", ())))

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "index.worker", json.dumps(asdict(self.limits))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # what matters comes back as the reply, or the exit code
                text=True,
                encoding="utf-8",
                errors="surrogatepass",
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            self._replies = queue.Queue()
            assert self._proc.stdout is not None
            threading.Thread(target=_pump, args=(self._proc.stdout, self._replies), daemon=True).start()
        return self._proc

    def close(self) -> int | None:
        """Stop the worker; returns its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        return code

    def __enter__(self) -> ExtractWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _pump(stream: IO[str], replies: queue.Queue[str]) -> None:
    """Hand each line the worker writes to the waiting request ('' when it ends)."""
    try:
        for line in stream:
            replies.put(line)
    except (OSError, ValueError):
        pass
    replies.put("")


def _cap_memory(megabytes: int | None) -> None:
    """Cap this process's address space (the soft limit; None lifts it, to answer after a MemoryError)."""
    try:
        import resource
    except ImportError:  # Windows: the timeout still bounds the work
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = hard if megabytes is None else megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY and megabytes is not None:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _serve(limits: Limits) -> None:
    import bs4  # noqa: F401  (the parsers load before the memory cap, not within a file's budget)
    import docx2txt  # noqa: F401
    import pypdf  # noqa: F401

    _cap_memory(limits.extract_memory_mb)
    for line in sys.stdin:
        reply = _handle(json.loads(line)["path"], limits)
        sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        if reply.get("restart"):
            return  # after a MemoryError the process is not trusted with another file


def _handle(path: str, limits: Limits) -> dict[str, Any]:
    out_of_memory = False
    try:
        found = extract(path, limits)
        return {"title": found.title, "text": found.text, "pages": list(found.pages)}
    except SkipFile as exc:
        return {"skip": str(exc)}
    except MemoryError:
        _cap_memory(None)  # room to answer
        out_of_memory = True  # answered below, once the parser's objects are freed with the exception
    except Exception as exc:  # anything else the parser raised costs this file only
        return {"skip": f"could not be parsed ({type(exc).__name__}: {str(exc)[:160]})"}
    assert out_of_memory
    return {
        "skip": f"parsing needed more than {limits.extract_memory_mb} MB of memory "
        "(RAG_EXTRACT_MEMORY_MB); the file is damaged, hostile or too large",
        "restart": True,
    }


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogatepass")  # type: ignore[union-attr]
    _serve(Limits(**json.loads(sys.argv[1])))
