"""Checking uploaded files by their content: the first bytes say what a file claims to be, and
decoding it proves it. A PNG that is really HTML fails the first; a truncated image the second."""

import io

import pypdfium2
from PIL import Image, UnidentifiedImageError

from rooms.models import UploadKind
from venue.errors import Refused

# An image's size in pixels, not in bytes, is what costs every browser that shows it: a PNG of
# one colour holds 36 megapixels in 35 kB.
MAX_PIXELS = 25_000_000
MAX_SIDE = 10_000
TOO_LARGE = f"An image may have at most {MAX_PIXELS // 1_000_000} megapixels and {MAX_SIDE:,} pixels a side."
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
            if image.format != PILLOW_FORMATS[kind]:
                raise Refused("invalid_file", "The image is not what it claims to be.")
            check_size(image.width, image.height)
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Refused("invalid_file", "The image cannot be read.") from None
    return kind


def check_size(width, height):
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise Refused("image_too_large", TOO_LARGE)


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
        scale = min(width / page.get_width(), 4)
        check_size(round(page.get_width() * scale), round(page.get_height() * scale))
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()
