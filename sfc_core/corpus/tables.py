"""Where a collection's rows are stored, so that a run can stop anywhere and resume.

JSON Lines (`.jsonl`): one row per line, flushed and synced as it finishes; a line torn by a crash is
ignored (its file runs again). Parquet (`.parquet`, needs pyarrow): a folder of parts, each written
to a hidden temporary file and renamed into place when `commit` is called (every few rows): a part
is whole or absent, and Parquet readers (`pyarrow.parquet.read_table`, `pandas.read_parquet`) read
the folder as one table and skip the hidden files.

A file may have more than one row (its error was retried, or it changed): the last row counts, and
`compact` rewrites the table with one row per file at the end of a run.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ..errors import ConfigError

# Every row has these columns, in this order (what each holds: `sfc-batch --help`, sfc_core.cli.batch).
COLUMNS = ("file", "size", "mtime", "sha256", "status", "error", "result", "sfc_top1", "sfc_top1_prob",
           "dense_top1", "duration_s", "model_time_s", "over_time")


class JsonlTable:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._sink = None

    def rows(self) -> dict[str, dict]:
        """The last row of each file (a torn or unreadable line is skipped)."""
        table: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                table[row["file"]] = row
        return table

    def add(self, row: dict) -> None:
        if self._sink is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = self._ends_torn()
            self._sink = self.path.open("a")
            if torn:
                self._sink.write("\n")  # a torn last line stays alone on its line
        self._sink.write(json.dumps(row) + "\n")
        self.commit()

    def commit(self) -> None:
        if self._sink is not None:
            self._sink.flush()
            os.fsync(self._sink.fileno())

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def compact(self) -> None:
        """One row per file, written to a temporary file that replaces the table atomically."""
        rows = self.rows()
        if not self.path.exists() or len(rows) == len(self.path.read_text().splitlines()):
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text("".join(json.dumps(row) + "\n" for row in rows.values()))
        os.replace(temporary, self.path)

    def _ends_torn(self) -> bool:
        """Whether the table's last line was cut off (it does not end in a newline), read from its last byte."""
        if not self.path.exists():
            return False
        with self.path.open("rb") as table:
            if table.seek(0, os.SEEK_END) == 0:
                return False
            table.seek(-1, os.SEEK_END)
            return table.read(1) != b"\n"


class ParquetTable:
    PART = re.compile(r"part-(\d{6})\.parquet")

    def __init__(self, path: Path, commit_every: int = 16, commit_seconds: float = 30.0) -> None:
        try:
            import pyarrow  # noqa: F401  (optional dependency: the [cluster] extra)
        except ImportError:
            raise ConfigError("writing Parquet needs pyarrow: pip install 'sfc-studio[cluster]', "
                              "or write a .jsonl table") from None
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path}: a Parquet table is a folder of parts, and this is a file")
        self.path, self.commit_every, self.commit_seconds = path, commit_every, commit_seconds
        self._pending: list[dict] = []
        self._since = time.monotonic()

    def _parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if self.PART.fullmatch(p.name))

    def rows(self) -> dict[str, dict]:
        import pyarrow.parquet as pq

        table: dict[str, dict] = {}
        for part in self._parts():
            for row in pq.read_table(part).to_pylist():
                table[row["file"]] = row
        return table

    def add(self, row: dict) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.commit_every or time.monotonic() - self._since >= self.commit_seconds:
            self.commit()

    def commit(self) -> None:
        """Write the pending rows as the next part: to a hidden file first, renamed into place."""
        if self._pending:
            self._write(self._pending)
            self._pending = []
        self._since = time.monotonic()

    def close(self) -> None:
        self.commit()

    def compact(self) -> None:
        """When a file has more than one row: one row per file in one part. The new part is in place
        before the old ones go, and it is the newest, so an interruption in between leaves a table
        whose last rows are still right."""
        parts = self._parts()
        rows = self.rows()
        if len(rows) == self._row_count(parts):
            return
        self._write(list(rows.values()))
        for part in parts:
            part.unlink()

    def _row_count(self, parts: list[Path]) -> int:
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(part).metadata.num_rows for part in parts)

    def _write(self, rows: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path.mkdir(parents=True, exist_ok=True)
        parts = self._parts()
        number = int(self.PART.fullmatch(parts[-1].name)[1]) + 1 if parts else 0
        final = self.path / f"part-{number:06d}.parquet"
        temporary = self.path / f".{final.name}.tmp"
        with temporary.open("wb") as handle:
            pq.write_table(pa.Table.from_pylist(rows, schema=_schema()), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)


def _schema():
    import pyarrow as pa

    types = {"size": pa.int64(), "mtime": pa.float64(), "sfc_top1_prob": pa.float64(),
             "duration_s": pa.float64(), "model_time_s": pa.float64()}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


def open_table(path: Path) -> JsonlTable | ParquetTable:
    """The table at `path`, by its suffix: `.jsonl` or `.parquet`."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return JsonlTable(path)
    if suffix == ".parquet":
        return ParquetTable(path)
    raise ConfigError(f"--out {path.name}: name a .jsonl or .parquet table")
