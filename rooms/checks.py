"""Checking uploaded files by their content: the first bytes say what a file claims to be, and
decoding it proves it. A PNG that is really HTML fails the first; a truncated image the second."""

import io

import pypdfium2
from PIL import Image, UnidentifiedImageError

from rooms.models import UploadKind
from venue.errors import Refused

MAX_PIXELS = 40_000_000
PILLOW_FORMATS = {UploadKind.PNG: "PNG", UploadKind.JPEG: "JPEG"}


def sniff(head):
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return UploadKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return UploadKind.JPEG
    if head.startswith(b"%PDF-"):
        return UploadKind.PDF
    return None


def check(data):
    """The kind of `data` (png, jpeg, pdf) once it is shown to decode; Refused otherwise."""
    kind = sniff(data[:16])
    if kind is None:
        raise Refused("invalid_file", "Only PNG, JPEG and PDF files can be uploaded.")
    if kind == UploadKind.PDF:
        pdf_pages(data)
        return kind
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != PILLOW_FORMATS[kind] or image.width * image.height > MAX_PIXELS:
                raise Refused("invalid_file", "The image is not what it claims to be, or too large.")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Refused("invalid_file", "The image cannot be read.") from None
    return kind


def pdf_pages(data):
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        raise Refused("invalid_file", "The PDF cannot be read.") from None
    try:
        return len(document)
    finally:
        document.close()


def pdf_page_as_png(data, page_number, width=1600):
    """One page of a PDF (1-based) as a PNG, for the stage."""
    document = pypdfium2.PdfDocument(data)
    try:
        if not 1 <= page_number <= len(document):
            raise Refused("invalid_field", f"The PDF has {len(document)} page(s).")
        page = document[page_number - 1]
        scale = width / page.get_width()
        image = page.render(scale=min(scale, 4)).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()
