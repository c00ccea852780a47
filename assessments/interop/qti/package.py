"""IMS content packages: a zip with ``imsmanifest.xml`` and one XML file per item.

Writing: every item becomes ``items/<identifier>.xml`` and a manifest resource of the version's
item type, with LOM metadata (identifier, title, and Assay's tags as ``facet: value`` keywords,
concepts as ``concept: name``). Reading: the manifest's item resources, in manifest order, with
their keywords; a zip without a manifest is read as its XML files in name order.

Reading is bounded, and streams: the zip's directory is sized from its end record before it is
parsed (:data:`MAX_MEMBERS` files); the manifest may list at most :data:`MAX_ITEMS` items, each
file once; every file read is at most :data:`MAX_MEMBER_BYTES` inflated, and the manifest and
items together at most :data:`MAX_PACKAGE_BYTES`, by their headers before anything is inflated
and by the bytes actually inflated while reading (a file must inflate to exactly the size its
header declares). Items are handed out one at a time, each file inflated once, so a package never
sits in memory inflated. A refusal is a :class:`PackageProblem` that names the file.
"""

from __future__ import annotations

import io
import lzma
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, tostring

from assessments.interop.qti.dialect import XSI, Dialect
from assessments.interop.qti.safexml import MAX_XML_BYTES, Document, XmlProblem, parse

__all__ = [
    "MAX_ITEMS", "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_PACKAGE_BYTES", "PackageItem", "PackageProblem",
    "read_package", "write_package",
]

MAX_MEMBERS = 5000
"""Files in one zip, media included."""
MAX_DIRECTORY_BYTES = 2_000_000
"""The zip's directory of those files (some 130 bytes a file as exporters write them): parsing a
forged one of 20 MB, 200,000 empty entries, took 7 s and 100 MB before the count was known."""
MAX_ITEMS = 2000
"""Item files one package may bring."""
MAX_MEMBER_BYTES = MAX_XML_BYTES
MAX_PACKAGE_BYTES = 50_000_000
"""The manifest and the item files, inflated, in all: a 6 kB zip whose manifest listed one 5 MB
file 300 times had the server inflate and hold 1.7 GB."""
MANIFEST = "imsmanifest.xml"
LOM = "http://ltsc.ieee.org/xsd/LOM"
QTI_METADATA_V2 = "http://www.imsglobal.org/xsd/imsqti_metadata_v2p2"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same items give the same bytes


class PackageProblem(ValueError):
    """A package that cannot be read (the file and line, where known)."""

    def __init__(self, message: str, file: str = "", line: int = 0) -> None:
        self.file, self.line = file, line
        super().__init__(message)


@dataclass
class PackageItem:
    """One item file of a package, with the metadata its manifest gives it."""

    path: str
    data: bytes
    keywords: list[str] = field(default_factory=list)
    title: str | None = None
    listed: bool = True
    """Named as an item by the manifest (False for the XML files of a zip without one)."""


@dataclass
class ManifestEntry:
    identifier: str
    href: str
    title: str
    keywords: list[str]
    interaction: str


def _manifest(entries: list[ManifestEntry], dialect: Dialect, identifier: str) -> bytes:
    root = Element("manifest", {"xmlns": dialect.manifest_namespace, "xmlns:xsi": XSI,
                                "identifier": identifier})
    metadata = SubElement(root, "metadata")
    SubElement(metadata, "schema").text = dialect.manifest_schema
    SubElement(metadata, "schemaversion").text = dialect.manifest_schema_version
    SubElement(root, "organizations")
    resources = SubElement(root, "resources")
    for entry in entries:
        resource = SubElement(resources, "resource", {"identifier": f"RES-{entry.identifier}",
                                                      "type": dialect.resource_type, "href": entry.href})
        lom = SubElement(SubElement(resource, "metadata"), "lom", {"xmlns": LOM})
        general = SubElement(lom, "general")
        SubElement(SubElement(general, "identifier"), "entry").text = entry.identifier
        SubElement(SubElement(general, "title"), "string").text = entry.title
        for keyword in entry.keywords:
            SubElement(SubElement(general, "keyword"), "string").text = keyword
        if not dialect.is_v3:  # 2.2's own metadata vocabulary: what a repository searches by
            qti = SubElement(resource[0], "qtiMetadata", {"xmlns": QTI_METADATA_V2})
            for name, value in (("timeDependent", "false"), ("interactionType", entry.interaction),
                                ("toolName", "Assay"), ("toolVersion", "0.1")):
                SubElement(qti, name).text = value
        SubElement(resource, "file", {"href": entry.href})
    _indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)


