"""What every command-line entry point shares: its parser (the command's own name, each flag's default in
--help), and a user's error as one line and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import wraps

from .errors import SFCError

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


def one_line(error: BaseException) -> str:
    """An error's message as a CLI prints it: its first line (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

