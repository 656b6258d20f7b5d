"""The errors a user can cause and fix, under one base class.

Every CLI turns exactly these into one line on stderr and exit status 2, and the app shows their
message as is; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class SFCError(Exception):
    """A problem with what the user gave (file, weights, settings); the message says what to do."""


class VideoError(SFCError):
    """A file cannot be used as a video."""


class WeightsError(SFCError):
    """A checkpoint could not be obtained, did not verify, or does not fit the model."""


class ConfigError(SFCError):
    """Settings that cannot run: an unknown model, a conflicting override, an unavailable device."""


class InputRejected(SFCError):
    """A valid input that a deployment's policy refuses (too large, too long)."""


def one_line(error: BaseException) -> str:
    """An error's message as a CLI prints it and a table row stores it: its first line (its type's name when
    it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
