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

from footfall_platform.warehouse.sql import sql_literal


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


# What str.strip() strips (every character for which str.isspace() is true).
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(
    map(chr, [*range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
)
BLOCK = 64  # SHA-256 block size, as HMAC pads the key to it


def member_key_sql(member_id: str) -> str:
    """`member_keys` as one SQL expression, so member ids never leave the database.

    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). The two padded keys are the statement's
    parameters (see `hmac_pads`), never part of its text, so no query log shows them.
    """
    m = member_id
    # Trimming by a set of characters is slow: only ids that may start or end with whitespace
    # (a byte below '!' or a multi-byte character) pay for it.
    stripped = (
        f"CASE WHEN {m} < '!' OR {m}[-1:] < '!' OR strlen({m}) <> length({m}) "
        f"THEN trim({m}, {sql_literal(WHITESPACE)}) ELSE {m} END"
    )
    return f"sha256(?::BLOB || unhex(sha256(?::BLOB || encode({stripped}))))"


def hmac_pads(key: bytes) -> list[bytes]:
    """The parameters of `member_key_sql`: the key XOR opad, then the key XOR ipad."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return [bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)]

