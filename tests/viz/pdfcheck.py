"""Reading the files the viz tests write: PDF pages and fonts, PNG size and DPI.

Independent of the code under test (which writes these files): a PDF is read by its
object dictionaries, a PNG by its chunks.
"""

from __future__ import annotations

import re
import struct
import zlib

_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")
_MEDIABOX = re.compile(rb"/MediaBox\s*\[\s*([-\d.\s]+)\]")


def pdf_pages(data: bytes) -> list[tuple[float, ...]]:
    """The MediaBox of every page object of a PDF (fails on a file that is not a PDF)."""
    assert data.startswith(b"%PDF-1."), data[:16]
    assert data.rstrip().endswith(b"%%EOF")
    boxes = []
    for match in re.finditer(rb"\d+ 0 obj(.*?)endobj", data, re.DOTALL):
        body = match.group(1).split(b"stream", 1)[0]
        if _PAGE.search(body):
            box = _MEDIABOX.search(body)
            assert box is not None, body[:200]
            boxes.append(tuple(float(v) for v in box.group(1).split()))
    root_counts = [
        int(count) for count in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count (\d+)", data)
    ]
    # The root of the page tree counts every page.
    assert max(root_counts) == len(boxes), (root_counts, len(boxes))
    return boxes


def pdf_fonts_embedded(data: bytes) -> list[bytes]:
    """The names of the PDF's fonts; fails if one has no embedded font file."""
    names = []
    for match in re.finditer(rb"/Type /FontDescriptor(.*?)>>", data, re.DOTALL):
        body = match.group(1)
        assert re.search(rb"/FontFile[23]? \d+ 0 R", body), body
        names.append(re.search(rb"/FontName /(\S+)", body).group(1))
    return names


def png_info(data: bytes) -> tuple[int, int, float | None]:
    """Width and height in pixels and the DPI a PNG records (None if none); checks CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, width, height, dpi = 8, None, None, None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", body)
            assert x == y and unit == 1
            dpi = x * 0.0254
        elif kind == b"IEND":
            break
        position += 12 + length
    assert width and height
    return width, height, dpi
