"""A report as a document: its blocks, and the renderers that turn them into HTML, Markdown and PDF.

A report is a list of :class:`Block` (headings, paragraphs, lists, tables, figures). Each renderer
is a table keyed by block kind: adding a kind means one function per renderer and one entry in each
table, and a kind a renderer does not know is an error rather than a silently missing part.

Three renderers: browser HTML (one self-contained file, figures as data: URLs), Markdown (figures
linked as ``figures/<key>.png``), and the simpler HTML that Qt's QTextDocument understands, which
:func:`render_pdf` prints. Only the PDF needs Qt.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from . import tables
from .tables import Stat

__all__ = ["Block", "Report", "BLOCK_KINDS", "format_value", "render_html", "render_markdown",
           "render_qt_html", "render_pdf", "PAPER_SIZES"]

BLOCK_KINDS = ("h1", "h2", "h3", "p", "list", "table", "figure")


@dataclass
class Block:
    """One part of the document. Which fields count depends on ``kind``: ``text`` for headings and
    paragraphs, ``items`` for a list, ``rows`` (dicts keyed by column), ``key`` and ``digits`` (decimals
    per column) for a table, ``key`` (the figure's id) for a figure."""

    kind: str                  # one of BLOCK_KINDS
    text: str = ""
    items: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    key: str = ""              # table / figure id (file stem)
    digits: dict = field(default_factory=dict)


@dataclass
class Report:
    """A built report: its blocks, tables (numbers) and figures (PNG bytes), ready to write."""

    title: str
    blocks: list
    tables: dict               # key -> rows (numbers, Stat or strings)
    figures: dict              # key -> (png bytes, caption)
    svgs: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    evaluations: dict = field(default_factory=dict)   # label -> Evaluation (first seed, test set)
    claims: list = field(default_factory=list)
    created: str = ""


# ---------------------------------------------------------------------------- cells
def format_value(value, digits: int = 4) -> str:
    """A table cell's text: numbers to ``digits`` decimals (a Stat as mean ± spread), "–" for a
    missing or non-finite number, yes/no for a truth value."""
    if value is None:
        return "–"
    if isinstance(value, Stat):
        return value.format(digits)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{float(value):.{digits}f}"
    return str(value)


def _cell(block: Block, column: str, value) -> str:
    """A cell in the block's own decimals where it sets them, else the report tables' (a Stat)."""
    if column in block.digits:
        return format_value(value, block.digits[column])
    if isinstance(value, Stat):
        return tables.cell_text(column, value)
    return format_value(value)


def _align(k: int, value) -> str:
    """Numbers (and missing numbers) right, the first column and text left."""
    numeric = isinstance(value, (Stat, int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return "right" if k > 0 and (numeric or value is None) else "left"


def _render(renderers: dict, report: Report, *extra) -> list[str]:
    """Each block rendered by its kind's function; a function returning None leaves the block out
    (an empty table, a figure that was not drawn)."""
    parts = []
    for block in report.blocks:
        if block.kind not in renderers:
            raise ValueError(f"a report block of unknown kind {block.kind!r}; "
                             f"the kinds are {', '.join(BLOCK_KINDS)}")
        text = renderers[block.kind](block, report, *extra)
        if text is not None:
            parts.append(text)
    return parts


# ---------------------------------------------------------------------------- browser HTML
_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #202124; line-height: 1.45; }
h1 { font-size: 1.7em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 1.8em; color: #0b3d66; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #c8ccd0; padding: .3em .6em; }
th { background: #eef2f6; text-align: center; }
td.num { text-align: right; white-space: nowrap; } td.text { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: .88em; color: #444; margin-top: .3em; }
"""


def _html_list(block: Block, report: Report) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in block.items) + "</ul>"


def _html_table(block: Block, report: Report) -> str:
    rows = block.rows
    if not rows:
        return "<p>(no data)</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)

    def cell(k, c, row):
        kind = "num" if _align(k, row.get(c)) == "right" else "text"
        return f'<td class="{kind}">{html.escape(_cell(block, c, row.get(c)))}</td>'
    body = "".join("<tr>" + "".join(cell(k, c, row) for k, c in enumerate(columns)) + "</tr>\n"
                   for row in rows)
    return f'<table id="{block.key}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n'


def _html_figure(block: Block, report: Report) -> str | None:
    if block.key not in report.figures:
        return None
    png, caption = report.figures[block.key]
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{block.key}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>')


_HTML = {
    "h1": lambda b, r: f"<h1>{html.escape(b.text)}</h1>",
    "h2": lambda b, r: f"<h2>{html.escape(b.text)}</h2>",
    "h3": lambda b, r: f"<h3>{html.escape(b.text)}</h3>",
    "p": lambda b, r: f"<p>{html.escape(b.text)}</p>",
    "list": _html_list,
    "table": _html_table,
    "figure": _html_figure,
}


def render_html(report: Report) -> str:
    """One self-contained HTML file: the figures as data: URLs."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(report.title)}</title>", f"<style>{_CSS}</style></head><body>"]
    parts += _render(_HTML, report)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------- Markdown
def _md_table(block: Block, report: Report, figure_dir: str) -> str | None:
    if not block.rows:
        return None
    columns = list(block.rows[0])

    def esc(s):
        return str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in columns) + " |",
             "|" + "|".join(":---" if k == 0 else "---:" for k in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(esc(_cell(block, c, row.get(c))) for c in columns) + " |"
              for row in block.rows]
    return "\n".join(lines) + "\n"


def _md_figure(block: Block, report: Report, figure_dir: str) -> str | None:
    if block.key not in report.figures:
        return None
    caption = report.figures[block.key][1]
    return f"![{caption}]({figure_dir}/{block.key}.png)\n\n*{caption}*\n"


_MARKDOWN = {
    "h1": lambda b, r, d: f"# {b.text}\n",
    "h2": lambda b, r, d: f"## {b.text}\n",
    "h3": lambda b, r, d: f"### {b.text}\n",
    "p": lambda b, r, d: b.text + "\n",
    "list": lambda b, r, d: "".join(f"- {t}\n" for t in b.items),
    "table": _md_table,
    "figure": _md_figure,
}


def render_markdown(report: Report, figure_dir: str = "figures") -> str:
    """Markdown that links the figures as ``<figure_dir>/<key>.png``."""
    return "\n".join(_render(_MARKDOWN, report, figure_dir))


# ---------------------------------------------------------------------------- Qt's HTML and the PDF
def _qt_cell(block: Block, column: str, value, wide: bool) -> str:
    """A cell for the PDF: in wide tables a mean ± spread on two lines, so that they fit the page."""
    text = html.escape(_cell(block, column, value))
    if isinstance(value, Stat):
        return text.replace(" ± ", "<br>±&nbsp;" if wide else "&nbsp;±&nbsp;")
    return text


def _qt_table(block: Block, report: Report, page_width_px: int) -> str | None:
    if not block.rows:
        return None
    columns = list(block.rows[0])
    wide = len(columns) > 6         # smaller type, and room for the name column
    first_width = ' width="19%"' if wide else ""

    # In a wide table every header word gets its own line, so that Qt's layout narrows
    # the columns to whole words instead of breaking one ("Validatio n").
    def header(c):
        text = html.escape(str(c))
        return text.replace(" ", "<br>") if wide else text
    head = "".join(f'<th style="background-color:#eef2f6;"{first_width if k == 0 else ""}>'
                   f'{header(c)}</th>' for k, c in enumerate(columns))
    body = "".join(
        "<tr>" + "".join(f'<td align="{_align(k, row.get(c))}">{_qt_cell(block, c, row.get(c), wide)}</td>'
                         for k, c in enumerate(columns)) + "</tr>" for row in block.rows)
    size = "font-size:7pt; " if wide else ""
    return (f'<table border="1" cellspacing="0" cellpadding="{2 if wide else 3}" width="100%" '
            f'style="{size}border-collapse:collapse; border-color:#c8ccd0;"><tr>{head}</tr>{body}</table>')


def _qt_figure(block: Block, report: Report, page_width_px: int) -> str | None:
    if block.key not in report.figures:
        return None
    from PySide6.QtGui import QImage

    png, caption = report.figures[block.key]
    img = QImage.fromData(png)
    height = int(round(page_width_px * img.height() / max(img.width(), 1)))
    return (f'<p align="center"><img src="fig://{block.key}.png" width="{page_width_px}" '
            f'height="{height}"></p>'
            f'<p style="font-size:small; color:#444;">{html.escape(caption)}</p>')


_QT_HTML = {
    "h1": lambda b, r, w: f'<h1 style="color:#0b3d66;">{html.escape(b.text)}</h1>',
    "h2": lambda b, r, w: f'<h2 style="color:#0b3d66;">{html.escape(b.text)}</h2>',
    "h3": lambda b, r, w: f"<h3>{html.escape(b.text)}</h3>",
    "p": lambda b, r, w: f"<p>{html.escape(b.text)}</p>",
    "list": lambda b, r, w: _html_list(b, r),
    "table": _qt_table,
    "figure": _qt_figure,
}


def render_qt_html(report: Report, page_width_px: int) -> str:
    """HTML in the subset QTextDocument understands; images by resource name (``fig://<key>.png``),
    ``page_width_px`` wide."""
    return "<html><body>" + "".join(_render(_QT_HTML, report, page_width_px)) + "</body></html>"


#: The PDF's paper sizes, by the name ``digitlab report --paper`` takes.
PAPER_SIZES = ("a4", "letter")
#: QTextDocument.print_ puts 2 cm of margin around the text; so does :func:`render_pdf`.
_MARGIN_CM = 2.0


def _page_size_id(paper: str):
    from PySide6.QtGui import QPageSize
    ids = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
    key = str(paper).strip().lower()
    if key not in ids:
        raise ValueError(f"unknown paper size {paper!r}: use one of {', '.join(PAPER_SIZES)}")
    return ids[key]


def render_pdf(report: Report, path, paper: str = "a4") -> None:
    """Print the report to a PDF (``paper``: "a4" or "letter"; 2 cm margins, page numbers).

    The pages are painted here rather than by ``QTextDocument.print_`` for one render hint:
    with ``LosslessImageRendering`` Qt's PDF engine embeds a figure Flate-compressed (about as
    small as its PNG, and exact) instead of as a quality-94 JPEG, which for line art is about four
    times larger and blurs thin lines and small text. The figures keep their full resolution:
    rendered at figures.RENDER_SCALE times their nominal size, about 240 dpi on the page.
    """
    size_id = _page_size_id(paper)
    from .figures import ensure_app
    ensure_app()
    from PySide6.QtCore import QMarginsF, QPointF, QRectF, QUrl
    from PySide6.QtGui import (
        QFont,
        QFontMetricsF,
        QGuiApplication,
        QImage,
        QPageLayout,
        QPageSize,
        QPainter,
        QPdfWriter,
        QTextDocument,
    )

    doc = QTextDocument()
    font = QFont("DejaVu Sans")
    font.setPointSizeF(8.5)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet("h1 { font-size: 17pt; } h2 { font-size: 13pt; } h3 { font-size: 10pt; }"
                             "th { font-weight: bold; }")
    for key, (png, _) in report.figures.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"fig://{key}.png"),
                        QImage.fromData(png))
    # QTextDocument lays out in points-like units when printed to a paged device: the usable width
    # (A4 less the margins: 170 mm; Letter: 176 mm) is about 480-500 pt; images 480 pt wide.
    doc.setHtml(render_qt_html(report, page_width_px=480))

    writer = QPdfWriter(str(path))
    writer.setTitle(report.title)
    writer.setCreator(f"digitlab {__version__}")
    writer.setPageSize(QPageSize(size_id))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)   # the text's own, below
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write {path}: Qt could not open it for writing")
    try:
        painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering)
        # What QTextDocument.print_ does: lay the document out for the writer (fonts in points at
        # its resolution), margins given in screen pixels and scaled by the layout to the device.
        screen = QGuiApplication.primaryScreen()
        source_dpi = screen.logicalDotsPerInchY() if screen is not None else 96.0
        scale = writer.resolution() / source_dpi
        margin = _MARGIN_CM / 2.54 * source_dpi
        printed = doc.clone(doc)        # a child of the laid-out document: kept alive by it
        printed.documentLayout().setPaintDevice(writer)
        frame = printed.rootFrame().frameFormat()
        frame.setMargin(margin)
        printed.rootFrame().setFrameFormat(frame)
        body = QRectF(0, 0, writer.width(), writer.height())
        printed.setPageSize(body.size())
        metrics = QFontMetricsF(printed.defaultFont(), writer)
        number_y = body.height() - margin * scale + metrics.ascent() + 5 * writer.resolution() / 72
        pages = printed.pageCount()
        for page in range(pages):
            if page and not writer.newPage():
                raise OSError(f"cannot write {path}: Qt could not start page {page + 1}")
            painter.save()
            painter.translate(0, -page * body.height())
            printed.drawContents(painter, body.translated(0, page * body.height()))
            painter.restore()
            painter.setFont(printed.defaultFont())
            text = str(page + 1)
            painter.drawText(QPointF(body.width() - margin * scale - metrics.horizontalAdvance(text),
                                     number_y), text)
    finally:
        painter.end()
