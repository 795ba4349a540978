"""Put a new folder in place of a live one atomically, keeping the replaced one as ``<live>.previous``.

A reader of ``<live>`` (the bot watching its index folder) sees either the old folder or the new one,
never a missing or half-written one: on Linux the two are exchanged with one
``renameat2(RENAME_EXCHANGE)``; elsewhere two renames leave a moment without ``<live>`` (the bot keeps
serving the index it has loaded).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path


def previous_of(live: Path) -> Path:
    """Where the index that was live before the last replacement is kept (the rollback copy)."""
    return live.with_name(live.name + ".previous")


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(candidate: Path, live: Path) -> Path | None:
    """Make ``candidate`` the live folder; the old one (if any) ends up at ``<live>.previous``
    (replacing an older rollback copy). Returns that path, or None when there was no live folder."""
    previous = previous_of(live)
    if not live.exists():
        os.replace(candidate, live)
        return None
    shutil.rmtree(previous, ignore_errors=True)
    if exchange(candidate, live):
        os.replace(candidate, previous)        # candidate now holds the old folder
    else:
        os.replace(live, previous)
        os.replace(candidate, live)
    return previous
