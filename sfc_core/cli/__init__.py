"""The command-line entry points, one module each (its parser and `main`), over the library:

    predict   sfc-predict: SFC and dense sampling on one video, side by side
    batch     sfc-batch: a video collection into a resumable table
    stream    sfc-stream: a file or a camera over time, an answer every few seconds
    bench     sfc-bench: the configuration sweep behind the benchmark reports
    evaluate  sfc-evaluate: accuracy of every selection strategy on SynthActions
    train     sfc-train: the SynthActions backbone, or SFC on a frozen backbone
    weights   sfc-weights: list, download and verify published checkpoints
    export    sfc-export: ONNX or OpenVINO files of a model, for inference outside PyTorch

What they share is here: a parser with the command's own name and each flag's default in --help, and a
user's error as one line and exit status 2; `model_args` adds the model flags they have in common."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import wraps

from ..errors import SFCError, one_line
from ..weights import Progress

EXIT_USER_ERROR = 2


class _WithDefaults(argparse.HelpFormatter):
    """Each flag's help ends with its default, unless it has none or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def command_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The parser of command `prog` (`sfc-predict`, ...)."""
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=_WithDefaults)


def user_errors_exit_2(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a CLI's `main`: an `SFCError` prints `error: <message>` on stderr and returns 2.
    Anything else is a bug and keeps its traceback."""

    @wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except SFCError as error:
            print(f"error: {one_line(error)}", file=sys.stderr)
            return EXIT_USER_ERROR

    return wrapper


def progress_bar(name: str) -> Progress:
    """A tqdm download bar on stderr, as a `Progress` callback."""
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int | None) -> None:
        if not bar:
            bar.append(tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr))
        bar[0].update(done - bar[0].n)

    return update
