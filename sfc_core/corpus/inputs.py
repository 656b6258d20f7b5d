"""Which files a collection names: video files, folders, glob patterns and manifests, once each."""

from __future__ import annotations

import csv
import glob
import hashlib
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
MANIFEST_SUFFIXES = {".txt", ".csv"}


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Every video file named by `inputs` (files, folders searched recursively, globs, `.txt` manifests
    with one path per line, `.csv` manifests with a `file` column), once each, in order, as absolute paths."""
    found: dict[Path, None] = {}
    for item in inputs:
        path = Path(item)
        if path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file():
            candidates = _manifest(path)
        elif path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        elif path.exists():
            candidates = [path]
        else:
            candidates = sorted(Path(p) for p in glob.glob(item, recursive=True))
            if not candidates:
                raise ConfigError(f"{item}: no such file, folder or matching files")
        found.update((candidate.resolve(), None) for candidate in candidates)
    return list(found)


def _manifest(path: Path) -> list[Path]:
    """A manifest's paths; relative ones are relative to the manifest's folder."""
    text = path.read_text()
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and "file" not in rows[0]:
            raise ConfigError(f"{path.name}: a CSV manifest needs a 'file' column")
        names = [row["file"] for row in rows]
    else:
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [Path(name) if Path(name).is_absolute() else path.parent / name for name in names]


def fingerprint(path: Path, content: bool) -> dict:
    """`size` and `mtime` of `path` (None when it is missing), and with `content` its `sha256`."""
    if not path.is_file():
        return {"size": None, "mtime": None, "sha256": None}
    stat = path.stat()
    return {"size": stat.st_size, "mtime": stat.st_mtime, "sha256": sha256(path) if content else None}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
