"""Messages on stdout/stderr and the one error type the command line turns into exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn


class UsageError(Exception):
    """Reported as a single `error: ...` line on stderr, exit status 2."""


def fail(message: str) -> NoReturn:
    raise UsageError(message)


def log(message: str = "") -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
