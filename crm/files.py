"""Files the CRM keeps on disk (DATA_DIR: attachments, PDFs, outbox, the secret key, the
embedded database): readable by the owner of the process only."""
from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter (created, or tightened if it exists)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read, in a private directory; created empty if missing."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE))
    os.chmod(path, PRIVATE_FILE)
    return path
