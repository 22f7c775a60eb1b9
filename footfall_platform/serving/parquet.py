"""The serving tables as Parquet files, for tools without a DuckDB driver.

`serving_parquet/<schema>/<table>.parquet` beside serving.duckdb holds every table of the
published file (footfall_meta/published.parquet included, so a reader can check it got whole
tables). A folder cannot be renamed over another in one step, so `serving_parquet` is a symbolic
link to one complete version folder under `.serving_parquet/`: each export writes a new version
folder and then replaces the link, which is atomic. A tool that opens files through the link
sees the old version or the new one; one that resolves the link once (`Path.resolve()`) reads a
consistent set of tables even across a swap. The previous version is kept for readers still in
it; older ones are removed. A failed export leaves the link and the files it points to as they
were.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from footfall_platform.serving.publish import ServingNotPublished
from footfall_platform.warehouse.sql import sql_literal

KEPT_VERSIONS = 2  # the one served and the one before, for readers still inside it


@dataclass(frozen=True)
class ParquetExport:
    folder: Path  # the link readers use
    version: str
    files: dict[str, int]  # schema.table -> rows


def parquet_folder(serving: Path) -> Path:
    """Where the Parquet copy of `serving` lives: beside it, as `serving_parquet`."""
    return serving.with_name("serving_parquet")


def _write_version(serving: Path, building: Path) -> dict[str, int]:
    """Every table of the serving file into `building`/<schema>/<table>.parquet."""
    files: dict[str, int] = {}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
            "current_database() ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            target = building / schema / f"{table}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            files[f"{schema}.{table}"] = con.execute(
                f'COPY "{schema}"."{table}" TO {sql_literal(str(target))} '
                "(FORMAT parquet, COMPRESSION zstd)"
            ).fetchone()[0]
    finally:
        con.close()
    for path in building.rglob("*.parquet"):  # on disk before the link can point at them
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    return files


def _prune(versions: Path, keep: list[str]) -> None:
    for old in versions.iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def export_parquet(serving: Path, version: str, folder: Path | None = None) -> ParquetExport:
    """Export the published `serving` file (of `version`) and swap the Parquet link to it.

    Raises ServingNotPublished, with the previous Parquet version in place, if it fails.
    """
    folder = folder or parquet_folder(serving)
    if folder.exists() and not folder.is_symlink():
        raise ServingNotPublished(
            folder, FileExistsError(f"{folder} is a real folder, not Footfall's link: move it away")
        )
    versions = folder.with_name(f".{folder.name}")
    building = versions / f"{version}.building"
    link = versions / f"{version}.link"
    try:
        versions.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(building, ignore_errors=True)
        files = _write_version(serving, building)
        final = versions / version
        building.rename(final)
        link.unlink(missing_ok=True)
        # Relative, so the home can move; it resolves from where the link ends up (folder).
        link.symlink_to(final.relative_to(folder.parent))
        previous = os.readlink(folder) if folder.is_symlink() else None
        os.replace(link, folder)  # the one step readers can observe
    except Exception as error:
        shutil.rmtree(building, ignore_errors=True)
        with suppress(OSError):
            link.unlink(missing_ok=True)
        raise ServingNotPublished(folder, error) from error
    _prune(versions, [version, Path(previous).name] if previous else [version])
    return ParquetExport(folder, version, files)