def _indent(element: Element, level: int = 0) -> None:
    pad = "\n" + "  " * (level + 1)
    if len(element):
        element.text = pad
        for child in element:
            _indent(child, level + 1)
            child.tail = pad
        element[-1].tail = "\n" + "  " * level


def write_package(items: list[tuple[ManifestEntry, bytes]], dialect: Dialect, identifier: str) -> bytes:
    """A zip with the manifest first, then every item file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        files = [(MANIFEST, _manifest([entry for entry, _ in items], dialect, identifier))]
        files += [(entry.href, data) for entry, data in items]
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


_END = struct.Struct("<4s4H2LH")
"""The zip's end-of-directory record: signature, disk numbers, entry counts, directory size and
offset, comment length."""
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_UNREADABLE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, NotImplementedError, RuntimeError)
"""What zipfile and its decompressors raise for damaged, encrypted or unsupported files."""


def _directory_size(data: bytes) -> tuple[int, int] | None:
    """(files, bytes) of the zip's directory as its end record gives them, read where zipfile
    reads them (the Zip64 record just before its locator, where the plain record defers to it),
    or None when there is no end record (zipfile says so)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END.size - 0xFFFF))
    if at < 0 or at + _END.size > len(data):
        return None
    _, _, _, _, files, size, _, _ = _END.unpack_from(data, at)
    locator = at - _END64_LOCATOR.size
    record = locator - _END64.size
    if (files == 0xFFFF or size == 0xFFFFFFFF) and record >= 0 and data[locator : locator + 4] == b"PK\x06\x07" \
            and data[record : record + 4] == b"PK\x06\x06":
        fields = _END64.unpack_from(data, record)
        files, size = fields[7], fields[8]
    return files, size


def _open(data: bytes, filename: str) -> zipfile.ZipFile:
    """The zip, its directory sized before zipfile parses it (a directory of many entries costs
    time and memory however small their files)."""
    directory = _directory_size(data)
    if directory is not None:
        files, size = directory
        if files > MAX_MEMBERS:
            raise PackageProblem(f"the package holds {files:,} files, more than {MAX_MEMBERS:,}", filename)
        if size > MAX_DIRECTORY_BYTES:
            raise PackageProblem(f"the package's directory of files takes {size:,} bytes, more than "
                                 f"{MAX_DIRECTORY_BYTES:,}", filename)
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (*_UNREADABLE, ValueError) as exc:
        raise PackageProblem(f"not a readable zip file: {exc}", filename) from None


class _Inflater:
    """Reads files of one package, each at most once, and counts every byte inflated against
    :data:`MAX_PACKAGE_BYTES`."""

    def __init__(self, archive: zipfile.ZipFile, filename: str) -> None:
        self.archive, self.filename = archive, filename
        self.left = MAX_PACKAGE_BYTES
        self.read: set[str] = set()

    def where(self, info: zipfile.ZipInfo) -> str:
        return f"{self.filename}/{info.filename}"

    def check(self, info: zipfile.ZipInfo) -> None:
        """Refuse a file whose header declares more than one file may hold."""
        if info.file_size > MAX_MEMBER_BYTES:
            raise PackageProblem(f"{info.filename} is over {MAX_MEMBER_BYTES // 1_000_000} MB uncompressed and was "
                                 "not read", self.where(info))

    def inflate(self, info: zipfile.ZipInfo) -> bytes:
        """One file's bytes: refused unread when its header declares too much, and refused when it
        inflates to more or fewer bytes than the header declares."""
        name, declared = info.filename, info.file_size
        self.check(info)
        if name in self.read:  # the callers read each name once; this keeps it so
            raise PackageProblem(f"{name} would be read twice", self.where(info))
        self.read.add(name)
        if declared > self.left:
            raise PackageProblem(f"{name} would take the package past {MAX_PACKAGE_BYTES // 1_000_000} MB "
                                 "uncompressed in all and was not read", self.where(info))
        try:
            with self.archive.open(info) as member:
                data = member.read(declared + 1)  # one byte past the declared size tells a header that lies
        except _UNREADABLE as exc:
            raise PackageProblem(f"{name} cannot be inflated ({exc}): the package is damaged, or its header "
                                 "misstates the file's size", self.where(info)) from None
        if len(data) > declared:
            raise PackageProblem(f"{name} inflates past the {declared:,} bytes its header declares and was not "
                                 "read", self.where(info))
        if len(data) < declared:
            raise PackageProblem(f"{name} inflates to {len(data):,} bytes, not the {declared:,} its header declares",
                                 self.where(info))
        self.left -= len(data)
        return data


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if child.tag == name]


