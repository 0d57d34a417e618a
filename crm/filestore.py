"""One store for the files the CRM keeps: generated PDFs, the company logo, attachments.

A file is kept under DATA_DIR/files/ab/abcdef… where abcdef… is the sha256 of its bytes, so
equal content is kept once, a path never comes from user input, and a record only needs
to remember the digest and the name to show. Files are written to a private temporary file
and renamed into place, so a reader never sees half a file.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from crm.errors import NotFound, ValidationError
from crm.files import private_dir, private_file
from crm.settings import Settings

MEGABYTE = 1024 * 1024
DIGEST = re.compile(r"[0-9a-f]{64}")
NAME_LIMIT = 180  # characters of a display name: fits a file system's 255 bytes in most scripts
SUFFIX_LIMIT = 16  # a longer "extension" is not one worth keeping when a name is cut
FALLBACK_NAME = "file"
# Characters that mean something to a shell, a file system or a Content-Disposition header
RESERVED = re.compile(r'[<>:"|?*;]')
SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    name: str  # the display name, sanitized
    size: int  # bytes


class FileStore:
    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def for_settings(cls, settings: Settings) -> FileStore:
        return cls(settings.data_dir / "files", settings.file_max_mb * MEGABYTE)

    def put(self, data: bytes, name: str) -> StoredFile:
        """Keeps `data` (once, however often it is put) and returns how to find it again."""
        shown = display_name(name)
        self.check_size(shown, len(data))
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.is_file():
            self._write_atomically(target, data)
        return StoredFile(digest, shown, len(data))

    def check_size(self, name: str, size: int) -> None:
        """A file over the cap is refused, naming it and the limit (also before it is downloaded)."""
        if size > self.max_bytes:
            raise ValidationError("file", f"{display_name(name)} is {_megabytes(size)}, larger than the "
                                          f"{_megabytes(self.max_bytes)} a file may be (CRM_FILE_MAX_MB).")

    def path(self, sha256: str) -> Path:
        if not isinstance(sha256, str) or not DIGEST.fullmatch(sha256):
            raise ValidationError("file", f"{sha256!r} is not a file of the store (a sha256 in lowercase hex).")
        return self.root / sha256[:2] / sha256

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"The file {sha256} is no longer in the store.") from None

    def remove(self, sha256: str) -> None:
        """Forget a file (once nothing refers to it: the caller knows); a missing one is fine."""
        self.path(sha256).unlink(missing_ok=True)

    def _write_atomically(self, target: Path, data: bytes) -> None:
        private_dir(self.root)
        private_dir(target.parent)
        # a name of its own: several processes may store the same content at once
        temporary = private_file(target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def display_name(name: str) -> str:
    """`name` fit to show and to offer as a download name: no folders, no control or
    invisible characters, no leading dots, not too long, never empty. Letters of every
    script are kept."""
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = SEPARATORS.split(text)[-1]  # the last part of a path, whichever its separator
    text = "".join(" " if char.isspace() else char for char in text
                   if char.isspace() or unicodedata.category(char)[0] != "C")
    text = RESERVED.sub("_", " ".join(text.split()))
    text = text.strip(". ")  # "..", hidden files, and names Windows refuses
    return _shortened(text) or FALLBACK_NAME


def _shortened(name: str) -> str:
    if len(name) <= NAME_LIMIT:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and len(suffix) <= SUFFIX_LIMIT:
        return stem[:NAME_LIMIT - len(suffix) - 1].rstrip(". ") + "." + suffix
    return name[:NAME_LIMIT].rstrip(". ")


def _megabytes(size: int) -> str:
    return f"{size / MEGABYTE:,.1f} MB".replace(".0 MB", " MB")
