"""The Word building blocks: documents (app.adapters.word), Markdown as paragraphs
(app.adapters.word_markdown) and chart pictures (app.adapters.chart_images)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import docx
import pytest
from docx.oxml.ns import qn
from PIL import Image

from app.adapters import chart_images
from app.adapters.markdown import render_markdown
from app.adapters.word import (
    Picture,
    Properties,
    Run,
    WordDocument,
    clean_text,
    deterministic_zip,
)
from app.adapters.word_markdown import write_html

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PAINTS = [
    chart_images.Paint("solid", "#2b2b2b", "#2b2b2b"),
    chart_images.Paint("hatch", "#ffffff", "#2b2b2b"),
    chart_images.Paint("dots", "#ffffff", "#2b2b2b"),
]


def new_document(**kwargs: object) -> WordDocument:
    properties = Properties(
        title="A memo", author="Morgan", subject="About", keywords="memo", created=WHEN
    )
    return WordDocument(properties=properties, **kwargs)  # type: ignore[arg-type]


def opened(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def body_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def chart() -> chart_images.StackedBars:
    return chart_images.StackedBars(
        width=170.0,
        height=30.0,
        bar_height=5.2,
        ticks=[(0.0, "0"), (74.0, "50"), (148.0, "100")],
        bars=[
            chart_images.Bar(
                title="1. First option",
                total="72.5",
                title_y=9.1,
                bar_y=10.1,
                end=107.3,
                segments=[
                    chart_images.Segment(0.0, 60.0, 0, "C1", True),
                    chart_images.Segment(60.0, 47.3, 1, "C2", True),
                ],
            ),
            chart_images.Bar(
                title="2. Second <b>option</b>",
                total="20.0",
                title_y=20.1,
                bar_y=21.1,
                end=29.6,
                segments=[chart_images.Segment(0.0, 29.6, 2, "C3", True)],
            ),
        ],
        paints=PAINTS,
    )


# --- text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("tab\tand\nlines\r", "tab\tand\nlines\r"),
        ("nul\x00bell\x07esc\x1b", "nulbellesc"),
        ("manual\x0bbreak\x0cpage", "manual break page"),
        ("lone \ud800 surrogate \ufffe\uffff", "lone  surrogate "),
        ("emoji 🧨 rtl\u202e", "emoji 🧨 rtl\u202e"),
    ],
)
def test_clean_text_keeps_only_what_xml_can_hold(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_text_goes_in_as_text_never_as_markup() -> None:
    doc = new_document(marking="SECRET <b>x</b>")
    hostile = "<script>alert('x')</script> &amp; <w:p/> {{7*7}}\x0b\x00end"
    doc.heading(hostile, 1)
    doc.paragraph([Run(hostile, bold=True)])
    doc.table(["Head <i>"], [[hostile]])
    data = doc.to_bytes()
    document = opened(data)
    expected = "<script>alert('x')</script> &amp; <w:p/> {{7*7}} end"
    assert [p.text for p in document.paragraphs[:2]] == [expected, expected]
    assert document.tables[0].cell(1, 0).text == expected
    assert document.tables[0].cell(0, 0).text == "Head <i>"
    xml = body_xml(data)
    assert "<script>" not in xml and "&lt;script&gt;" in xml
    assert "<w:p/> {{" not in xml
    assert document.sections[0].header.paragraphs[0].text == "SECRET <b>x</b>"


# --- structure -----------------------------------------------------------------------------------


def test_headings_tables_pictures_and_marking() -> None:
    doc = new_document(paper="letter", marking="UNCLASSIFIED", footer_line="Decision 3")
    doc.title("Subject")
    doc.heading("Section", 1)
    doc.heading("Part", 2)
    doc.items(["one", "two"], numbered=True)
    table = doc.table(
        ["Option", "Total"],
        [["A", "72.5"], ["B", "20.0"]],
        numeric=(1,),
        shaded=[(0, 1)],
        widths_mm=(100.0, 20.0),
        title="Totals <by> option",
    )
    png = chart_images.stacked_bars_png(chart())
    doc.picture(Picture(png, 170.0, alt="Totals: A 72.5, B 20.0", title="Figure 1"))
    data = doc.to_bytes()
    document = opened(data)

    styles = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert ("Title", "Subject") in styles
    assert ("Heading 1", "Section") in styles and ("Heading 2", "Part") in styles
    assert [s for s, t in styles if t in ("one", "two")] == ["List Number", "List Number"]

    saved = document.tables[0]
    first = saved.rows[0]._tr
    assert first.trPr is not None and first.trPr.find(qn("w:tblHeader")) is not None
    assert saved.rows[1]._tr.trPr.find(qn("w:tblHeader")) is None
    assert [c.text for c in saved.rows[1].cells] == ["A", "72.5"]
    assert saved.cell(1, 1).paragraphs[0].alignment == 2  # right
    widths = [round(c.w.mm) for c in saved._tbl.tblGrid.gridCol_lst]
    assert widths == [100, 20] and table is not None
    caption = saved._tbl.tblPr.find(qn("w:tblCaption"))
    assert caption is not None and caption.get(qn("w:val")) == "Totals <by> option"
    grey = saved.cell(1, 1)._tc.tcPr.find(qn("w:shd"))
    assert grey is not None and grey.get(qn("w:fill")) == "D9D9D9"
    assert saved.cell(2, 1)._tc.tcPr.find(qn("w:shd")) is None

    pictures = document.inline_shapes
    assert len(pictures) == 1
    doc_pr = pictures[0]._inline.docPr
    assert doc_pr.get("descr") == "Totals: A 72.5, B 20.0" and doc_pr.get("title") == "Figure 1"

    section = document.sections[0]
    assert round(section.page_width.mm, 1) == 215.9 and round(section.page_height.mm, 1) == 279.4
    assert section.header.paragraphs[0].text == "UNCLASSIFIED"
    footer = [p.text for p in section.footer.paragraphs]
    assert footer[0] == "UNCLASSIFIED" and footer[1].startswith("Decision 3 · Page ")
    assert "NUMPAGES" in section.footer._element.xml

    core = document.core_properties
    assert (core.title, core.author, core.subject) == ("A memo", "Morgan", "About")
    assert core.created == core.modified == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert core.revision == 1


def test_landscape_sections_carry_the_marking() -> None:
    doc = new_document(marking="UNCLASSIFIED")
    doc.paragraph("portrait")
    doc.new_section(landscape=True)
    doc.paragraph("wide")
    doc.new_section(landscape=False)
    document = opened(doc.to_bytes())
    first, wide, last = document.sections
    assert wide.page_width > wide.page_height and first.page_width < first.page_height
    assert last.page_width == first.page_width
    assert wide.header.is_linked_to_previous and wide.header.paragraphs[0].text == "UNCLASSIFIED"


def test_numbered_lists_each_count_from_one() -> None:
    doc = new_document()
    doc.items(["a", "b"], numbered=True)
    doc.items(["c"], numbered=True)
    document = opened(doc.to_bytes())
    ids = [
        p._p.pPr.numPr.numId.val
        for p in document.paragraphs
        if p.text in ("a", "b", "c") and p._p.pPr is not None and p._p.pPr.numPr is not None
    ]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]
    numbering = document.part.numbering_part.element
    for num_id in set(ids):
        num = numbering.num_having_numId(num_id)
        starts = num.findall(f"{qn('w:lvlOverride')}/{qn('w:startOverride')}")
        assert [s.get(qn("w:val")) for s in starts] == ["1"]


# --- reproducible bytes ---------------------------------------------------------------------------


def build() -> bytes:
    doc = new_document(marking="UNCLASSIFIED")
    doc.heading("Section", 1)
    doc.table(["A"], [["1"]])
    doc.picture(Picture(chart_images.stacked_bars_png(chart()), 170.0, alt="chart"))
    return doc.to_bytes()


def test_the_same_document_gives_the_same_bytes() -> None:
    first, second = build(), build()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        entries = archive.infolist()
        assert {e.date_time for e in entries} == {(1980, 1, 1, 0, 0, 0)}
        names = [e.filename for e in entries]
        assert names[0] == "[Content_Types].xml"
        assert not any("thumbnail" in n for n in names)
        assert "thumbnail" not in archive.read("_rels/.rels").decode()
        core = archive.read("docProps/core.xml").decode()
        assert "2026-03-04T05:06:07Z" in core and "python-docx" not in core


def test_deterministic_zip_keeps_contents_and_order() -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr(zipfile.ZipInfo("b.txt", (2020, 5, 6, 7, 8, 10)), "bee")
        archive.writestr(zipfile.ZipInfo("a.txt", (2021, 5, 6, 7, 8, 10)), "ay")
    rewritten = deterministic_zip(raw.getvalue())
    with zipfile.ZipFile(io.BytesIO(rewritten)) as archive:
        assert archive.namelist() == ["b.txt", "a.txt"]
        assert archive.read("b.txt") == b"bee" and archive.read("a.txt") == b"ay"
    assert deterministic_zip(rewritten) == rewritten


# --- Markdown ------------------------------------------------------------------------------------


def markdown_document(text: str) -> docx.document.Document:
    doc = new_document()
    write_html(doc, str(render_markdown(text, links=False)))
    return opened(doc.to_bytes())


def test_markdown_becomes_paragraphs_runs_and_lists() -> None:
    document = markdown_document(
        "We recommend **Joint drills** and *not* `basing`.\n\n"
        "1. first\n2. second\n\n- a point\n- another\n\n"
        "> quoted\n\n### A heading\n\nline one  \nline two"
    )
    paragraphs = [p for p in document.paragraphs if p.text]
    first = paragraphs[0]
    assert first.text == "We recommend Joint drills and not basing."
    looks = {r.text: (r.bold, r.italic, r.font.name) for r in first.runs}
    assert looks["Joint drills"][0] is True
    assert looks["not"][1] is True
    assert looks["basing"][2] == "Consolas"
    styled = [(p.style.name, p.text) for p in paragraphs[1:]]
    assert styled[:4] == [
        ("List Number", "first"),
        ("List Number", "second"),
        ("List Bullet", "a point"),
        ("List Bullet", "another"),
    ]
    assert ("Quote", "quoted") in styled
    heading = next(p for p in paragraphs if p.text == "A heading")
    assert heading.style.name == "Normal" and heading.runs[0].bold  # not in the outline
    assert paragraphs[-1].text == "line one\nline two"


def test_markdown_code_blocks_and_nested_lists() -> None:
    document = markdown_document(
        "    first line\n      indented\n\n- outer\n    1. inner one\n    2. inner two\n- last"
    )
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert paragraphs[0] == ("Normal", "first line\n  indented")
    assert all(r.font.name == "Consolas" for r in document.paragraphs[0].runs if r.text)
    assert paragraphs[1:] == [
        ("List Bullet", "outer"),
        ("List Number 2", "inner one"),
        ("List Number 2", "inner two"),
        ("List Bullet", "last"),
    ]


def test_markdown_markup_and_entities_come_out_as_written_text() -> None:
    document = markdown_document(
        "&lt;b&gt;bold?&lt;/b&gt; &amp;amp; <script>alert('xss-1')</script> "
        "[md link](javascript:alert('xss-13')) tpl={{7*7}}\n\n"
        "| a | b |\n|---|---|\n| <i>1</i> | 2 |"
    )
    text = "\n".join(p.text for p in document.paragraphs)
    assert "<b>bold?</b> &amp;" in text  # the entities as the reader typed them, decoded once
    assert "tpl={{7*7}}" in text and "md link" in text
    assert "javascript" not in text and "alert('xss-1')" not in text
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["a", "b"]
    assert [c.text for c in table.rows[1].cells] == ["1", "2"]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


# --- pictures ------------------------------------------------------------------------------------


def test_stacked_bars_are_a_reproducible_png_of_the_figure() -> None:
    png = chart_images.stacked_bars_png(chart(), dpi=100)
    assert png == chart_images.stacked_bars_png(chart(), dpi=100)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    scale = 100 / 25.4
    assert image.size == (round(170 * scale), round(30 * scale))
    # The first segment is solid dark grey where no label box covers it.
    assert image.getpixel((round(5 * scale), round(10.6 * scale))) == (0x2B, 0x2B, 0x2B)
    # Past the bar's end (and between grid lines) the page is white.
    assert image.getpixel((round(120 * scale), round(26 * scale))) == (255, 255, 255)


def test_swatches_tell_criteria_apart() -> None:
    swatches = {chart_images.swatch_png(paint) for paint in PAINTS}
    assert len(swatches) == len(PAINTS)
    bar = Image.open(io.BytesIO(chart_images.share_bar_png(0.25, width=40, dpi=100)))
    width = bar.size[0]
    assert bar.getpixel((width // 8, 2)) == (0x3A, 0x3A, 0x3A)
    assert bar.getpixel((width * 3 // 4, 2)) == (0xEC, 0xEC, 0xEC)
