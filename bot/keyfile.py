"""The pseudonym key: a secret kept outside the database, created once with owner-only access."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

KEY_BYTES = 32


def ensure_key_file(path: Path) -> bytes:
    """Return the key in `path`, creating it with mode 0600 when it does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together must not overwrite each other's fresh key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    log.info("Created a new pseudonym key file (mode 0600).")
    return read_key_file(path)


def read_key_file(path: Path) -> bytes:
    """Read the key, refusing a file that is empty or not hex."""
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path} does not hold a hex key") from None
    if len(key) < 16:
        raise ValueError(f"{path} holds a key shorter than 16 bytes")
    return key
