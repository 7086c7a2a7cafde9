"""The borderless extractor on pages built word by word: layouts the corpus does not have."""

from __future__ import annotations

from decimal import Decimal

from extract.annexes import tables_to_annexes
from extract.tables import page_to_tables
from models import Page, Parties, Ruling, Word
from normalize.actions import raw_to_annex

H = 8.0  # font height in points


def _words(text: str, x: float, y: float, bold: bool = False) -> list[Word]:
    """Words of `text` laid left to right from (x, y), about 4.4 pt per character."""
    out, cx = [], x
    for token in text.split(" "):
        w = len(token) * 4.4
        out.append(Word(text=token, x0=cx, x1=cx + w, top=y, bottom=y + H, bold=bold))
        cx += w + 2.2
    return out


def _right(text: str, right: float, y: float) -> list[Word]:
    width = sum(len(t) * 4.4 for t in text.split(" ")) + 2.2 * (text.count(" "))
    return _words(text, right - width, y)


def _table(top: float, title: str, rows: list[tuple[str, str, str, str]]) -> list[Word]:
    w = _words(title, 40, top, bold=True)
    y = top + 20
    # a parent label over two amount columns, sub-headers below it
    w += _words("Pilote", 40, y, True) + _words("Action", 120, y, True) + _words("Financements", 330, y, True)
    w += _words("AMI 2024", 330, y + 10, True) + _words("Cofinancement", 420, y + 10, True)
    y += 32
    for pilot, action, ami, cof in rows:
        w += _words(pilot, 40, y) + _words(action, 120, y) + _right(ami, 400, y) + _right(cof, 490, y)
        y += 22
    return w


def _page(words: list[Word], rulings: list[Ruling] | None = None) -> Page:
    return Page(number=1, width=595, height=842, words=words, rulings=rulings or [])


def test_parent_header_does_not_merge_its_sub_columns() -> None:
    words = _table(
        60,
        "Annexe 1 – Plan d'actions",
        [
            ("DDETS", "Former les intervenants", "12 000 €", "3 000 €"),
            ("SIAO", "Observer les besoins", "1 305 720 €", "-"),
        ],
    )
    tables = page_to_tables(_page(words))
    assert len(tables) == 1
    t = tables[0]
    assert t.report.method == "borderless"
    headers = [c.text for c in t.header]
    assert len(headers) == 4, headers
    assert headers[2].startswith("Financements AMI") and "Cofinancement" in headers[3]
    body = [r for r in t.rows if r.kind == "body"]
    assert [c.text for c in body[1].cells] == ["SIAO", "Observer les besoins", "1 305 720 €", "-"]


def test_two_borderless_tables_on_one_page() -> None:
    words = _table(60, "Annexe 1 – Actions financées", [("DDETS", "Former les intervenants", "12 000 €", "3 000 €")])
    words += _table(
        300,
        "Annexe 2 – Autres actions",
        [("CD", "Prévenir les expulsions", "5 000 €", "-"), ("SIAO", "Observer les besoins", "7 000 €", "1 000 €")],
    )
    tables = page_to_tables(_page(words))
    assert len(tables) == 2
    annexes = tables_to_annexes(tables)
    assert [a.annexe for a in annexes] == ["1", "2"]
    parties = Parties(territoire="Métropole de Nulle-Part")
    second = raw_to_annex(annexes[1], parties, "x.pdf", "0", set())
    assert [ln.financement_ami.value if ln.financement_ami else None for ln in second.lines] == [
        Decimal("5000"),
        Decimal("7000"),
    ]
    assert second.lines[0].pilotes == ["CD"]


def test_a_page_of_prose_has_no_table() -> None:
    words = []
    for i, line in enumerate(
        [
            "Les actions et les objectifs du plan sont suivis par des indicateurs",
            "de résultat ; le financement de l'action est décrit à l'article 2.",
        ]
    ):
        words += _words(line, 40, 60 + 12 * i)
    assert page_to_tables(_page(words)) == []


def test_ruled_grid_wins_over_layout() -> None:
    words = _table(60, "Annexe 1 – Plan", [("DDETS", "Former les intervenants", "12 000 €", "3 000 €")])
    xs, ys = [38, 118, 328, 410, 495], [78, 112, 134]
    rulings = [Ruling(orientation="v", x0=x, x1=x, top=ys[0], bottom=ys[-1]) for x in xs]
    rulings += [Ruling(orientation="h", x0=xs[0], x1=xs[-1], top=y, bottom=y) for y in ys]
    tables = page_to_tables(_page(words, rulings))
    assert [t.report.method for t in tables] == ["ruled"]
    assert [c.text for c in tables[0].rows[-1].cells] == ["DDETS", "Former les intervenants", "12 000 €", "3 000 €"]
