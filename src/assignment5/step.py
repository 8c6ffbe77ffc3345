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


def training_main(argv, step: str, doc: str, run: Callable, dry_run_help: str, with_run: bool = False):
    """The command line every training entry point shares: settings, data, outputs, threads and a
    --dry-run smoke mode; calls run(settings, data=..., model=..., history=..., threads=..., dry_run=...)."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    settings_mod.add_arguments(parser, step)
    if with_run:
        parser.add_argument("--run", help="with --config: mlp, conv, resnet or bonus-<variant>")
    for name in ("--data", "--model", "--history"):
        parser.add_argument(name, required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dry-run", action="store_true", help=dry_run_help)
    args = parser.parse_args(argv)
    if with_run and not args.settings and not args.run:
        parser.error("--run is needed to pick a run's settings from --config")
    guarded(lambda: run(settings_mod.from_args(args, step, getattr(args, "run", None)), data=args.data,
                        model=args.model, history=args.history, threads=args.threads,
                        dry_run=args.dry_run))
