"""HTML to PDF with WeasyPrint, offline: a page may name our static files, data: URLs and the
resources its caller hands over (uploaded images); nothing else is fetched, never the network."""

import io
import mimetypes
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from urllib.parse import urlsplit

import django
import pypdfium2
from django.conf import settings
from django.contrib.staticfiles import finders
from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

BASE_URL = "https://plenum.invalid/"


class LocalFetcher(URLFetcher):
    """Serves `resources` ({path: (bytes, content type)}) and static files under `base_url`."""

    def __init__(self, resources=None, base_url=BASE_URL):
        super().__init__(allowed_protocols=("data", "http", "https"))
        self.resources = resources or {}
        self.base_url = base_url

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}/" != self.base_url:
            raise ValueError(f"Not fetched: {url[:80]}")
        if parts.path in self.resources:
            body, content_type = self.resources[parts.path]
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        static = "/" + settings.STATIC_URL.strip("/") + "/"
        found = finders.find(parts.path.removeprefix(static)) if parts.path.startswith(static) else None
        if not found:
            raise ValueError(f"Not fetched: {parts.path[:80]}")
        with open(found, "rb") as handle:
            body = handle.read()
        return URLFetcherResponse(url, body, {"Content-Type": mimetypes.guess_type(found)[0] or "application/octet-stream"})


def render(html, resources=None, base_url=BASE_URL):
    """The PDF of `html`; its links point to `base_url` (the venue's address, "https://host/"),
    and what it embeds comes from `resources` and our static files only."""
    return HTML(string=html, base_url=base_url, url_fetcher=LocalFetcher(resources, base_url), media_type="print").write_pdf()


def split_ranges(data, ranges):
    """One PDF per (first, last) page range of `data` (0-based, inclusive), in order."""
    source = pypdfium2.PdfDocument(data)
    try:
        parts = []
        for first, last in ranges:
            part = pypdfium2.PdfDocument.new()
            part.import_pages(source, list(range(first, last + 1)))
            out = io.BytesIO()
            part.save(out)
            part.close()
            parts.append(out.getvalue())
        return parts
    finally:
        source.close()


def render_sections(html, prefix, base_url=BASE_URL):
    """[(key, PDF)]: one PDF for each section of `html` whose id is `prefix` + key, in page
    order. The whole is laid out as one document (one stylesheet, fonts loaded once), then split
    into each section's pages."""
    document = HTML(string=html, base_url=base_url, url_fetcher=LocalFetcher(base_url=base_url), media_type="print").render()
    starts = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith(prefix):
                starts.setdefault(anchor.removeprefix(prefix), number)
    order = sorted(starts.items(), key=lambda pair: pair[1])
    ranges = [(first, order[index + 1][1] - 1 if index + 1 < len(order) else len(document.pages) - 1)
              for index, (_key, first) in enumerate(order)]
    return list(zip([key for key, _first in order], split_ranges(document.write_pdf(), ranges)))


def render_sections_in_parallel(htmls, prefix, processes):
    """`render_sections` of each of `htmls`, in up to `processes` worker processes (WeasyPrint
    lays out one page at a time on one core), all results in order. Fresh interpreters
    ("spawn"), not forks of a server that holds threads and database connections."""
    if processes <= 1 or len(htmls) <= 1:
        return [part for html in htmls for part in render_sections(html, prefix)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(processes, len(htmls)), mp_context=context, initializer=django.setup) as pool:
        return [part for parts in pool.map(render_sections, htmls, repeat(prefix)) for part in parts]
