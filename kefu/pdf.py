"""A4 PDFs from templates: WeasyPrint with the CJK font embedded, the estate in the header."""
from flask import current_app
from flask import make_response
from flask import render_template
from weasyprint import HTML

from . import ROOT
from . import clock
from . import uploads
from .estate import Estate
from .estate import logo_of


def render(template, **context):
    """Render a print template (which extends print_base.html) to PDF bytes."""
    estate = Estate.current()
    logo = logo_of(estate)
    logo_path = "file://" + uploads.file_path(current_app.config["PHOTOS"], logo) if logo else ""
    html = render_template(template, estate=estate, logo_path=logo_path,
                           printed_on=clock.format_cn_date(clock.today(estate.tz)), **context)
    return HTML(string=html, base_url=ROOT + "/").write_pdf()


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
