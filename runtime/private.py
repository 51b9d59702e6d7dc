"""State on disk is the app's own: folders the runtime creates are 0700, files 0600.

KV values, queue bodies, SQL rows and bucket objects are often personal data; a state folder
other local users can read leaks all of it. The modes are set explicitly after creation
(``chmod``), so they do not depend on the process's umask. SQLite gives a database's ``-wal``
and ``-shm`` files the mode of the database file itself, so creating that file 0600 before
SQLite opens it covers all three. Folders and files that already exist are left as they are:
they were made by someone, with a mode they chose.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents, each 0700."""
    missing = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it a moment ago: theirs, with their mode
            continue
        os.chmod(folder, DIR_MODE)


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 (and its folder, 0700) unless it exists. An empty file is
    a valid empty SQLite database, so a database path can be prepared this way before opening."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
