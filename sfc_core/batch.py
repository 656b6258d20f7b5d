"""Classify a video collection: one row per file, written as it finishes, resumable.

    sfc-batch INPUT... --out results.jsonl [--model NAME] [--mode sfc|dense|both] [predict's settings]
        [--retry-errors]

INPUT: video files, folders (searched recursively for video files), glob patterns, or manifests
(`.txt`: one path per line; `.csv`: a `file` column; relative paths are relative to the manifest).
Each row: `file`, `size`, `mtime`, `status` ("ok" or "error"), `error` (the one-line message predict
prints), `result` (for ok rows, predict's JSON report as a string), and the columns people filter on:
`sfc_top1`, `sfc_top1_prob`, `dense_top1`, `duration_s`, `model_time_s`. A bad file is a row with its
error, never the end of the run.

Rows are appended to the JSON Lines file one at a time and flushed to disk, so an interrupted run keeps
every finished row (a torn last line is ignored and its file done again). A rerun with the same `--out`
skips every file whose path, size and modification time match a finished row and appends only new
rows; `--retry-errors` runs the failed ones again. The table is the last row of each file.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .cli import user_errors_exit_2
from .errors import ConfigError, SFCError
from .predict import add_settings, load_from_args, predict_from_args

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
MANIFEST_SUFFIXES = {".txt", ".csv"}


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Every video file named by `inputs` (files, folders, globs, manifests), once each, in order."""
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
    text = path.read_text()
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and "file" not in rows[0]:
            raise ConfigError(f"{path.name}: a CSV manifest needs a 'file' column")
        names = [row["file"] for row in rows]
    else:
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [Path(name) if Path(name).is_absolute() else path.parent / name for name in names]


def read_table(out: Path) -> dict[str, dict]:
    """The last row of each file in `out` (a torn or unreadable line is skipped)."""
    table: dict[str, dict] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            table[row["file"]] = row
    return table


def _unchanged(row: dict, path: Path) -> bool:
    stat = path.stat() if path.exists() else None
    return stat is not None and row.get("size") == stat.st_size and row.get("mtime") == stat.st_mtime


def _ends_torn(out: Path) -> bool:
    """Whether the table's last line was cut off (it does not end in a newline), read from its last byte."""
    with out.open("rb") as table:
        if table.seek(0, os.SEEK_END) == 0:
            return False
        table.seek(-1, os.SEEK_END)
        return table.read(1) != b"\n"


def _row(path: Path, classify: Callable[[Path], dict]) -> dict:
    stat = path.stat() if path.exists() else None
    row = {"file": str(path), "size": stat.st_size if stat else None, "mtime": stat.st_mtime if stat else None,
           "status": "ok", "error": None, "result": None, "sfc_top1": None, "sfc_top1_prob": None,
           "dense_top1": None, "duration_s": None, "model_time_s": None}
    try:
        report = classify(path)
    except Exception as error:  # one bad file is one error row, never the end of a corpus run
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not isinstance(error, SFCError):  # not a user's error: name the exception, as a traceback would
            message = f"{type(error).__name__}: {message}"
        return {**row, "status": "error", "error": message}
    sfc, dense = report["sfc"], report["dense"]
    return {**row, "result": json.dumps(report), "duration_s": report["video"]["duration_s"],
            "sfc_top1": sfc["top5"][0][0] if sfc else None, "sfc_top1_prob": sfc["top5"][0][1] if sfc else None,
            "dense_top1": dense["top5"][0][0] if dense else None,
            "model_time_s": (sfc or dense)["model_time_s"]}


def classify_collection(files: list[Path], out: Path, classify: Callable[[Path], dict], *,
                        retry_errors: bool = False, progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Append a row for every file of `files` not already finished in `out`; `classify(path)` returns
    predict's JSON report. Returns counts: done now, skipped, failed now."""
    table = read_table(out)
    todo = [path for path in files if not (
        str(path) in table and _unchanged(table[str(path)], path)
        and (table[str(path)]["status"] == "ok" or not retry_errors))]
    out.parent.mkdir(parents=True, exist_ok=True)
    begin, failed = time.perf_counter(), 0
    with out.open("a") as sink:
        if _ends_torn(out):
            sink.write("\n")  # a torn last line stays alone on its line
        for number, path in enumerate(todo, 1):
            row = _row(path, classify)
            failed += row["status"] == "error"
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            if progress:
                progress(number, len(todo), time.perf_counter() - begin)
    return {"done": len(todo), "skipped": len(files) - len(todo), "failed": failed}


def _progress(number: int, total: int, seconds: float) -> None:
    rate = number / seconds if seconds > 0 else 0.0
    eta = (total - number) / rate if rate > 0 else 0.0
    print(f"\r{number}/{total} videos, {rate:.2f} videos/s, ETA {eta:.0f} s", end="", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfc-batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="video files, folders, glob patterns or .txt/.csv manifests")
    parser.add_argument("--out", type=Path, required=True, help="the JSON Lines table (appended to; resumable)")
    parser.add_argument("--retry-errors", action="store_true", help="run the files that failed before again")
    add_settings(parser)
    parser.set_defaults(mode="sfc")
    return parser


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.suffix.lower() != ".jsonl":
        raise ConfigError(f"--out {args.out.name}: write a .jsonl table")
    files = expand_inputs(args.inputs)
    model = load_from_args(args)
    counts = classify_collection(files, args.out, lambda path: predict_from_args(model, path, args).to_dict(),
                                 retry_errors=args.retry_errors, progress=_progress)
    print(f"\n{counts['done']} classified ({counts['failed']} failed), {counts['skipped']} already in {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
