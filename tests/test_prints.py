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

import pgtest
import printed

pytestmark = pytest.mark.skipif(bool(pgtest.URL),
                                reason="it prints from a SQLite copy of the demo estate whatever the run: "
                                "on PostgreSQL it would repeat the SQLite run's work")

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
                big = "".join(c["text"] for c in page.chars if c["size"] > 40)
                chars = [(c["text"], c["top"], c["bottom"], c["x0"]) for c in page.chars if c["text"].strip()]
                self.pages.append({"text": page.extract_text() or "", "words": words, "images": page.images,
                                   "width": float(page.width), "height": float(page.height), "big": big,
                                   "chars": chars})

    @property
    def text(self):
        return "\n".join(p["text"] for p in self.pages)

    def pages_with(self, needle):
        return [i for i, p in enumerate(self.pages) if needle in p["text"].replace(" ", "")]

    def top_of(self, index, needle):
        """How far down page `index` the text `needle` starts (spaces aside)."""
        chars = [c for c in self.pages[index]["chars"] if c[0] != " "]
        text = "".join(c[0] for c in chars)
        found = text.find(needle.replace(" ", ""))
        assert found >= 0, needle
        return chars[found][1]

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
        # ...and never alone at the top of a page: the last lines it closes stand above it (a seal or a
        # signature under nothing of the document's text signs nothing).
        page = pages.pop()
        top = min(doc.top_of(page, needle) for needle in kind.keep)
        words, images = doc.body(page)
        assert any(w["bottom"] < top for w in words) or any(i["bottom"] < top for i in images), \
            f"{code} {variant}: {kind.keep[0]}… starts page {page + 1} with nothing above it"
    # Chinese line breaks: a date is never split between its number and 年 / 月 / 日, nor from its 星期
    # (chars in the order
    # they are drawn: a line's last, then the next line's first).
    for index, page in enumerate(doc.pages):
        for (one, top, _bottom, x0), (two, next_top, _b, next_x0) in zip(page["chars"], page["chars"][1:]):
            if abs(next_top - top) > 2 and ((one.isdigit() and two in "年月日") or (one in "年月" and two.isdigit())
                                           or (one in "期（" and two in "星期一二三四五六日")):
                assert False, f"{code} {variant}: page {index + 1} breaks a date at {one}|{two}"
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
    marked = [i for i in range(count) if set("草稿") <= set(doc.pages[i]["big"])]
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


# The faults a manager, an inspector or a resident would notice, each checked on the paper.

def test_the_notice_names_its_clause_once_and_its_slip_shows_the_service(printout):
    doc = printout("renovation-notice", "long")
    assert doc.text.replace("\n", "").count("节假日不得进行产生噪音的施工") == 1
    first = printout("renovation-notice")
    slip = first.pages[0]["text"].split("签收回执", 1)[1]
    assert re.search(r"签收日期：\s*\d{4}年\d+月\d+日", slip)
    assert re.search(r"送达时间：\s*\d{4}年\d+月\d+日 \d\d:\d\d", slip)


def test_photos_that_would_push_the_slip_over_go_to_an_annex_after_it(printout):
    doc = printout("shop-notice", "photos")
    assert doc.pages_with("签收回执") == [0]
    assert "见附页" in doc.pages[0]["text"]
    annex = doc.pages_with("附页：现场照片")
    assert annex and annex[0] > 0 and all(doc.pages[i]["images"] for i in annex)


def test_the_sticker_sheet_fills_every_page_with_twelve(printout):
    doc = printout("stickers", "long")
    hints = [len(re.findall("客户助理用手机扫码巡查", p["text"])) for p in doc.pages]
    assert hints[:-1] == [12] * (len(hints) - 1) and 0 < hints[-1] <= 12
    for page in doc.pages:
        # A long name stays on its sticker: every hint of a row sits at that row's height.
        rows = {round(w["top"]) for w in page["words"] if "扫码巡查" in w["text"]}
        assert len(rows) <= 4, rows


def test_each_stickers_hint_sits_just_above_its_cut_line(printout):
    """The hint closes every sticker 2 mm above the dashed line it is cut along, whether the name
    above it takes one line or two."""
    doc = printout("stickers", "long")
    with pdfplumber.open(io.BytesIO(doc.data)) as document:
        for page in document.pages:
            cuts = sorted({line["top"] for line in page.lines if abs(line["top"] - line["bottom"]) < .5})
            hints = [w["bottom"] for w in page.extract_words(use_text_flow=True) if "扫码巡查" in w["text"]]
            assert hints
            for bottom in hints:
                below = min(cut for cut in cuts if cut > bottom)
                assert 1.5 * MM < below - bottom < 3.5 * MM, (below - bottom) / MM


