"""PDFs: real A4 pages with the CJK font embedded, the estate in the header, page numbers below."""
import io

import pypdf

from kefu import estate
from kefu.estate import Building


def roster_pdf(client, login, people, floors=18):
    admin = people["admin"]
    home = estate.Estate.current()
    home.name = "阳光花园"
    home.save()
    building = estate.create_building(admin, "3", "3号楼")
    estate.bulk_create_households(admin, building, 2, 1, floors, 2)
    estate.add_resident(admin, estate.Household.get(estate.Household.code == "3-1-101"), "王建国", "", "业主")
    login("frontdesk")
    response = client.get(f"/admin/buildings/{building.id}/roster.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return pypdf.PdfReader(io.BytesIO(response.data))


def all_text(reader):
    return "\n".join(page.extract_text() for page in reader.pages)


def test_roster_lists_every_household_with_header_and_page_numbers(client, login, people):
    reader = roster_pdf(client, login, people)
    content = all_text(reader)
    assert "3号楼 住户花名册" in content
    assert "阳光花园" in content
    assert "共 72 户" in content
    for room in ("101", "1802", "902"):
        assert room in content
    assert "王建国（业主）" in content
    pages = len(reader.pages)
    assert pages >= 2
    assert f"第 1 页 / 共 {pages} 页" in content
    assert "制表人" in content and "核对人" in content


def test_roster_is_a4_landscape_with_the_cjk_font_embedded(client, login, people):
    reader = roster_pdf(client, login, people, floors=2)
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape in points: a register
    fonts = set()
    for each in reader.pages:
        for font in each["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"] \
                if "/DescendantFonts" in font else font.get("/FontDescriptor")
            assert descriptor is not None and any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add(str(font["/BaseFont"]))
    assert any("CJK" in name or "Noto" in name for name in fonts), fonts


def test_roster_of_a_voided_building_is_not_found(client, login, people):
    building = estate.create_building(people["admin"], "9", "9号楼")
    estate.void(people["admin"], building, "录错")
    login("assistant")
    assert client.get(f"/admin/buildings/{building.id}/roster.pdf").status_code == 404
    assert Building.get_by_id(building.id).void_reason == "录错"
