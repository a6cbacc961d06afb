"""Joining one-page PDFs into one document, one page each (for step-through slides).

Graphviz writes one PDF per run and a step-through has one picture per frame. The
documents joined here are Graphviz's own (cairo's): a classic cross-reference table,
objects ``N 0 obj ... endobj``, streams with a direct or indirect ``/Length``. Each
document's objects are copied with new numbers, its page tree becomes a child of one
new page tree, and a new catalogue and cross-reference table are written. Only what
the page trees and the trailer point to is interpreted; page contents are copied byte
for byte, so the pages are exactly Graphviz's (vector, fonts embedded). The creation
date is dropped, so the same pictures give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["merge_pdfs", "PDFError"]


class PDFError(ValueError):
    """A document this joiner does not read (not a PDF with a classic xref table)."""


_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_SUBSECTION = re.compile(rb"(\d+) (\d+)\s*\n")
_REF = re.compile(rb"(?<![\d.])(\d+) (\d+) R\b")
_HEADER = re.compile(rb"(\d+) (\d+) obj\b")
_LENGTH = re.compile(rb"/Length (\d+)(?: (\d+) R)?")


def _xref(data: bytes) -> tuple[dict[int, int], bytes]:
    """Offsets of the objects in use, by number, and the trailer dictionary's text."""
    end = _STARTXREF.search(data[-64:])
    if not data.startswith(b"%PDF-") or end is None:
        raise PDFError("not a PDF document (no %PDF- header or no startxref at the end)")
    position = int(end.group(1))
    if not data.startswith(b"xref", position):
        raise PDFError("the PDF has no classic cross-reference table (xref streams unsupported)")
    position += 4
    offsets: dict[int, int] = {}
    while True:
        while data[position:position + 1] in (b" ", b"\r", b"\n"):
            position += 1
        if data.startswith(b"trailer", position):
            break
        header = _SUBSECTION.match(data, position)
        if header is None:
            raise PDFError(f"bad cross-reference table at byte {position}")
        first, count = int(header.group(1)), int(header.group(2))
        position = header.end()
        for index in range(count):
            entry = data[position:position + 20]
            fields = entry.split()
            if len(fields) != 3 or fields[2] not in (b"n", b"f"):
                raise PDFError(f"bad cross-reference entry {entry!r}")
            if fields[2] == b"n":
                offsets[first + index] = int(fields[0])
            position += 20
    trailer_end = data.find(b"startxref", position)
    return offsets, data[position:trailer_end]


def _objects(data: bytes) -> tuple[dict[int, tuple[bytes, bytes | None]], bytes]:
    """Each object's text (dictionary or value) and stream bytes, and the trailer."""
    offsets, trailer = _xref(data)
    raw: dict[int, tuple[bytes, bytes | None]] = {}
    pending_lengths: dict[int, tuple[bytes, int, int]] = {}
    for number, offset in offsets.items():
        header = _HEADER.match(data, offset)
        if header is None or int(header.group(1)) != number:
            raise PDFError(f"object {number} is not at byte {offset}")
        if header.group(2) != b"0":
            raise PDFError(f"object {number} has generation {header.group(2)!r}, not 0")
        body_start = header.end()
        stream_at = data.find(b"stream", body_start)
        end_at = data.find(b"endobj", body_start)
        if end_at < 0:
            raise PDFError(f"object {number} has no endobj")
        if 0 <= stream_at < end_at and data[body_start:stream_at].rstrip().endswith(b">>"):
            text = data[body_start:stream_at].strip()
            start = stream_at + len(b"stream")
            start += 2 if data.startswith(b"\r\n", start) else 1
            length = _LENGTH.search(text)
            if length is None:
                raise PDFError(f"stream object {number} has no /Length")
            if length.group(2) is None:
                pending_lengths[number] = (text, start, int(length.group(1)))
            else:
                pending_lengths[number] = (text, start, -int(length.group(1)))
        else:
            raw[number] = (data[body_start:end_at].strip(), None)
    for number, (text, start, length) in pending_lengths.items():
        if length < 0:  # an indirect length: the number is in another object
            target = raw.get(-length)
            if target is None or not target[0].isdigit():
                raise PDFError(f"stream object {number}: its /Length object is not a number")
            length = int(target[0])
        stream = data[start:start + length]
        after = data[start + length:start + length + 32].lstrip(b"\r\n ")
        if len(stream) != length or not after.startswith(b"endstream"):
            raise PDFError(f"stream object {number} does not end where its /Length says")
        raw[number] = (text, stream)
    return raw, trailer


