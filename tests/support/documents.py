"""Reading the files Plenum makes the way a person would: a PDF's text and its pictures."""

import io

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image


def pdf_pages(data):
    """[(text, number of images)] per page."""
    document = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for page in document:
            text = page.get_textpage().get_text_range()
            images = sum(1 for _obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
            pages.append((" ".join(text.split()), images))
        return pages
    finally:
        document.close()


def pdf_text(data):
    return "\n".join(text for text, _images in pdf_pages(data))


def png_of_first_page(data, scale=1.0):
    document = pypdfium2.PdfDocument(data)
    try:
        image = document[0].render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()


def png_image(width=240, height=120, colour=(11, 110, 79)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()
