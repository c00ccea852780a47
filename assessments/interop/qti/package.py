"""IMS content packages: a zip with ``imsmanifest.xml`` and one XML file per item.

Writing: every item becomes ``items/<identifier>.xml`` and a manifest resource of the version's
item type, with LOM metadata (identifier, title, and Assay's tags as ``facet: value`` keywords,
concepts as ``concept: name``). Reading: the manifest's item resources, in manifest order, with
their keywords; a zip without a manifest is read as its XML files in name order. Reading is
bounded: at most :data:`MAX_MEMBERS` files, each at most :data:`MAX_MEMBER_BYTES` when
uncompressed, so a zip bomb is refused before it is inflated.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, tostring

from assessments.interop.qti.dialect import XSI, Dialect
from assessments.interop.qti.safexml import MAX_XML_BYTES, Document, XmlProblem, parse

__all__ = ["MAX_MEMBERS", "MAX_MEMBER_BYTES", "PackageItem", "PackageProblem", "read_package", "write_package"]

MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = MAX_XML_BYTES
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


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise PackageProblem(f"{name} is over {MAX_MEMBER_BYTES // 1_000_000} MB uncompressed and was not read", name)
    with archive.open(info) as member:
        data = member.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise PackageProblem(f"{name} inflates past {MAX_MEMBER_BYTES // 1_000_000} MB and was not read", name)
    return data


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if child.tag == name]


def _manifest_items(document: Document, names: set[str]) -> list[tuple[str, list[str], str | None]]:
    """(path, keywords, title) of every item resource, in manifest order."""
    found = []
    for resource in document.root.iter("resource"):
        kind = resource.get("type", "")
        if not kind.startswith("imsqti_item"):
            continue
        base = resource.get("{http://www.w3.org/XML/1998/namespace}base", "")
        href = resource.get("href") or next((f.get("href", "") for f in _children(resource, "file")), "")
        path = posixpath.normpath(posixpath.join(base, href)) if href else ""
        if path not in names:
            raise PackageProblem(f"the manifest names {href!r}, which is not in the package", MANIFEST,
                                 document.line(resource))
        keywords = [_text(k) for k in resource.iter("keyword") if _text(k)]
        title = next((_text(t) for t in resource.iter("title") if _text(t)), None)
        found.append((path, keywords, title))
    return found


def read_package(data: bytes, filename: str) -> list[PackageItem]:
    """The item files of a zip package, with their manifest metadata."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise PackageProblem(f"not a readable zip file: {exc}", filename) from None
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        if len(names) > MAX_MEMBERS:
            raise PackageProblem(f"the package holds {len(names)} files, more than {MAX_MEMBERS}", filename)
        if MANIFEST in names:
            try:
                manifest = parse(_read_member(archive, MANIFEST))
            except XmlProblem as exc:
                raise PackageProblem(str(exc), MANIFEST, exc.line) from None
            listed = _manifest_items(manifest, set(names))
            return [PackageItem(path, _read_member(archive, path), keywords, title)
                    for path, keywords, title in listed]
        xml_files = sorted(n for n in names if n.lower().endswith(".xml") and not re.search(r"(^|/)\.", n))
        return [PackageItem(name, _read_member(archive, name), listed=False) for name in xml_files]
