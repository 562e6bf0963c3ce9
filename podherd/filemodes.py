"""Owner-only files and directories for what holds task data (the SQLite database, `run`'s state).

Why: task rows carry commands, environment variables and failure messages, and a
kubeconfig carries a bearer token; on a shared machine the default umask (022) would
let every user read them. Modes are set explicitly after creating, so a umask can
neither widen nor (as 0277 would) narrow them into unusable ones.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "private_dirs", "private_file"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, each one created here 0700; existing ones are left as they are.

    An existing directory may be the user's own (a home directory, /tmp): changing its mode
    is not ours to do.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # created meanwhile by another process: not ours to change
            continue
        os.chmod(directory, PRIVATE_DIR_MODE)


def private_file(path: Path) -> bool:
    """Create an empty ``path`` with mode 0600 if it does not exist (True when created here).

    An existing file keeps its mode: it may have been shared on purpose.
    """
    private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True