def test_the_sticker_sheet_refuses_without_a_public_address(demo_database, tmp_path):
    with time_machine.travel(FROZEN, tick=False):
        app = printed.open_app(str(tmp_path / "bare"), demo_database, PUBLIC_URL="")
        client = app.test_client()
        client.post("/login", data={"username": "zhuguan", "password": "demo1234"})
        response = client.get("/patrols/stickers.pdf")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "PUBLIC_URL" in page and "重启" in page
    assert response.mimetype == "text/html"


def test_the_monthly_summary_keeps_its_signatures_with_the_text(printout):
    doc = printout("monthly-summary", "long")
    assert doc.pages_with("品质监督解决方案") == doc.pages_with("客服主管签字")
    draft = printout("monthly-summary-draft")
    assert "未签阅" in draft.pages[0]["text"]


def test_the_work_record_names_what_each_step_was_about(printout):
    doc = printout("worklog-week")
    text = doc.text
    assert "本周合计" in text and text.count("当日合计") >= 5
    for line in text.splitlines():
        if re.search(r"\b(派工|验收通过|验收不通过)\b", line) and "合计" not in line:
            assert re.search(r"(PD|ZG|FW)\d{8}-\d{3}|KS\d{8}-\d{3}", line), line
    assert "monthlysummary" not in text
    # A morning round with nothing wrong is one line naming its places.
    assert re.search(r"巡查 \d+ 处（\d\d:\d\d–\d\d:\d\d）", text)
    # The signatures close the record beside its last lines, never alone on a page.
    for code in ("worklog-day", "worklog-week"):
        record = printout(code)
        last = record.pages_with("客服主管审阅")
        assert last and re.search(r"\d\d-\d\d \d\d:\d\d", record.pages[last[0]]["text"]), code
    # Each day's lines are in time order.
    for page in doc.pages:
        # (a row starts with its time and a space; a wrapped line may start with a time in its text)
        times = re.findall(r"^(\d\d-\d\d \d\d:\d\d) (?=[\u4e00-\u9fff])", page["text"], flags=re.M)
        assert times == sorted(times)


def test_the_work_record_says_each_thing_once_and_keeps_the_notes_whole(printout):
    doc = printout("worklog-day", "long")
    flat = re.sub(r"\s", "", doc.text)
    # A finding names its checkpoint once (not "会所 门窗完好：会所：门窗完好不合格").
    findings = re.findall(r"巡查发现问题(.*?)(?=\d\d-\d\d\d\d:\d\d|当日合计)", flat)
    assert findings
    for row in findings:
        rest = row.split("：", 1)[1].replace("：", "")
        assert not rest.startswith(row[:2]), row
    # The assistant's own notes print whole: the record is theirs, not a summary of it.
    assert printed.LONG[:300] in flat
    # The week's totals name their columns whole (拜访与需求, not 拜访与需 / 求).
    week = printout("worklog-week").pages[0]["text"]
    for label in ("拜访与需求", "装修与商铺", "补充记录"):
        assert label in week, label


def test_the_dossier_goes_out_as_it_was_sent(printout):
    doc = printout("referral-dossier")
    text = doc.text.replace(" ", "")
    assert text.count("居委会：") == 1
    assert "附件：" in text and "整改通知书及送达记录" in text
    assert not re.search(r"1[3-9]\d{9}", text), "a full mobile number goes outside"
    assert "已结案" not in text  # closed after the referral: not this dossier's news
    assert "上报时：已上报" in text
    # Each attachment the letter lists is there under its own heading, in the same order.
    listed = re.findall(r"^\d+\.\s*(.+)$", doc.pages[0]["text"].split("附件：", 1)[1], flags=re.M)
    headings = re.findall(r"附件[一二三四五六]、(.+)$", doc.text, flags=re.M)
    assert listed and [h[:4] for h in headings] == [item[:4] for item in listed], (listed, headings)


def test_the_work_order_names_its_source_and_every_round(printout):
    doc = printout("work-order")
    text = doc.text
    assert re.search(r"来源\s*诉求\s*KS\d{8}-\d{3}", text)
    assert re.search(r"接单\s*\S+\s*接单时间\s*\d\d-\d\d \d\d:\d\d", text)
    assert re.search(r"完成时间\s*\d\d-\d\d \d\d:\d\d", text)
    assert "验收不通过" in text
    order = printout("rectification-order").text
    name = re.search(r"来源\s*巡查问题\s*(\S+)", order).group(1)
    assert f"{name}：{name}" not in order.replace(" ", "")


@pytest.mark.parametrize("code", ["work-order", "rectification-order", "service-work-order"])
def test_a_work_orders_photos_stand_under_their_heading(printout, code):
    doc = printout(code, "photos")
    for caption in ("附：照片", "处理前（", "处理后（"):
        for index in doc.pages_with(caption):
            top = doc.top_of(index, caption)
            assert any(i["top"] > top for i in doc.pages[index]["images"]), f"{code}: {caption} ends page {index + 1}"


