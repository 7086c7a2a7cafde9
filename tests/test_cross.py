"""An avenant's restatement of earlier State support against the convention it amends."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Convention
from reconcile.cross import base_convention, conventions_to_flags
from tests.conftest import FIXTURES, convention_of
from tests.test_reconcile import annex, convention, declared, line, total

RESTATED = "Au titre de l'année 2023, le soutien de l'État aux actions développées par la Métropole était de {} €."


def _pair(restated: str, *, annex_total: str = "479 000 €", article: str | None = "479000") -> list[Convention]:
    base = convention(
        [annex([line(1, ami="479 000 €")], [total("TOTAUX", financement_ami=annex_total)], periode="2023")],
        [declared("soutien_etat_max", article, "2023")] if article else [],
        fichier="Ville/CPO_2023-2025.pdf",
        years=(2023, 2025),
    )
    avenant = convention(
        [annex([line(1, ami="200 000 €")], periode="2024-2025")],
        [
            declared("soutien_etat", restated, "2023", RESTATED.format(restated)),
            declared("soutien_etat", "200000", "2024-2025"),
        ],
        fichier="Ville/Avenant_2024.pdf",
        type_document="avenant",
        years=(2024, 2025),
    )
    return [avenant, base]


def test_restatement_differing_from_the_convention_is_flagged_on_the_avenant() -> None:
    flags = conventions_to_flags(_pair("497000"))
    assert [(f.fichier, f.code, f.attendu, f.trouve, f.page) for f in flags] == [
        ("Ville/Avenant_2024.pdf", "DECLARED_VS_ANNEX", "479000", "497000", 2)
    ]
    assert "Ville/CPO_2023-2025.pdf" in flags[0].message and flags[0].gravite == "alerte"


def test_restatement_equal_to_the_convention_is_silent() -> None:
    assert conventions_to_flags(_pair("479000")) == []


def test_restatement_checked_against_the_annex_when_the_articles_say_nothing() -> None:
    # the convention's total row carries a typo; the rows add up to what the avenant restates
    assert conventions_to_flags(_pair("479000", annex_total="497 000 €", article=None)) == []
    flags = conventions_to_flags(_pair("470000", annex_total="479 000 €", article=None))
    assert [(f.attendu, f.trouve) for f in flags] == [("479000", "470000")]


def test_no_link_across_territories_or_without_a_convention() -> None:
    avenant, base = _pair("497000")
    other = base.model_copy(update={"parties": base.parties.model_copy(update={"territoire": "Métropole d'Ailleurs"})})
    assert base_convention(avenant, [avenant, other]) is None
    assert conventions_to_flags([avenant, other]) == conventions_to_flags([avenant]) == []
    assert base_convention(avenant, [avenant, base]) is base


def test_the_avenants_own_year_is_not_a_restatement() -> None:
    avenant, base = _pair("479000")
    avenant.declared[1] = declared("soutien_etat", "999999", "2024-2025")
    assert conventions_to_flags([avenant, base]) == []


AMP = [FIXTURES / "lattice" / "CPO_AMP_2023-2025.pdf", FIXTURES / "lattice" / "Avenant_CPO_AMP_2024-2025.pdf"]


@pytest.mark.skipif(not all(p.exists() for p in AMP), reason="AMP fixtures absent")
def test_real_avenant_linked_to_its_convention_and_consistent() -> None:
    cpo, avenant = (convention_of(p) for p in AMP)
    assert base_convention(avenant, [cpo, avenant]) is cpo
    assert conventions_to_flags([cpo, avenant]) == []
    # the avenant restates 479 000 € for 2023 twice; a convention declaring 497 000 € would disagree with both
    altered = cpo.model_copy(deep=True)
    for d in altered.declared:
        if d.role == "soutien_etat_max":
            d.montant = d.montant + 18000
    altered.annexes = []
    flags = conventions_to_flags([altered, avenant])
    assert [(f.fichier, f.attendu, f.trouve) for f in flags] == [(Path(AMP[1]).name, "497000", "479000")] * 2
