"""QTI packages that ask too much: one large file listed many times, more items or more bytes than
a package may bring, a directory of many entries, and headers that misstate a file's size. Each is
refused whole with a message that says what was wrong, inflating nothing it need not, and a
package that fits is read one item at a time."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from assessments.interop.base import Imported
from assessments.interop.qti import QTI2
from assessments.interop.qti.package import (
    MAX_DIRECTORY_BYTES,
    MAX_ITEMS,
    MAX_MEMBERS,
    MAX_PACKAGE_BYTES,
    read_package,
)
from tests.assessments.conftest import World
from tests.assessments.interop.test_qti_import import _item, _manifest, _zip

MB = 1_000_000


def _large_item(name: str, size: int) -> str:
    """A valid item padded with a comment to ``size`` bytes (it deflates to a few kB)."""
    item = _item(name=name, title=name)
    return item.replace("</assessmentItem>", "<!--" + " " * (size - len(item) - 7) + "--></assessmentItem>")


def _peak(work: Callable[[], Any]) -> tuple[Any, float]:
    """What ``work`` returns, and the most memory (MB) it held at once."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def _refused(result: Imported) -> str:
    assert result.definitions == []
    (problem,) = result.problems
    return f"{problem.file}: {problem.message}"


def test_a_manifest_listing_one_large_file_many_times_is_refused_unread() -> None:
    """The red team's bomb: a 5 kB zip whose manifest names one 4.9 MB file again and again
    (40 times here; 300 took a server from 0.9 to 2.6 GB)."""
    package = _zip({"imsmanifest.xml": _manifest(["items/a.xml"] * 40), "items/a.xml": _large_item("a", 4_900_000)})
    assert len(package) < 10_000
    result, peak = _peak(lambda: QTI2.import_items(package, "bomb.zip"))
    assert _refused(result) == ("bomb.zip/imsmanifest.xml: the manifest lists 'items/a.xml' as an item twice "
                                "(lines 1 and 1); each item file is listed once")
    assert peak < 2  # the manifest was read; no item was


def test_a_package_that_fits_is_read_one_item_at_a_time() -> None:
    files: dict[str, str | bytes] = {f"items/{n}.xml": _large_item(f"n{n}", 4_000_000) for n in range(8)}
    package = _zip({"imsmanifest.xml": _manifest(list(files)), **files})
    result, peak = _peak(lambda: QTI2.import_items(package, "bank.zip"))
    assert result.problems == []
    assert [d["id"] for d in result.definitions] == [f"q-n{n}" for n in range(8)]
    assert peak < 16  # 32 MB inflated in all; at a time one file's 4 MB, expat's copy and its parse


def test_more_inflated_bytes_than_a_package_may_bring_are_refused_unread() -> None:
    count = MAX_PACKAGE_BYTES // 4_900_000 + 1
    files: dict[str, str | bytes] = {f"items/{n}.xml": _large_item(f"n{n}", 4_900_000) for n in range(count)}
    package = _zip({"imsmanifest.xml": _manifest(list(files)), **files})
    result, peak = _peak(lambda: QTI2.import_items(package, "big.zip"))
    assert _refused(result) == (f"big.zip: the package's {count} item files declare {count * 4_900_000:,} bytes "
                                "uncompressed, more than 50 MB in all; none was read")
    assert peak < 2


def test_more_items_than_a_package_may_bring_are_refused() -> None:
    hrefs = [f"items/{n}.xml" for n in range(MAX_ITEMS + 1)]
    tiny: dict[str, str | bytes] = dict.fromkeys(hrefs, "<a/>")
    listed = QTI2.import_items(_zip({"imsmanifest.xml": _manifest(hrefs), **tiny}), "many.zip")
    assert _refused(listed) == ("many.zip/imsmanifest.xml: the manifest lists more than 2,000 items; import them "
                                "in smaller packages")
    loose = QTI2.import_items(_zip(tiny), "loose.zip")
    assert _refused(loose) == ("loose.zip: the package holds 2,001 XML files, more than 2,000 items; import them "
                               "in smaller packages")


