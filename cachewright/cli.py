"""The ``cachewright`` command: demo, inspection, invalidation, warm-up and flush workers.

Usage::

    pip install "cachewright[cli]"
    cachewright demo                                  # no Redis needed
    cachewright --url redis://127.0.0.1:6379/0 stats --json
    python -m cachewright.cli get user:1

The command needs the ``cli`` extra (typer and rich). This module imports neither at
import time, so ``import cachewright`` never needs them; without them, ``main()``
says what to install and exits with status 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_CLI_EXTRA = frozenset({"typer", "rich", "click", "shellingham"})


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``) and exit."""
    try:
        from cachewright._cli.app import app
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _CLI_EXTRA:
            raise
        sys.stderr.write(
            f"the cachewright command needs {exc.name}: install cachewright[cli]\n"
            '  pip install "cachewright[cli]"\n'
        )
        raise SystemExit(1) from None
    app(args=list(argv) if argv is not None else None, prog_name="cachewright")


if __name__ == "__main__":
    main()
