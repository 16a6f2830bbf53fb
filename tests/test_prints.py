"""Every printed document kind, rendered from the demo estate (as the demo has it, with long texts,
with many photos) and read back with pdfplumber: what a manager, an inspector or a resident would
see on the paper. The kinds are listed in tests/printed.py."""
import datetime
import io
import re

import pdfplumber
import pypdf
import pytest
import time_machine

import printed

FROZEN = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.timezone.utc)  # a Friday, 10:00 in Shanghai
MM = 72 / 25.4
MARGIN = 18 * MM  # the top and bottom page margins hold only the running header and the page number


class Printout:
    """A PDF as read back: each page's text, words with their positions, images, size."""

    def __init__(self, data):
        self.data = data
        with pdfplumber.open(io.BytesIO(data)) as document:
            self.pages = []
            for page in document.pages:
                words = page.extract_words(keep_blank_chars=False, use_text_flow=True)
                self.pages.append({"text": page.extract_text() or "", "words": words, "images": page.images,
                                   "width": float(page.width), "height": float(page.height)})

    @property
    def text(self):
        return "\n".join(p["text"] for p in self.pages)

    def pages_with(self, needle):
        return [i for i, p in enumerate(self.pages) if needle in p["text"].replace(" ", "")]

    def body(self, index):
        """What a page has between its header and footer margins (words and images)."""
        page = self.pages[index]
        words = [w for w in page["words"] if MARGIN - 2 < w["top"] and w["bottom"] < page["height"] - MARGIN + 2]
        images = [i for i in page["images"] if i["top"] > MARGIN - 2]
        return words, images


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    with time_machine.travel(FROZEN, tick=False):
        return printed.build_demo(str(tmp_path_factory.mktemp("demo")))


@pytest.fixture
def printout(demo_database, tmp_path):
    def make(code, variant="demo", **config):
        with time_machine.travel(FROZEN, tick=False):
            app = printed.open_app(str(tmp_path / f"{code}-{variant}"), demo_database, **config)
            return Printout(printed.fetch(app, printed.BY_CODE[code], variant))
    return make


CASES = [(kind.code, variant) for kind in printed.KINDS for variant in printed.variants(kind)]
ASCII_WORD = re.compile(r"(?<![\w./@-])[A-Za-z_]{4,}(?![\w./@-])")


@pytest.mark.parametrize("code,variant", CASES)
def test_every_document_passes_the_machine_checks(printout, code, variant):
    kind = printed.BY_CODE[code]
    doc = printout(code, variant)
    count = len(doc.pages)
    fewest, most = kind.pages
    if variant == "demo":
        assert fewest <= count <= most, f"{code}: {count} pages"
    else:
        assert fewest <= count <= most + 3, f"{code} {variant}: {count} pages"
    # A4, landscape for registers.
    for page in doc.pages:
        size = sorted((round(page["width"]), round(page["height"])))
        assert size == [595, 842]
        assert (page["width"] > page["height"]) == kind.landscape, code
    # No page with only its header and footer.
    for index in range(count):
        words, images = doc.body(index)
        assert words or images, f"{code} {variant}: page {index + 1} has only its header and footer"
    # Blocks marked keep-together: their lines on one page.
    for needle in kind.keep:
        assert doc.pages_with(needle), f"{code}: {needle} missing"
    if kind.keep:
        pages = {page for needle in kind.keep for page in doc.pages_with(needle)}
        assert len(pages) == 1, f"{code} {variant}: {kind.keep} split over pages {sorted(p + 1 for p in pages)}"
    # Chinese where Chinese is expected: no code names, no Python values.
    leftovers = [w for w in ASCII_WORD.findall(doc.text) if w not in ("Noto",)]
    assert not leftovers, f"{code}: {leftovers[:5]}"
    # One date style: long dates on letters, MM-DD HH:MM in tables, never ISO.
    assert not re.search(r"\d{4}-\d{2}-\d{2}", doc.text), code
    # Page numbers: 第 n 页 / 共 N 页 on every page.
    for index, page in enumerate(doc.pages):
        assert f"第 {index + 1} 页 / 共 {count} 页" in page["text"], f"{code}: page {index + 1} unnumbered"
    # Forms carry a number.
    if code != "stickers":
        assert "编号" in doc.pages[0]["text"], code
    # Going outside: the estate's letterhead and a space for the seal.
    if kind.outside:
        assert "阳光物业服务有限公司" in doc.pages[0]["text"], code
        assert "上海市浦东新区阳光路 88 号" in doc.pages[0]["text"], code
        assert "盖章" in doc.text, code
    # Unsigned: a 草稿 mark on every page; signed: none.
    marked = [i for i in range(count) if "草稿" in doc.pages[i]["text"].replace(" ", "")]
    if kind.draft:
        assert marked == list(range(count)), code
    else:
        assert not marked, code


@pytest.mark.parametrize("code", [k.code for k in printed.KINDS])
def test_fonts_are_embedded(printout, code):
    reader = pypdf.PdfReader(io.BytesIO(printout(code).data))
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"] \
                if "/DescendantFonts" in font else font.get("/FontDescriptor")
            assert descriptor is not None
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
