"""Member ids become keyed hashes before they touch the warehouse.

A plain hash of a loyalty number can be reversed by hashing every possible number; a keyed hash
(HMAC-SHA256) cannot without the key, and the key never enters the warehouse. The same key must
be used for every load, or the same member gets two keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path


class MissingPiiKey(RuntimeError):
    """Raised when personal data is to be loaded and no pseudonymisation key is configured."""


def load_key(key_file: Path | None) -> bytes:
    """The HMAC key from FOOTFALL_PII_KEY, or from the key file (which must be private)."""
    value = os.environ.get("FOOTFALL_PII_KEY")
    if value:
        return value.encode()
    if key_file is not None and key_file.exists():
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            raise MissingPiiKey(
                f"The PII key file {key_file} is readable by other users (mode {mode:o}); "
                f"run `chmod 600 {key_file}`."
            )
        key = key_file.read_text().strip()
        if key:
            return key.encode()
    raise MissingPiiKey(
        "No key to pseudonymise member ids: set FOOTFALL_PII_KEY, or create the key file "
        f"{key_file} (FOOTFALL_PII_KEY_FILE) with `footfall keygen`. Keep the key: member_key "
        "values depend on it."
    )


def create_key_file(key_file: Path) -> bool:
    """Write a new random key readable by its owner only; False if one exists already."""
    if key_file is not None and key_file.exists():
        return False
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return True


def member_keys(key: bytes, member_ids: list[str]) -> list[str]:
    digest = hashlib.sha256
    return [hmac.new(key, m.strip().encode(), digest).hexdigest() for m in member_ids]
