"""The grid: cells own characters, fills are no rulings, tables found whatever is drawn around them."""

from __future__ import annotations

from pathlib import Path

from extract.grid import split_word
from extract.pdf import read_pdf_pages
from extract.tables import page_to_tables, ruled_tables
from models import BBox, Page, Ruling, Word

GRID = Path(__file__).parent / "fixtures" / "grid"
H = 8.0


def _word(text: str, x: float, y: float, bold: bool = False, step: float = 4.4) -> Word:
    chars = tuple((x + i * step, x + (i + 1) * step) for i in range(len(text)))
    return Word(text=text, x0=x, x1=x + len(text) * step, top=y, bottom=y + H, bold=bold, chars=chars)


def _words(text: str, x: float, y: float, bold: bool = False) -> list[Word]:
    out = []
    for token in text.split(" "):
        out.append(_word(token, x, y, bold))
        x += len(token) * 4.4 + 2.2
    return out


def _right(text: str, right: float, y: float) -> list[Word]:
    width = sum(len(t) * 4.4 for t in text.split(" ")) + 2.2 * text.count(" ")
    return _words(text, right - width, y)


def test_touching_cells_of_a_ruled_grid_are_cut_at_the_ruling() -> None:
    """Chromium prints `34` right-aligned against `8,5 (ARS)`: the text layer holds `348,5`."""
    page = read_pdf_pages(GRID / "touching.pdf")[0]
    assert any(w.text in ("348,5", "12012") for w in page.words)  # the fixture does what it says
    [found] = ruled_tables(page)
    assert [[c.text for c in r.cells] for r in found.rows] == [["34", "8,5 (ARS)"], ["120", "12 (CAF)"]]


def test_split_word_keeps_each_part_its_characters() -> None:
    w = _word("348,5", 10, 0)
    left, right = split_word(w, 10 + 2 * 4.4 + 0.5)
    assert (left.text, right.text) == ("34", "8,5")
    assert left.x1 == right.x0 == 10 + 2 * 4.4
    assert split_word(w.model_copy(update={"chars": ()}), 19) == [w.model_copy(update={"chars": ()})]


def _page(words: list[Word], rulings: list[Ruling] | None = None, fills: list[BBox] | None = None) -> Page:
    return Page(number=1, width=600, height=800, words=words, rulings=rulings or [], fills=fills or [])


def _banded_table(touch: bool = False) -> tuple[list[Word], list[Ruling], list[BBox]]:
    """A table drawn only with filled bands (header band, every other row shaded), no line at all."""
    words = _words("Annexe 1 - Plan d'actions", 40, 60, True)
    y = 90
    words += _words("Pilote", 40, y, True) + _words("Action", 120, y, True)
    words += _words("Coût total", 330, y, True) + _words("Cofinancement", 420, y, True)
    rows = [("CCAS", "Accueil de jour", "120 000 €", "60 000 €")] * 2 + [("ADIL", "Prévention", "34", "8,5 (ARS)")]
    rows += [("SIAO", "Captation de logements", "85 000 €", "45 000 €")] * 2
    y += 20
    fills, rulings = [BBox(x0=36, top=86, x1=500, bottom=102)], []
    for k, (pilot, action, cost, cof) in enumerate(rows):
        words += _words(pilot, 40, y) + _words(action, 120, y)
        if touch and cost == "34":
            # `34` right-aligned at 418 touches `8,5` left-aligned at 418: one word in the text layer
            words.append(_word("348,5", 418 - 2 * 4.4, y))
            words += _words("(ARS)", 418 + 3 * 4.4 + 2.2, y)
        else:
            # tight columns: amounts right-aligned 2 pt before the next column's text
            words += _right(cost, 418, y) + _words(cof, 420, y)
        if k % 2:
            fills.append(BBox(x0=36, top=y - 4, x1=500, bottom=y + H + 4))
        y += 16
    for f in fills:
        for top in (f.top, f.bottom):
            rulings.append(Ruling(orientation="h", x0=f.x0, x1=f.x1, top=top, bottom=top, source="fill"))
        for x in (f.x0, f.x1):
            rulings.append(Ruling(orientation="v", x0=x, x1=x, top=f.top, bottom=f.bottom, source="fill"))
    return words, rulings, fills


def test_a_table_drawn_with_bands_only_is_found_from_its_words() -> None:
    words, rulings, fills = _banded_table()
    [table] = page_to_tables(_page(words, rulings, fills))
    assert table.report.method == "borderless"
    assert "fonds" in table.report.evidence
    assert [c.text for c in table.header] == ["Pilote", "Action", "Coût total", "Cofinancement"]
    body = [[c.text for c in r.cells] for r in table.rows if r.kind == "body"]
    assert len(body) == 5
    assert body[2] == ["ADIL", "Prévention", "34", "8,5 (ARS)"]


