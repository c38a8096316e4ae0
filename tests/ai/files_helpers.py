"""Real small files for the file-analysis tests and benchmark: PDFs (a tiny writer), workbooks, CSV text."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[str]) -> bytes:
    """A valid PDF with one page per string (lines split on newlines), Helvetica text pypdf can extract."""
    count = len(pages)
    objects = {
        1: "<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(count))}] /Count {count} >>",
        3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for index, text in enumerate(pages):
        shown = " ".join(f"({_pdf_text(line)}) Tj T*" for line in text.split("\n"))
        stream = f"BT /F1 11 Tf 14 TL 50 770 Td {shown} ET"
        objects[4 + 2 * index] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>"
        )
        objects[5 + 2 * index] = f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(f"{number} 0 obj\n{objects[number]}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    total = len(objects) + 1
    out.write(f"xref\n0 {total}\n0000000000 65535 f \n".encode())
    for number in range(1, total):
        out.write(f"{offsets[number]:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {total} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypted_pdf_bytes(pages: list[str], password: str = "s3cret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bytes(members: dict[str, str]) -> bytes:
    """A ZIP archive (a Word document is one holding word/document.xml)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def upload_of(name: str, content: bytes | str, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    raw = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, raw, content_type=content_type)


SALES_CSV = (
    "order_id,date,region,product,units,revenue\n"
    "1001,2026-07-01,North,Sneakers,2,120.50\n"
    "1002,2026-07-02,South,Boots,1,89.99\n"
    "1003,2026-07-15,North,Sneakers,3,180.75\n"
    "1004,2026-08-03,East,Sandals,1,35.00\n"
    "1005,2026-09-30,North,Boots,2,179.98\n"
)
Q3_PAGES = [
    "Q3 Marketing Report\nPrepared for the leadership team.\nThis report covers July to September 2026.",
    "Results\nRevenue grew 18% to $1.2M in Q3, driven by the email channel.\n"
    "Churn fell to 3.1% after the loyalty launch.",
    "Next steps\nWe should double the retargeting budget in October.\nThe team will test SMS reminders for carts.",
]
