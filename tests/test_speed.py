"""What the table stage's caches and pre-filters must keep: the same answers, never shared mutable ones."""

from __future__ import annotations

from normalize.columns import _label_tokens, field_scores, header_hits
from normalize.lexique import builtin_lexique


def test_every_label_wording_is_found_in_its_own_text() -> None:
    """The first-letter pre-filter skips no wording that the text holds whole (abbreviations included)."""
    missed = [
        (fld, wording)
        for fld, wordings in builtin_lexique().libelles.items()
        for wording in wordings
        if _label_tokens()[fld] and fld not in header_hits(wording)
    ]
    assert missed == []


def test_cached_scores_are_fresh_dicts() -> None:
    """A caller that changes the answer it got does not change the next caller's."""
    first = field_scores("Coût total")
    assert first and "cout_total" in first
    first.clear()
    assert field_scores("Coût total") and "cout_total" in header_hits("Coût total")
    header_hits("Coût total").clear()
    assert header_hits("Coût total") == {"cout_total"}


def test_labels_inside_longer_text_and_prose() -> None:
    """A wording among other words is still found; prose of other letters is not a label."""
    assert "financement_ami" in header_hits("Financement AMI 2024")
    assert header_hits("Montant (€) Coût total de l'action") >= {"cout_total"}
    assert not header_hits("Commune de Dijon")
