"""Server secrets on disk: the token pepper and the secret key (cursors, encryption)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class SecretFileError(Exception):
    pass


def create_secret_file(path: Path, nbytes: int = 32) -> bool:
    """Write a new random secret with mode 0600 unless the file exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(nbytes) + "\n")
    return True


def read_secret_file(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise SecretFileError(
            f"secret file {path} is missing; run `fortytwo init` to create it"
        ) from None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise SecretFileError(f"secret file {path} is not hex text") from None
    if len(value) < 16:
        raise SecretFileError(f"secret file {path} holds fewer than 16 bytes")
    return value