def _manifest_items(document: Document, names: set[str], where: str) -> list[tuple[str, list[str], str | None]]:
    """(path, keywords, title) of every item resource, in manifest order: each file once, at most
    :data:`MAX_ITEMS` of them."""
    found: list[tuple[str, list[str], str | None]] = []
    lines: dict[str, int] = {}
    for resource in document.root.iter("resource"):
        kind = resource.get("type", "")
        if not kind.startswith("imsqti_item"):
            continue
        base = resource.get("{http://www.w3.org/XML/1998/namespace}base", "")
        href = resource.get("href") or next((f.get("href", "") for f in _children(resource, "file")), "")
        path = posixpath.normpath(posixpath.join(base, href)) if href else ""
        line = document.line(resource)
        if path not in names:
            raise PackageProblem(f"the manifest names {href!r}, which is not in the package", where, line)
        if path in lines:
            raise PackageProblem(f"the manifest lists {href!r} as an item twice (lines {lines[path]} and {line}); "
                                 "each item file is listed once", where, line)
        if len(found) == MAX_ITEMS:
            raise PackageProblem(f"the manifest lists more than {MAX_ITEMS:,} items; import them in smaller "
                                 "packages", where, line)
        lines[path] = line
        keywords = [_text(k) for k in resource.iter("keyword") if _text(k)]
        title = next((_text(t) for t in resource.iter("title") if _text(t)), None)
        found.append((path, keywords, title))
    return found


_Listed = list[tuple[zipfile.ZipInfo, list[str], str | None]]
"""Item files with their keywords and title."""


def _items(inflater: _Inflater, files: dict[str, zipfile.ZipInfo]) -> _Listed:
    """The item files to read, with their keywords and titles: the manifest's, or every XML file."""
    if MANIFEST in files:
        where = inflater.where(files[MANIFEST])
        try:
            manifest = parse(inflater.inflate(files[MANIFEST]))
        except XmlProblem as exc:
            raise PackageProblem(str(exc), where, exc.line) from None
        listed = _manifest_items(manifest, set(files), where)
        return [(files[path], keywords, title) for path, keywords, title in listed]
    names = sorted(n for n in files if n.lower().endswith(".xml") and not re.search(r"(^|/)\.", n))
    if len(names) > MAX_ITEMS:
        raise PackageProblem(f"the package holds {len(names):,} XML files, more than {MAX_ITEMS:,} items; "
                             "import them in smaller packages", inflater.filename)
    return [(files[name], [], None) for name in names]


def read_package(data: bytes, filename: str) -> Iterator[PackageItem]:
    """The item files of a zip package, one at a time, with their manifest metadata.

    What can be refused before anything is inflated is checked first: the directory, then the
    manifest, the items it lists and the sizes their headers declare. A :class:`PackageProblem`
    may still come while items are read (a file that inflates to other than its declared size):
    the caller keeps nothing it was handed.
    """
    with _open(data, filename) as archive:
        files: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.filename in files:
                raise PackageProblem(f"the package holds two files named {info.filename!r}", filename)
            if not info.is_dir():
                files[info.filename] = info
        if len(files) > MAX_MEMBERS:
            raise PackageProblem(f"the package holds {len(files):,} files, more than {MAX_MEMBERS:,}", filename)
        inflater = _Inflater(archive, filename)
        items = _items(inflater, files)
        for info, _, _ in items:
            inflater.check(info)
        declared = sum(info.file_size for info, _, _ in items)
        if declared > inflater.left:
            raise PackageProblem(f"the package's {len(items):,} item files declare {declared:,} bytes uncompressed, "
                                 f"more than {MAX_PACKAGE_BYTES // 1_000_000} MB in all; none was read", filename)
        for info, keywords, title in items:
            yield PackageItem(info.filename, inflater.inflate(info), keywords, title, listed=MANIFEST in files)
