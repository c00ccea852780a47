"""A zip of a folder of YAML item files (what ``assay content export DIR`` writes, zipped): read
bounded, as the QTI packages are, into the texts of its item files.

The zip's directory is sized before it is parsed, and every file is inflated at most once, to
exactly the size its header declares, within the per-file and whole-package bounds of
:mod:`assessments.interop.qti.package` (a zip bomb is refused before it is inflated). A name that
climbs out of the folder (``..``, an absolute path, a drive, a backslash) refuses the zip whole;
files that are not YAML are left out and named in the import's notes; the folder's ``bank.yaml``
is its declarations, not an item. At most :data:`MAX_FILES` item files.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from assessments.interop.qti.package import MAX_MEMBERS, PackageProblem
from assessments.interop.qti.package import _Inflater as Inflater
from assessments.interop.qti.package import _open as open_zip
from engine.content.bank import BANK_FILE

MAX_FILES = 2000
"""Item files in one zip (the shipped bank has under a hundred)."""
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_DRIVE = re.compile(r"^[A-Za-z]:")


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGIC


def is_yaml_folder(data: bytes) -> bool:
    """Whether a zip holds YAML files and no XML (a folder of items, not a QTI package)."""
    if not is_zip(data):
        return False
    try:
        with open_zip(data, "upload") as archive:
            names = [n.lower() for n in archive.namelist()]
    except PackageProblem:
        return False
    return any(n.endswith((".yaml", ".yml")) for n in names) and not any(n.endswith(".xml") for n in names)


@dataclass
class Folder:
    """The item files of a zipped folder (path in the zip, text), its ``bank.yaml`` if any, and
    what was left out."""

    files: list[tuple[str, str]] = field(default_factory=list)
    declarations: str | None = None
    left_out: list[str] = field(default_factory=list)


def _safe_name(info: zipfile.ZipInfo, filename: str) -> str:
    name = info.filename
    parts = name.split("/")
    if (name.startswith("/") or "\\" in name or _DRIVE.match(name) or ".." in parts or "\x00" in name
            or posixpath.normpath(name).startswith("..")):
        raise PackageProblem(f"{name!r} names a file outside the folder: the zip was refused", filename)
    return name


def read_folder(data: bytes, filename: str) -> Folder:
    """The zip's YAML files, or a :class:`PackageProblem` that names what refused it."""
    with open_zip(data, filename) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PackageProblem(f"the zip holds {len(infos):,} files, more than {MAX_MEMBERS:,}", filename)
        names = [_safe_name(info, filename) for info in infos]
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise PackageProblem(f"{duplicate!r} is in the zip twice", filename)
        inflater = Inflater(archive, filename)
        folder = Folder()
        wanted = [info for info in infos if not info.is_dir()]
        items = [i for i in wanted if i.filename.lower().endswith((".yaml", ".yml"))
                 and posixpath.basename(i.filename) != BANK_FILE]
        if len(items) > MAX_FILES:
            raise PackageProblem(f"the zip holds {len(items):,} YAML files, more than {MAX_FILES:,}: import the "
                                 "folder in parts", filename)
        for info in infos:
            inflater.check(info)  # every header first: nothing is inflated from a zip that lies about one
        root_bank = min((i for i in wanted if posixpath.basename(i.filename) == BANK_FILE),
                        key=lambda i: i.filename.count("/"), default=None)
        for info in sorted(wanted, key=lambda i: i.filename):
            if info in items:
                folder.files.append((info.filename, _decoded(inflater.inflate(info), inflater.where(info))))
            elif info is root_bank:
                folder.declarations = _decoded(inflater.inflate(info), inflater.where(info))
            else:
                folder.left_out.append(info.filename)
        return folder


def _decoded(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise PackageProblem("the file is not UTF-8 text", where) from None


__all__ = ["MAX_FILES", "Folder", "is_yaml_folder", "is_zip", "read_folder"]