def _patched(package: bytes, name: str, size: int) -> bytes:
    """``package`` with the uncompressed size of ``name`` rewritten in its local header and its
    directory entry (a forged header: the data and its checksum are unchanged)."""
    data = bytearray(package)
    encoded = name.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        if data[local + 30 : local + 30 + len(encoded)] == encoded:
            struct.pack_into("<L", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        if data[entry + 46 : entry + 46 + len(encoded)] == encoded:
            struct.pack_into("<L", data, entry + 24, size)
        entry = data.find(b"PK\x01\x02", entry + 4)
    return bytes(data)


def test_a_header_that_understates_a_size_is_refused() -> None:
    """zipfile stops at the declared size, so the file never inflates past it; its checksum then
    disagrees, and that is the refusal."""
    package = _zip({"imsmanifest.xml": _manifest(["a.xml"]), "a.xml": _large_item("a", 4_000_000)})
    forged = _patched(package, "a.xml", 1_000)
    assert zipfile.ZipFile(io.BytesIO(forged)).getinfo("a.xml").file_size == 1_000
    result, peak = _peak(lambda: QTI2.import_items(forged, "lies.zip"))
    message = _refused(result)
    assert message.startswith("lies.zip/a.xml: a.xml cannot be inflated (Bad CRC-32 for file 'a.xml')")
    assert message.endswith("the package is damaged, or its header misstates the file's size")
    assert peak < 1


def test_a_header_that_overstates_a_size_is_refused() -> None:
    package = _zip({"imsmanifest.xml": _manifest(["a.xml"]), "a.xml": _item()})
    forged = _patched(package, "a.xml", 4_000_000)
    assert _refused(QTI2.import_items(forged, "lies.zip")) == (
        f"lies.zip/a.xml: a.xml inflates to {len(_item()):,} bytes, not the 4,000,000 its header declares")
    huge = _patched(package, "a.xml", 3_000_000_000)
    assert _refused(QTI2.import_items(huge, "lies.zip")) == (
        "lies.zip/a.xml: a.xml is over 5 MB uncompressed and was not read")


def _empty_entries(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(count):
            archive.writestr(zipfile.ZipInfo(f"{n:x}"), b"")
    return buffer.getvalue()


def test_a_directory_of_too_many_files_is_refused_before_it_is_parsed() -> None:
    """Parsing a directory costs time and memory per entry, however small the files."""
    many = _empty_entries(MAX_MEMBERS + 1)
    result, peak = _peak(lambda: QTI2.import_items(many, "many.zip"))
    assert _refused(result) == "many.zip: the package holds 5,001 files, more than 5,000"
    assert peak < 1
    # an end record that understates the count is held to the directory's size instead
    data = bytearray(_empty_entries(45_000))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 10, 10)
    directory = struct.unpack_from("<L", data, end + 12)[0]
    assert directory > MAX_DIRECTORY_BYTES
    forged = bytes(data)
    result, peak = _peak(lambda: QTI2.import_items(forged, "forged.zip"))
    assert _refused(result) == (f"forged.zip: the package's directory of files takes {directory:,} bytes, more "
                                "than 2,000,000")
    assert peak < 1


def test_two_files_of_one_name_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", _item())
        with pytest.warns(UserWarning, match="Duplicate name"):  # and writes it
            archive.writestr("a.xml", _item(title="Again"))
    assert _refused(QTI2.import_items(buffer.getvalue(), "twice.zip")) == (
        "twice.zip: the package holds two files named 'a.xml'")


def test_each_file_is_inflated_once() -> None:
    package = _zip({"imsmanifest.xml": _manifest(["a.xml", "b.xml"]), "a.xml": _item(), "b.xml": _item(name="two")})
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def counting(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, *args, **kwargs)

    zipfile.ZipFile.open = counting  # type: ignore[method-assign]
    try:
        assert [item.path for item in read_package(package, "p.zip")] == ["a.xml", "b.xml"]
    finally:
        zipfile.ZipFile.open = original  # type: ignore[method-assign]
    assert opened == ["imsmanifest.xml", "a.xml", "b.xml"]


def test_a_refused_package_changes_nothing_in_the_bank(world: World) -> None:
    api = world.client
    assert api is not None
    staff = world.headers(world.author())
    before = api.get("/api/v1/items", headers=staff).json()
    package = _zip({"imsmanifest.xml": _manifest(["good.xml", "a.xml", "a.xml"]), "good.xml": _item(name="good"),
                    "a.xml": _item()})
    reply = api.post("/api/v1/items/import", headers=staff, params={"format": "qti2"}, content=package)
    assert reply.status_code == 400
    [detail] = reply.json()["error"]["details"]
    assert detail["file"] == "import.qti2/imsmanifest.xml"
    assert "lists 'a.xml' as an item twice" in detail["message"]
    assert api.get("/api/v1/items", headers=staff).json() == before
