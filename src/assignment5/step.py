"""How a workflow rule runs its step: typed settings from params, a log, one-line errors.

Each script in workflow/scripts/ is two lines that call ``run_step``; the logic stays in the
section's module, which also has its own command line for running the step alone.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import traceback
from typing import Callable

from assignment5 import settings as settings_mod
from assignment5.errors import InputError


class _Tee:
    """Writes to the log file and to the terminal, so progress shows in both."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


def fail(message: str, code: int = 1):
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def guarded(body: Callable[[], object]):
    """Run body; an error the user can fix becomes one line naming the file/key, exit status 1."""
    try:
        return body()
    except InputError as err:
        fail(str(err))
    except OSError as err:
        if err.errno == errno.ENOSPC:
            fail(f"no space left on the device while writing {err.filename or 'a result'}: "
                 "free some space and run the same command again (finished steps are kept)")
        raise


def run_step(snakemake, body: Callable[[object], object]) -> None:
    """Build the rule's settings object from params.settings and call body(settings)."""
    with open(snakemake.log[0], "w") as log, \
            contextlib.redirect_stdout(_Tee(sys.__stdout__, log)), \
            contextlib.redirect_stderr(_Tee(sys.__stderr__, log)):
        try:
            cls = settings_mod.STEP_CLASSES[snakemake.rule]
            settings = cls.from_dict(dict(snakemake.params.settings), f"rule {snakemake.rule}")
            guarded(lambda: body(settings))
        except SystemExit:
            raise
        except BaseException:
            traceback.print_exc()
            raise SystemExit(1)