def test_touching_cells_of_a_borderless_table_are_cut_where_the_other_rows_leave_a_gap() -> None:
    words, rulings, fills = _banded_table(touch=True)
    [table] = page_to_tables(_page(words, rulings, fills))
    body = [[c.text for c in r.cells] for r in table.rows if r.kind == "body"]
    assert body[2] == ["ADIL", "Prévention", "34", "8,5 (ARS)"]
    assert body[0] == ["CCAS", "Accueil de jour", "120 000 €", "60 000 €"]


def test_a_few_rules_that_draw_no_grid_leave_the_borderless_path() -> None:
    """A rule under the header and one under the table, with two short ticks: no grid, hints only."""
    words, _, _ = _banded_table()
    rulings = [
        Ruling(orientation="h", x0=36, x1=500, top=101, bottom=101),
        Ruling(orientation="h", x0=36, x1=500, top=192, bottom=192),
        Ruling(orientation="v", x0=36, x1=36, top=101, bottom=106),
        Ruling(orientation="v", x0=500, x1=500, top=101, bottom=106),
    ]
    [table] = page_to_tables(_page(words, rulings))
    assert table.report.method == "borderless"
    assert len([r for r in table.rows if r.kind == "body"]) == 5


def test_a_framed_block_elsewhere_on_the_page_does_not_hide_a_banded_table() -> None:
    """A two-column ruled box (a signature block) under a table drawn with bands only."""
    words, rulings, fills = _banded_table()
    words += _words("Pour la DDETS", 60, 300) + _words("Pour la collectivité", 300, 300)
    for y in (290, 330):
        rulings.append(Ruling(orientation="h", x0=50, x1=500, top=y, bottom=y))
    for x in (50, 280, 500):
        rulings.append(Ruling(orientation="v", x0=x, x1=x, top=290, bottom=330))
    tables = page_to_tables(_page(words, rulings, fills))
    assert [t.report.method for t in tables] == ["borderless", "ruled"]
    assert len([r for r in tables[0].rows if r.kind == "body"]) == 5


def test_a_grid_around_the_header_alone_leaves_the_body_to_the_words() -> None:
    """Chromium print of a table whose header cells are bordered and shaded, body cells centred, no line."""
    pages = read_pdf_pages(GRID / "headgrid.pdf")
    [table] = page_to_tables(pages[0])
    assert table.report.method == "borderless"
    body = [[c.text for c in r.cells] for r in table.rows if r.kind == "body"]
    assert [r[0] for r in body] == ["1", "2", "3", "4"]
    assert body[3][3:6] == ["1 305 721 €", "652 860 €", "652 861 €"]


def _ruled_page(rows: list[list[str]], merged: set[int]) -> Page:
    """A ruled grid of 4 columns, 100 pt wide each; rows in `merged` are one cell across the width."""
    words: list[Word] = []
    rulings = []
    for k, cells in enumerate(rows):
        y = 100 + 20 * k
        rulings.append(Ruling(orientation="h", x0=40, x1=440, top=y, bottom=y))
        for i, text in enumerate(cells):
            if text:
                words += _words(text, 44 + 100 * i, y + 6)
        for x in (140, 240, 340):
            if k not in merged:
                rulings.append(Ruling(orientation="v", x0=x, x1=x, top=y, bottom=y + 20))
    bottom = 100 + 20 * len(rows)
    rulings.append(Ruling(orientation="h", x0=40, x1=440, top=bottom, bottom=bottom))
    rulings += [Ruling(orientation="v", x0=x, x1=x, top=100, bottom=bottom) for x in (40, 440)]
    return _page(words, rulings)


def test_title_and_note_rows_inside_a_ruled_grid_are_set_apart() -> None:
    page = _ruled_page(
        [
            ["Annexe 2 - Plan d'actions 2025 (en euros)", "", "", ""],
            ["Pilote", "Action", "Coût total", "Cofinancement"],
            ["CCAS", "Accueil", "1 000", "500"],
            ["SIAO", "Veille", "2 000", "800"],
            ["Source : tableau de suivi du comité", "", "", ""],
        ],
        merged={0, 4},
    )
    [table] = page_to_tables(page)
    assert [c.text for c in table.header] == ["Pilote", "Action", "Coût total", "Cofinancement"]
    assert [[c.text for c in r.cells][:2] for r in table.rows if r.kind == "body"] == [
        ["CCAS", "Accueil"],
        ["SIAO", "Veille"],
    ]
    assert "Annexe 2" in table.title
    assert any("titre" in n for n in table.report.notes) and any("note" in n for n in table.report.notes)
