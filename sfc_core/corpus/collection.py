"""A video collection into a table, one row per file, skipping the files a table already has finished
(`sfc-batch` is its command line; the columns: `sfc_core.cli.batch`)."""


from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from tqdm import tqdm

from .inputs import sha256
from .tables import JsonlTable, ParquetTable

Engine = Callable[[list[Path]], Iterable[dict]]  # files to do -> their rows, in any order


def finished(row: dict | None, path: Path, retry_errors: bool = False, verify: bool = False,
             over_time_s: float | None = None) -> bool:
    """Whether `row` is a finished result for `path` as it is now (same size and mtime, or content), with
    the answers of windows of `over_time_s` seconds when asked for."""
    if row is None or (row["status"] != "ok" and retry_errors) or not path.is_file():
        return False
    if over_time_s is not None and row["status"] == "ok" and (
            row.get("over_time") is None or json.loads(row["over_time"])["window_s"] != over_time_s):
        return False
    if verify:
        return row.get("sha256") == sha256(path)
    stat = path.stat()
    return row["size"] == stat.st_size and row["mtime"] == stat.st_mtime


def classify_collection(files: list[Path], table: JsonlTable | ParquetTable, engine: Engine, *,
                        retry_errors: bool = False, verify: bool = False, over_time_s: float | None = None,
                        progress: bool = False) -> dict:
    """Add a row to `table` for every file of `files` not finished in it; `engine(files)` yields their
    rows. Returns counts: done now, skipped, failed now."""
    rows = table.rows()
    todo = [path for path in files if not finished(rows.get(str(path)), path, retry_errors, verify, over_time_s)]
    failed = 0
    try:
        if todo:
            for row in tqdm(engine(todo), total=len(todo), unit="video", disable=not progress, file=sys.stderr):
                table.add(row)
                failed += row["status"] == "error"
    finally:
        table.close()
    table.compact()
    return {"done": len(todo), "skipped": len(files) - len(todo), "failed": failed}