def test_the_registers_name_their_zone_and_count_every_shop(printout):
    doc = printout("shop-register")
    text = doc.text
    assert "一区（1–4号楼）、二区（5–8号楼）" in text and "共 20 家" in text
    for column in ("执照持有人", "经营范围", "未结通知", "政府检查"):
        assert column in text
    roster = printout("household-roster").text
    assert "空置 / 未登记" in roster
    assert roster.count("栋") <= 1 + roster.count("单元")  # 栋 once a unit, not once a row


def test_the_patrol_record_lists_public_places(printout):
    text = printout("patrol-record").text
    assert re.search(r"公共部位 已巡 \d+ 处", text)


def test_the_meeting_minutes_come_with_a_sign_in_sheet(printout):
    doc = printout("meeting-minutes")
    sheet = doc.pages_with("签到表")
    assert sheet and sheet[0] > 0 and "本人签名" in doc.pages[sheet[0]]["text"]
    assert "会议纪要" in doc.pages[0]["text"].replace(" ", "")


def test_the_service_confirmation_states_the_fee_and_time(printout):
    text = printout("service-confirmation").text
    for expected in ("服务项目", "收费", "约定时间", "客户签字"):
        assert expected in text
    assert re.search(r"约定时间\s*\d{4}年\d+月\d+日 \d\d:\d\d", text)


def test_the_case_booklet_has_a_cover_and_every_case(printout):
    doc = printout("case-booklet")
    assert "客户服务案例汇编" in doc.pages[0]["text"].replace(" ", "")
    cases = re.findall(r"案例 (\d+)", doc.text)
    assert cases and cases == [str(n) for n in range(1, len(cases) + 1)]
    assert not re.search(r"1[3-9]\d{9}", doc.text)


def test_the_letterhead_set_under_settings_is_on_outgoing_paper(demo_database, tmp_path):
    with time_machine.travel(FROZEN, tick=False):
        app = printed.open_app(str(tmp_path / "head"), demo_database)
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": "demo1234"})
        form = client.get("/admin/letterhead").get_data(as_text=True)
        version = re.search(r'name="version"[^>]*value="(\d+)"', form) or re.search(r'value="(\d+)"[^>]*name="version"', form)
        response = client.post("/admin/letterhead", data={
            "version": version.group(1), "company": "晨光物业管理有限公司", "name": "阳光花园",
            "address": "上海市浦东新区阳光路 99 号", "phone": "021-58889999",
            "photos": (io.BytesIO(printed.jpeg(1, (400, 200))), "logo.jpg")}, content_type="multipart/form-data")
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        doc = Printout(printed.fetch(app, printed.BY_CODE["shop-notice"]))
    first = doc.pages[0]
    assert "晨光物业管理有限公司" in first["text"] and "上海市浦东新区阳光路 99 号" in first["text"]
    assert "021-58889999" in first["text"]
    assert first["images"] and first["images"][0]["top"] < 40 * MM  # the logo, at the top


def test_a_letterhead_without_an_estate_name_is_refused_beside_the_field(demo_database, tmp_path):
    with time_machine.travel(FROZEN, tick=False):
        app = printed.open_app(str(tmp_path / "head"), demo_database)
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": "demo1234"})
        form = client.get("/admin/letterhead").get_data(as_text=True)
        version = re.search(r'name="version"[^>]*value="(\d+)"', form) or re.search(r'value="(\d+)"[^>]*name="version"', form)
        response = client.post("/admin/letterhead", data={"version": version.group(1), "name": "", "company": "x"})
    assert response.status_code == 422
    assert "请填写小区名称" in response.get_data(as_text=True)


def _this_months_summary(demo_database, tmp_path):
    with time_machine.travel(FROZEN, tick=False):
        app = printed.open_app(str(tmp_path / "month"), demo_database)
        client = app.test_client()
        client.post("/login", data={"username": "zhuguan", "password": "demo1234"})
        with app.app_context():
            from kefu.users import User
            user_id = User.get(User.username == "zhuli1").id
        response = client.get(f"/summaries/{user_id}/2026-11.pdf")
    assert response.status_code == 200
    return response.data


@pytest.mark.parametrize("code", ["this-month", "worklog-week", "shop-register"])
def test_one_face_throughout(printout, demo_database, tmp_path, code):
    """The chart and the page margins in the document's own font: no second face sneaks in."""
    data = _this_months_summary(demo_database, tmp_path) if code == "this-month" else printout(code).data
    if code == "this-month":
        assert "诉求类别" in Printout(data).text  # the chart is there
    with pdfplumber.open(io.BytesIO(data)) as document:
        faces = {re.sub(r"^[A-Z]{6}\+", "", c["fontname"]) for page in document.pages for c in page.chars}
    assert faces and faces <= {"Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"}, faces
