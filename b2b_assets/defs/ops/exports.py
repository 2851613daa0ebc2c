"""The export set a sensor or schedule watches: the inbox files the mapping reads, and their fingerprint.

A fingerprint is a digest of each file's name, size and modification time (and
the mapping file's own), so it changes whenever any file of the set is
replaced, appended to or touched, and stays put otherwise. Reading sizes and
times costs one `stat` per file, whatever the export's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from b2b_assets import settings
from b2b_assets.model.graph import entity
from b2b_assets.sources.mapping import load_mapping_leniently

EXPORT_TAG = "b2b_assets/export_fingerprint"  # run tag: the export set a run was started for


@dataclass(frozen=True)
class ExportSet:
    files: tuple[Path, ...]  # the inbox files that exist, then the mapping file
    missing: tuple[Path, ...]  # inbox files the mapping names that do not exist (yet)
    unwatched: tuple[str, ...]  # entities read from the partner API: no file tells when they change
    fingerprint: str  # "" when no inbox file exists


def with_parents(names: Iterable[str]) -> set[str]:
    """The entities and every entity they reference, transitively: what their hub assets are loaded from."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(entity(name).parents)
    return found


def export_set(entities: Iterable[str] | None = None) -> ExportSet:
    """The files the mapping reads for `entities` (None: every mapped entity), with their fingerprint."""
    mapping, _ = load_mapping_leniently(settings.mapping_path())
    sources = {} if mapping is None else mapping.sources
    wanted = sources if entities is None else {name: sources[name] for name in entities if name in sources}
    named = sorted({f for source in wanted.values() for f in source.input_files})
    present = tuple(f for f in named if f.exists())
    unwatched = tuple(sorted(name for name, source in wanted.items() if source.api))
    if not present:
        return ExportSet((), tuple(named), unwatched, "")
    files = (*present, settings.mapping_path())
    digest = hashlib.sha1()
    for f in files:
        stat = f.stat()
        digest.update(f"{f.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return ExportSet(files, tuple(f for f in named if f not in present), unwatched, digest.hexdigest())
