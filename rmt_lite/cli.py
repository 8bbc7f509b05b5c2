"""How every command line ends on a fault: one line on stderr and an exit code, never a traceback.

``python -m rmt_lite.<command>`` runs its ``main`` through :func:`run`. Ctrl-C ends with 130 and
says that what finished is kept (every file is written through a temporary file and a rename, so a
run resumes from its last whole checkpoint when the same command runs again); an operating-system
error (a full disk, a read-only or forbidden folder) ends with 1 and names the path and the cause.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT
OS_ERROR = 1


def describe(error: OSError) -> str:
    """``cannot use <path>: <cause>`` (the cause alone when the error names no path)."""
    cause = (error.strerror or str(error)).rstrip(".")
    cause = cause[:1].lower() + cause[1:]
    return f"cannot use {error.filename}: {cause}" if error.filename else cause


def run(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> int:
    """``main(argv)`` as a process exit code: its own integer, 0 for anything else it returns, and
    one line instead of a traceback for Ctrl-C and for operating-system errors."""
    try:
        code = main(argv)
    except KeyboardInterrupt:
        print(
            "interrupted: finished runs and the last checkpoint of an unfinished one are kept; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return INTERRUPTED
    except OSError as e:
        print(f"error: {describe(e)}", file=sys.stderr)
        return OS_ERROR
    return code if isinstance(code, int) else 0