def _ref(text: bytes, key: bytes) -> int:
    found = re.search(rb"/" + key + rb" (\d+) 0 R", text)
    if found is None:
        raise PDFError(f"no /{key.decode()} reference in {text[:80]!r}")
    return int(found.group(1))


def merge_pdfs(documents: Sequence[bytes], *, producer: str = "viz") -> bytes:
    """One PDF whose pages are the pages of ``documents``, in order.

    Raises:
        PDFError: a document is not one this joiner reads (see the module docstring).
        ValueError: no documents.
    """
    if not documents:
        raise ValueError("merge_pdfs needs at least one PDF document")
    # Objects 1 and 2 are the new catalogue and the new root of the page tree.
    out: list[tuple[bytes, bytes | None]] = []
    kids: list[int] = []
    total_pages = 0
    base = 2
    for data in documents:
        raw, trailer = _objects(data)
        catalogue = _ref(trailer, b"Root")
        info = re.search(rb"/Info (\d+) 0 R", trailer)
        pages = _ref(raw[catalogue][0], b"Pages")
        count = re.search(rb"/Count (\d+)", raw[pages][0])
        if count is None:
            raise PDFError("the page tree has no /Count")
        total_pages += int(count.group(1))
        skip = {catalogue} | ({int(info.group(1))} if info else set())
        numbers = sorted(n for n in raw if n not in skip)
        renumber = {old: base + 1 + i for i, old in enumerate(numbers)}

        def move(match: re.Match[bytes], renumber: dict[int, int] = renumber) -> bytes:
            old = int(match.group(1))
            if old not in renumber:
                raise PDFError(f"a reference to object {old}, which is not kept")
            return b"%d 0 R" % renumber[old]

        for old in numbers:
            text, stream = raw[old]
            text = _REF.sub(move, text)
            if old == pages:
                if b"/Parent" in text:
                    raise PDFError("the page tree's root already has a parent")
                text = text.replace(b"<<", b"<< /Parent 2 0 R", 1)
            out.append((text, stream))
        kids.append(renumber[pages])
        base += len(numbers)
    info_number = base + 1
    objects: list[tuple[bytes, bytes | None]] = [
        (b"<< /Type /Catalog /Pages 2 0 R >>", None),
        (
            b"<< /Type /Pages /Kids [ "
            + b" ".join(b"%d 0 R" % kid for kid in kids)
            + b" ] /Count %d >>" % total_pages,
            None,
        ),
        *out,
        (b"<< /Producer (" + _pdf_string(producer) + b") >>", None),
    ]
    chunks = [b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"]
    size = len(chunks[0])
    offsets = []
    for number, (text, stream) in enumerate(objects, start=1):
        offsets.append(size)
        piece = b"%d 0 obj\n" % number + text
        if stream is not None:
            piece += b"\nstream\n" + stream + b"\nendstream"
        piece += b"\nendobj\n"
        chunks.append(piece)
        size += len(piece)
    xref = [b"xref\n0 %d\n" % (len(objects) + 1), b"0000000000 65535 f \n"]
    xref += [b"%010d 00000 n \n" % offset for offset in offsets]
    chunks += xref
    chunks.append(
        b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, info_number, size)
    )
    return b"".join(chunks)


def _pdf_string(text: str) -> bytes:
    plain = text.encode("ascii", "replace")
    return plain.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
