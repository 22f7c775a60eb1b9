"""`footfall doctor`: is this install able to run the platform, and if not, what to do about it.

Each check gives OK, WARN or FAIL with a one-line fix. FAIL means something will break (a
package missing, a key others can read, a database DuckDB cannot open); WARN means something
needs attention but runs (the home not created yet, a writer holding the warehouse, little disk).
Checks never write to the databases: they open them read-only and give up at once on a lock.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from footfall_platform.settings import Settings
from footfall_platform.warehouse.connection import WarehouseLocked, open_warehouse

OK, WARN, FAIL = "OK", "WARN", "FAIL"
GB = 1024**3
PYTHON = (3, 11)
KEY_HEX_CHARS = 64  # `footfall keygen` writes 32 random bytes as hex
MIN_ENV_KEY_CHARS = 32


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    fix: str = ""


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _major_minor(version: str) -> tuple[int, int]:
    def number(part: str) -> int:
        return int("".join(filter(str.isdigit, part)) or 0)

    major, minor = (version.split(".") + ["0", "0"])[:2]
    return number(major), number(minor)


def check_python(version: tuple[int, int] | None = None) -> Check:
    found = version or sys.version_info[:2]
    text = ".".join(map(str, found))
    if tuple(found) == PYTHON:
        return Check("python", OK, f"Python {text}")
    return Check(
        "python", FAIL, f"Python {text}; Footfall needs 3.11 (pyproject requires-python)",
        "recreate the virtualenv with python3.11: `PYTHON=python3.11 make demo`",
    )  # fmt: skip


# -- packages ---------------------------------------------------------------------------------
def _duckdb_rule(version: str) -> str | None:
    if _major_minor(version) >= (2, 0):
        return ("DuckDB 2 writes files that BI drivers built on DuckDB 1.x cannot open, and "
                "breaks the polars IO manager")  # fmt: skip
    return None


def _hog_rule(version: str) -> str | None:
    import cv2

    if not hasattr(cv2, "HOGDescriptor_getDefaultPeopleDetector"):
        return "this OpenCV has no HOG people detector (dropped in 5.x)"
    if len(cv2.HOGDescriptor_getDefaultPeopleDetector()) == 0:
        return "OpenCV's HOG people detector is empty"
    return None


def _cmdstan_rule(version: str) -> str | None:
    import prophet

    models = Path(prophet.__file__).parent / "stan_model"
    if not (models / "prophet_model.bin").is_file() or not list(models.glob("cmdstan-*")):
        return f"Prophet's bundled cmdstan model is missing from {models}"
    return None


def _gx_rule(version: str) -> str | None:
    return None if _major_minor(version)[0] == 1 else "GX Core 1.x is required"


def _dbt_rule(version: str) -> str | None:
    if _major_minor(version) != (1, 11):
        return "dbt-core 1.11 is required (1.12 cannot be installed offline)"
    importlib.import_module("dbt.adapters.duckdb")
    return None


@dataclass(frozen=True)
class Package:
    """A distribution the platform needs, the module to import, and an extra rule."""

    distribution: str
    module: str
    pin: str
    rule: Callable[[str], str | None] | None = None
    note: str = ""


PACKAGES = (
    Package("dagster", "dagster", "dagster"),
    Package("duckdb", "duckdb", "duckdb>=1.4,<2", _duckdb_rule,
            "BI drivers need DuckDB 1.x files"),
    Package("polars", "polars", "polars"),
    Package("opencv-python-headless", "cv2", "opencv-python-headless>=4.10,<5", _hog_rule,
            "HOG people detector present"),
    Package("lightgbm", "lightgbm", "lightgbm"),
    Package("prophet", "prophet", "prophet", _cmdstan_rule, "bundled cmdstan present"),
    Package("implicit", "implicit", "implicit"),
    Package("great-expectations", "great_expectations", "great-expectations>=1.24,<2", _gx_rule),
    Package("dbt-core", "dbt.version", "dbt-core>=1.11,<1.12", _dbt_rule,
            "with the duckdb adapter"),
    Package("dbt-duckdb", "dbt.adapters.duckdb", "dbt-duckdb"),
)  # fmt: skip


def check_package(package: Package) -> Check:
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # plotly is optional
    fix = f"`.venv/bin/pip install '{package.pin}'` (or `make demo` to reinstall everything)"
    try:
        importlib.import_module(package.module)
    except Exception as error:  # noqa: BLE001 - any import failure is the finding
        return Check(package.distribution, FAIL, f"cannot import {package.module}: {error}", fix)
    version = _version(package.distribution)
    try:
        problem = package.rule(version) if package.rule else None
    except Exception as error:  # noqa: BLE001
        problem = f"{type(error).__name__}: {error}"
    if problem:
        return Check(package.distribution, FAIL, f"{version}: {problem}", fix)
    note = f" ({package.note})" if package.note else ""
    return Check(package.distribution, OK, f"{version}{note}")


# -- the pseudonymisation key -----------------------------------------------------------------
def check_key(key_file: Path, env_key: str | None = None) -> Check:
    """The HMAC key: present, readable, long enough, not readable by other users."""
    if env_key:
        if len(env_key) < MIN_ENV_KEY_CHARS:
            return Check(
                "pii key", WARN, f"FOOTFALL_PII_KEY is set but short ({len(env_key)} characters)",
                "use a long random key, e.g. the output of `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`; keep it: member keys depend on it",
            )  # fmt: skip
        return Check("pii key", OK, "FOOTFALL_PII_KEY is set (environment)")
    keygen = "run `footfall keygen` (or set FOOTFALL_PII_KEY)"
    if not key_file.exists():
        return Check("pii key", FAIL, f"no key: {key_file} does not exist and FOOTFALL_PII_KEY "
                     "is unset; members and transactions cannot load", keygen)  # fmt: skip
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        return Check("pii key", FAIL, f"{key_file} is readable by other users (mode {mode:o})",
                     f"`chmod 600 {key_file}`")  # fmt: skip
    try:
        key = key_file.read_text().strip()
    except OSError as error:
        return Check("pii key", FAIL, f"cannot read {key_file}: {error.strerror}",
                     "make the key file readable by the user running Footfall")  # fmt: skip
    if not key:
        return Check("pii key", FAIL, f"{key_file} is empty", f"delete it, then {keygen}")
    if len(key) != KEY_HEX_CHARS or any(ch not in "0123456789abcdef" for ch in key.lower()):
        return Check("pii key", WARN, f"{key_file} holds {len(key)} characters, not the "
                     f"{KEY_HEX_CHARS} hex digits `footfall keygen` writes",
                     "keep it if data was loaded with it (member keys depend on it)")  # fmt: skip
    return Check("pii key", OK, f"{key_file} (mode {mode:o}, {len(key)} hex digits)")


# -- folders and disk -------------------------------------------------------------------------
def check_writable(name: str, folder: Path) -> Check:
    if not folder.exists():
        return Check(name, WARN, f"{folder} does not exist yet", "run `footfall init`")
    if not folder.is_dir():
        return Check(name, FAIL, f"{folder} is not a folder", f"move the file {folder} away")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".footfall-doctor-"):
            pass
    except OSError as error:
        return Check(name, FAIL, f"{folder} is not writable: {error.strerror}",
                     f"give the user running Footfall write access to {folder}")  # fmt: skip
    return Check(name, OK, f"{folder} is writable")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(home: Path, warn_bytes: int = 5 * GB, fail_bytes: int = 1 * GB) -> Check:
    free = shutil.disk_usage(_existing(home)).free
    detail = f"{free / GB:.1f} GB free for {home}"
    fix = "free disk space or move FOOTFALL_HOME (or FOOTFALL_WAREHOUSE) to a larger disk"
    if free < fail_bytes:
        return Check("disk", FAIL, f"{detail} (below {fail_bytes / GB:g} GB)", fix)
    if free < warn_bytes:
        return Check("disk", WARN, f"{detail} (below {warn_bytes / GB:g} GB)", fix)
    return Check("disk", OK, detail)


# -- DuckDB files -----------------------------------------------------------------------------
def file_header(path: Path) -> tuple[int, str] | None:
    """(storage version number, library that created the file) from a DuckDB file's header."""
    with path.open("rb") as handle:
        head = handle.read(84)
    if len(head) < 84 or head[8:12] != b"DUCK":
        return None
    number = int.from_bytes(head[12:20], "little")
    library = head[52:84].split(b"\0", 1)[0].decode("ascii", "replace") or "an older DuckDB"
    return number, library


