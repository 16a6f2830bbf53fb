"""Time bringing in a 10,000-row residents file (issue 22): preview ≤ 10 s, import ≤ 20 s.

A fresh estate of 5,000 households (50 buildings × 2 units × 25 floors × 2 rooms, rooms zero-padded
as 0201 in the file, generated as 201), then a residents file of two people per household: both
.xlsx readers are timed on it (python-calamine and openpyxl's read-only mode; the app keeps the
faster, kefu/imports.py XLSX_READER), then the preview and the import as the administrator does
them through the pages (upload → preview page → confirm), and a second import of the same file
(nothing to change).

    .venv/bin/python -m bench.imports        # prints the table and writes bench/results-imports.md
"""
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ROWS = 10_000
PREVIEW_TARGET = 10.0
IMPORT_TARGET = 20.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def residents_file():
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("住户")
    sheet.append(["房号", "姓名", "联系电话", "关系", "标签"])
    n = 0
    for building in range(1, 51):
        for unit in (1, 2):
            for floor in range(1, 26):
                for room in (1, 2):
                    for person, relation in ((0, "业主"), (1, "配偶")):
                        name = SURNAMES[n % 20] + GIVEN[(n // 20) % 26] + GIVEN[(n // 7) % 26] + str(n)
                        sheet.append([f"{building}-{unit}-{floor:02d}{room:02d}", name, f"139{n:08d}", relation,
                                      "独居老人" if n % 97 == 0 else ""])
                        n += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def timed(function, repeat=1):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    from kefu import create_app
    from kefu import db
    from kefu import estate
    from kefu import imports
    from kefu import users

    folder = tempfile.mkdtemp(prefix="kefu-bench-imports-")
    try:
        app = create_app({"TESTING": True, "INSTANCE": folder, "WTF_CSRF_ENABLED": False, "SCHEDULER": False,
                          "DATABASE": os.path.join(folder, "bench.sqlite3"), "PHOTOS": os.path.join(folder, "photos")})
        with db.database.connection_context():
            admin = users.create_user(None, "admin", "管理员", "admin", "bench1234")
            for number in range(1, 51):
                building = estate.create_building(admin, str(number), f"{number}号楼")
                estate.bulk_create_households(admin, building, 2, 1, 25, 2)
        data = residents_file()
        rows = []
        calamine, table = timed(lambda: imports.read_table("住户.xlsx", data, "calamine"), 3)
        openpyxl_time, table2 = timed(lambda: imports.read_table("住户.xlsx", data, "openpyxl"), 3)
        assert [[imports.cell_text(c) for c in r] for r in table] == [[imports.cell_text(c) for c in r] for r in table2]
        assert len(table) == ROWS + 1
        rows.append(("读取 .xlsx · python-calamine", calamine))
        rows.append(("读取 .xlsx · openpyxl read-only", openpyxl_time))
        with db.database.connection_context():
            plan_time, plan = timed(lambda: imports.plan("residents", "住户.xlsx", data), 3)
        assert len(plan.new) == ROWS and not plan.refused, plan.refused[:3]
        rows.append(("预览（规则：读取、检查、比对）", plan_time))

        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": "bench1234"})

        def preview(expect="确认导入：新增 10000"):
            response = client.post("/admin/import/residents",
                                   data={"residents-file": (io.BytesIO(data), "住户.xlsx")},
                                   content_type="multipart/form-data")
            assert response.status_code == 303, response.status_code
            page = client.get(response.headers["Location"])
            assert page.status_code == 200 and expect in page.get_data(as_text=True)
            return response.headers["Location"]

        preview_time, url = timed(preview)
        rows.append(("预览（页面：上传 → 预览页）", preview_time))
        import_time, response = timed(lambda: client.post(url))
        assert response.status_code == 303
        with db.database.connection_context():
            assert estate.Resident.live().count() == ROWS
        rows.append(("导入（页面：确认 → 写入 10,000 人及时间线）", import_time))
        again_time, url = timed(lambda: preview("都已在系统中"))
        rows.append(("再次预览同一文件（全部未变）", again_time))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    faster = "python-calamine" if calamine <= openpyxl_time else "openpyxl read-only"
    lines = [
        "# Import benchmark (issue 22)",
        "",
        f"A {ROWS:,}-row residents .xlsx ({len(data) / 1024:.0f} KB) into a fresh 5,000-household estate, "
        f"on {platform.processor() or platform.machine()}, Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}. Median of 3 for the reads and the rule; once for the pages.",
        "",
        "| step | seconds | rows per second |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {seconds:.2f} | {ROWS / seconds:,.0f} |" for label, seconds in rows]
    lines += ["", f"Targets: preview ≤ {PREVIEW_TARGET:.0f} s ({'met' if preview_time <= PREVIEW_TARGET else 'MISSED'}), "
                  f"import ≤ {IMPORT_TARGET:.0f} s ({'met' if import_time <= IMPORT_TARGET else 'MISSED'}). "
                  f"Faster .xlsx reader: {faster} ({max(calamine, openpyxl_time) / min(calamine, openpyxl_time):.1f}×); "
                  f"the app reads with {imports.XLSX_READER}."]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(ROOT, "bench", "results-imports.md"), "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
