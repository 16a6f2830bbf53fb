"""A4 PDFs from templates: WeasyPrint with the CJK font embedded, the estate in the header."""
import contextlib
import gc
import threading

from flask import current_app
from flask import make_response
from flask import render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher
from weasyprint.urls import URLFetcherResponse

from . import ROOT
from . import clock
from . import uploads
from .estate import Estate
from .estate import logo_of

_rendering = 0
_rendering_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector kept off while a document is laid out: the layout makes hundreds of
    thousands of objects that live until it ends, and each collection they set off walks them all
    again (a tenth of a week's work record's time, half of its styling). What they leave is
    collected as usual afterwards. Threads of one worker share the switch, so it is back on when the last
    document being laid out is done."""
    global _rendering
    with _rendering_lock:
        _rendering += 1
        gc.disable()
    try:
        yield
    finally:
        with _rendering_lock:
            _rendering -= 1
            if not _rendering:
                gc.enable()


LASTING = "lasting:"  # the address of an image that never changes (see render)
_lasting_cache = {}
_LASTING_MOST = 60_000  # decoded images and their data kept (a QR code's about 2 KB in all)


class _Fetcher(URLFetcher):
    """Serves the document's lasting images by their address; anything else as usual."""

    def __init__(self, images):
        super().__init__()
        self.images = images

    def fetch(self, url, headers=None):
        if url.startswith(LASTING):
            return URLFetcherResponse(url, self.images[url], {"Content-Type": "image/png"})
        return super().fetch(url, headers)


def render(template, lasting_images=None, **context):
    """Render a print template (which extends print_base.html) to PDF bytes.

    `lasting_images`: {address: PNG bytes} for images whose address (starting with LASTING) always
    stands for the same picture, a checkpoint's QR code: WeasyPrint decodes each once a process and
    keeps it for every later document, instead of once a document."""
    estate = Estate.current()
    logo = logo_of(estate)
    logo_path = "file://" + uploads.file_path(current_app.config["PHOTOS"], logo) if logo else ""
    html = render_template(template, estate=estate, logo_path=logo_path,
                           printed_on=clock.format_cn_date(clock.today(estate.tz)), **context)
    options = {}
    if lasting_images:
        if len(_lasting_cache) > _LASTING_MOST:
            _lasting_cache.clear()
        options = {"url_fetcher": _Fetcher(lasting_images)}
    with _collector_paused():
        page = HTML(string=html, base_url=ROOT + "/", **options)
        return page.write_pdf(cache=_lasting_cache) if lasting_images else page.write_pdf()


def response(template, filename, **context):
    """A PDF shown in the browser (inline), named for saving; each counts against the client's PDF limit."""
    from urllib.parse import quote

    from .web import TooManyRequests
    from .web import within_limit

    if not within_limit("pdf"):
        raise TooManyRequests()
    result = make_response(render(template, **context))
    result.headers["Content-Type"] = "application/pdf"
    result.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return result