def check_database(name: str, path: Path, build: str) -> Check:
    """The file opens read-only with this DuckDB, and no writer holds it."""
    import duckdb

    if not path.exists():
        return Check(name, WARN, f"{path} does not exist yet", build)
    header = file_header(path)
    if header is None:
        return Check(name, FAIL, f"{path} is not a DuckDB database file",
                     f"move it away; {build}")  # fmt: skip
    number, library = header
    try:
        with open_warehouse(path, read_only=True, lock_wait=0) as con:
            tags = con.execute(
                "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchone()[0]
            tables = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchone()[0]
    except WarehouseLocked as error:
        return Check(name, WARN, f"{path} is locked by a writer: {error.holder}",
                     "a run in progress? wait for it, or stop that process; BI tools read "
                     "serving.duckdb, never the warehouse")  # fmt: skip
    except duckdb.Error as error:
        first = str(error).splitlines()[0][:200]
        return Check(name, FAIL, f"{path} (storage {number}, created by DuckDB {library}) does "
                     f"not open with duckdb {duckdb.__version__}: {first}",
                     "open it with the DuckDB that wrote it and EXPORT DATABASE, or rebuild it: "
                     f"{build}")  # fmt: skip
    storage = (tags or {}).get("storage_version", str(number))
    return Check(name, OK, f"{path}: {tables} tables, storage {storage} (created by DuckDB "
                 f"{library}), opens read-only with duckdb {duckdb.__version__}")  # fmt: skip


# -- Dagster instance -------------------------------------------------------------------------
def check_dagster_yaml(dagster_home: Path) -> Check:
    """Writers are serialised only if the instance limits pools to one step at a time."""
    import yaml

    config = dagster_home / "dagster.yaml"
    init = "run `footfall init` (it writes concurrency.pools.default_limit: 1)"
    if not config.exists():
        return Check("dagster.yaml", WARN, f"{config} does not exist: writers are not serialised",
                     init)  # fmt: skip
    try:
        data = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        return Check("dagster.yaml", FAIL, f"{config} is not readable YAML: {error}",
                     f"fix or delete it, then {init}")  # fmt: skip
    pools = ((data.get("concurrency") or {}).get("pools") or {}) if isinstance(data, dict) else {}
    limit = pools.get("default_limit") if isinstance(pools, dict) else None
    if limit != 1:
        return Check("dagster.yaml", FAIL, f"{config}: concurrency.pools.default_limit is "
                     f"{limit!r}, so two writers can meet on the warehouse (pool duckdb_writer)",
                     "set `concurrency: {pools: {default_limit: 1}}` in it")  # fmt: skip
    return Check("dagster.yaml", OK, f"{config}: pool duckdb_writer runs one step at a time")


def check_retention(settings: Settings) -> Check:
    """Retention is configured, and long enough for the models that learn from members."""
    from footfall_platform.forecast.propensity import MIN_HISTORY_DAYS, WINDOW_DAYS

    days, quarantine = settings.retention_days, settings.quarantine_retention_days
    needed = MIN_HISTORY_DAYS + 2 * WINDOW_DAYS

    def kept(n: int | None) -> str:
        return "kept forever" if n is None else f"{n} days"

    periods = f"personal data {kept(days)}, quarantine {kept(quarantine)}"
    if days is None:
        return Check("retention", WARN, f"off: {periods}",
                     "set FOOTFALL_RETENTION_DAYS (and FOOTFALL_QUARANTINE_RETENTION_DAYS) to "
                     "the periods your privacy policy states (docs/operations.md)")  # fmt: skip
    if days < needed:
        return Check("retention", WARN, f"{periods}: shorter than the {needed} days of member "
                     "receipts the purchase-propensity model needs (it will fail)",
                     f"keep personal data at least {needed} days")  # fmt: skip
    return Check("retention", OK, periods)


def run_checks(
    settings: Settings,
    *,
    packages: tuple[Package, ...] = PACKAGES,
    warn_bytes: int = 5 * GB,
    fail_bytes: int = 1 * GB,
) -> list[Check]:
    build = "build it with `footfall demo` or a Dagster run"
    checks = [check_python(), *(check_package(p) for p in packages)]
    checks.append(check_key(settings.pii_key_file, os.environ.get("FOOTFALL_PII_KEY")))
    for name, folder in (("home", settings.home), ("landing", settings.landing),
                         ("dagster_home", settings.dagster_home)):  # fmt: skip
        checks.append(check_writable(name, folder))
    checks.append(check_database("warehouse", settings.warehouse, build))
    checks.append(check_database("serving", settings.serving, "publish it: materialize "
                                 "serving/serving_duckdb (or `footfall demo`)"))  # fmt: skip
    checks.append(check_disk(settings.home, warn_bytes, fail_bytes))
    checks.append(check_dagster_yaml(settings.dagster_home))
    checks.append(check_retention(settings))
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0


def as_json(checks: list[Check]) -> dict:
    return {"ok": exit_code(checks) == 0, "checks": [asdict(c) for c in checks]}


def format_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status:<4}  {c.name:<22}  {c.detail}")
        if c.fix and c.status != OK:
            lines.append(f"{'':<4}  {'':<22}  fix: {c.fix}")
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    lines.append(f"\n{len(checks)} checks: {fails} FAIL, {warns} WARN.")
    return "\n".join(lines)
