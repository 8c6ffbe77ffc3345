"""How a workflow rule runs its step: typed settings from params, a log, one-line errors.

Each script in workflow/scripts/ is two lines that call ``run_step``; the logic stays in the
section's module, whose ``run(...)`` the tests call directly.
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
    """Writes to the terminal and to the log file, so progress shows in both. A log that cannot be
    written (a full disk) is dropped, so that the error itself still reaches the terminal."""

    def __init__(self, terminal, log):
        self.terminal, self.log = terminal, log

    def write(self, text):
        self.terminal.write(text)
        self.terminal.flush()
        if self.log is not None:
            try:
                self.log.write(text)
                self.log.flush()
            except OSError:
                self.log = None
        return len(text)

    def flush(self):
        self.terminal.flush()

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
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            fail(f"no space left on the device while writing {err.filename or 'a result'}: "
                 "free some space and run the same command again (finished steps are kept)")
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and err.filename:
            fail(f"{err.filename}: {err.strerror}; make it (or its folder) writable by this user, "
                 "or run the workflow from a copy you own")
        raise
    except MemoryError:
        fail("out of memory: give the job more memory (resources.mem_mb on a cluster), or lower the "
             "batch size, image size or galaxy.limit in the config; finished steps are kept")
    except torch_out_of_memory() as err:
        fail(f"the GPU ran out of memory ({str(err).splitlines()[0][:120]}): lower the batch size or "
             "image size, or set device: cpu; finished steps are kept")


def torch_out_of_memory() -> type[BaseException]:
    """torch.OutOfMemoryError where torch is loaded (not imported here just for this)."""
    torch = sys.modules.get("torch")
    return getattr(torch, "OutOfMemoryError", MemoryError) if torch else MemoryError


def run_step(snakemake, body: Callable[[object], object]) -> None:
    """Build the rule's settings object from params.settings and call body(settings)."""
    log = open(snakemake.log[0], "w")
    try:
        with contextlib.redirect_stdout(_Tee(sys.__stdout__, log)), \
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
    finally:
        with contextlib.suppress(OSError):  # a full disk: the error was already shown
            log.close()
