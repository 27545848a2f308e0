"""Which files a run reads: folders expanded, links and special files judged, the index itself left out."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from index.errors import InputError
from index.types import Skipped

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl")


def find_files(
    paths: Iterable[str | os.PathLike[str]],
    follow_links: bool = False,
    exclude: Sequence[str | os.PathLike[str]] = (),
) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders (recursively, hidden entries ignored) into the files to read, each
    once, by its real path; what is left out with a reason a person should see comes back as skipped.

    A link that leads outside the given folders is skipped unless `follow_links`; nothing under
    `exclude` (the index folder) is read. Raises InputError for a path that does not exist or a
    folder with no supported files, before anything is read, so a typo never changes an index.
    """
    given = [Path(p).expanduser() for p in paths]
    for raw, path in zip(paths, given, strict=False):
        if not path.exists():
            raise InputError(
                f"path '{raw}' does not exist; check the spelling or give another file or folder"
            )
    roots = [p.resolve() for p in given]
    excluded = [Path(e).expanduser().resolve() for e in exclude]
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()

    def consider(path: Path, shown: Path) -> None:
        """`shown` is where the file was found (a link's own path); `path` where it really is."""
        if any(_within(path, e) for e in excluded):
            return
        if path in seen:
            return
        seen.add(path)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            skipped.append(Skipped(str(shown), f"cannot be read ({exc.strerror or exc})"))
            return
        if not stat.S_ISREG(mode):
            skipped.append(Skipped(str(shown), f"not a regular file ({_kind(mode)}); only files are read"))
            return
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(Skipped(str(shown), unsupported(path)))
            return
        files.append(path)

    for raw, root in zip(paths, roots, strict=False):
        if not root.is_dir():
            consider(root, root)
            continue
        before = len(files)
        for folder, dirs, names in os.walk(root, followlinks=follow_links):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = Path(folder)
            for d in list(dirs):
                link = base / d
                if not link.is_symlink():
                    continue
                target = link.resolve()
                if not follow_links and not any(_within(target, r) for r in roots):
                    skipped.append(Skipped(str(link), _outside(target)))
                if follow_links and (not target.is_dir() or target in seen):
                    dirs.remove(d)  # a loop, or a folder already read
                elif follow_links:
                    seen.add(target)
            for name in sorted(names):
                if name.startswith("."):
                    continue
                shown = base / name
                if shown.is_symlink():
                    target = Path(os.path.realpath(shown))
                    if not target.exists():
                        skipped.append(
                            Skipped(
                                str(shown), f"broken link (to '{os.readlink(shown)}', which does not exist)"
                            )
                        )
                        continue
                    if not follow_links and not any(_within(target, r) for r in roots):
                        skipped.append(Skipped(str(shown), _outside(target)))
                        continue
                    consider(target, shown)
                else:  # its real path: a file under a followed folder link may be read twice otherwise
                    consider(Path(os.path.realpath(shown)), shown)
        if len(files) == before and not any(_within(f, root) for f in files):
            raise InputError(
                f"folder '{raw}' contains no supported documents "
                f"({', '.join(SUPPORTED_SUFFIXES)}); add some or point at another folder"
            )
    return files, skipped


def unsupported(path: Path) -> str:
    kind = path.suffix or "(no extension)"
    return f"unsupported file type {kind}; supported: {', '.join(SUPPORTED_SUFFIXES)}"


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _outside(target: Path) -> str:
    return f"a link to '{target}', outside the folders given; pass --follow-links to read it"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file"
