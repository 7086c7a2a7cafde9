"""Rows for the analyst exports (workbooks, Excel CSV, DuckDB, report): typed values, French labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from export.contract import (
    ACTION_COLUMNS,
    DECLARED_COLUMNS,
    DOCUMENT_COLUMNS,
    FLAG_COLUMNS,
    action_rows,
    declared_rows,
    document_row,
    territory_slug,
)
from export.paths import slugify
from models import Convention, Flag, RunEntry

AMOUNT_COLUMNS = frozenset({"cout_total", "financement_ami", "cofinancement", "montant"})
INTEGER_COLUMNS = frozenset({"ligne", "page", "annee_debut", "annee_fin", "pages"})

LABELS: dict[str, str] = {
    "territoire": "Territoire",
    "fichier": "Fichier",
    "annexe": "Annexe",
    "ligne": "Ligne",
    "page": "Page",
    "numero": "N°",
    "pilote_brut": "Pilote (texte)",
    "pilotes": "Pilotes",
    "action": "Action",
    "objectif": "Objectif",
    "description": "Description",
    "indicateurs": "Indicateurs",
    "statut_brut": "Statut (texte)",
    "statut": "Statut",
    "evolution_financement": "Évolution du financement",
    "cout_total": "Coût total",
    "financement_ami": "Financement AMI",
    "nature_financement_ami": "Nature du financement AMI",
    "periode_financement": "Période du financement",
    "cofinancement": "Cofinancement",
    "sources_cofinancement": "Sources du cofinancement",
    "commentaire": "Commentaire",
    "role": "Rôle",
    "montant": "Montant",
    "periode": "Période",
    "extrait": "Extrait",
    "code": "Contrôle",
    "gravite": "Gravité",
    "attendu": "Attendu",
    "trouve": "Trouvé",
    "message": "Message",
    "sha256": "Empreinte SHA-256",
    "type_document": "Type de document",
    "titre": "Titre",
    "annee_debut": "Année de début",
    "annee_fin": "Année de fin",
    "siret": "SIRET",
    "iban": "IBAN",
    "lieu_signature": "Lieu de signature",
    "date_signature": "Date de signature",
    "pages": "Pages",
    "ocr": "OCR",
}

ANALYST_ACTION_COLUMNS = ACTION_COLUMNS
ANALYST_DECLARED_COLUMNS = DECLARED_COLUMNS
ANALYST_FLAG_COLUMNS = [c for c in FLAG_COLUMNS if c != "territoire"]


def typed(column: str, value: object) -> object:
    """A contract cell as its analyst value: amounts as Decimal, counts as int, absent as None."""
    if value is None or value == "":
        return None
    if column in AMOUNT_COLUMNS:
        return Decimal(str(value))
    if column in INTEGER_COLUMNS and not isinstance(value, bool):
        try:
            return int(str(value))
        except ValueError:
            return str(value)
    return value


def _typed_rows(rows: Iterable[dict[str, object]], columns: list[str]) -> list[dict[str, object]]:
    return [{c: typed(c, r.get(c)) for c in columns} for r in rows]


@dataclass
class TerritoryRows:
    """Everything the analyst exports show for one territory."""

    slug: str
    name: str
    actions: list[dict[str, object]] = field(default_factory=list)
    declared: list[dict[str, object]] = field(default_factory=list)
    documents: list[dict[str, object]] = field(default_factory=list)
    flags: list[dict[str, object]] = field(default_factory=list)

    def total(self, column: str) -> Decimal | None:
        """Sum of an amount column over the territory's action rows, None when no row has that amount."""
        values = [v for r in self.actions if isinstance(v := r.get(column), Decimal)]
        return sum(values, Decimal(0)) if values else None


def flag_slug(flag: Flag, slug_of_file: dict[str, str]) -> str | None:
    """The territory folder a flag belongs to (by its file first, then by its territory), None when neither."""
    if flag.fichier in slug_of_file:
        return slug_of_file[flag.fichier]
    return slugify(flag.territoire) if flag.territoire else None


def territories(conventions: list[Convention], flags: list[Flag]) -> list[TerritoryRows]:
    """The analyst rows grouped by territory folder, in slug order, files sorted within."""
    out: dict[str, TerritoryRows] = {}
    slug_of_file = {c.fichier: territory_slug(c) for c in conventions}
    for c in sorted(conventions, key=lambda c: c.fichier):
        slug = slug_of_file[c.fichier]
        t = out.setdefault(slug, TerritoryRows(slug=slug, name=c.parties.territoire or slug))
        t.actions.extend(_typed_rows(action_rows(c), ACTION_COLUMNS))
        t.declared.extend(_typed_rows(declared_rows(c), DECLARED_COLUMNS))
        t.documents.extend(_typed_rows([document_row(c)], DOCUMENT_COLUMNS))
    for f in flags:
        fslug = flag_slug(f, slug_of_file)
        if fslug is None:
            continue
        t = out.setdefault(fslug, TerritoryRows(slug=fslug, name=f.territoire or fslug))
        t.flags.extend(_typed_rows([f.model_dump()], FLAG_COLUMNS))
    return [out[k] for k in sorted(out)]


def run_rows(entries: list[RunEntry]) -> list[dict[str, object]]:
    """run.json entries as rows, the file hash kept."""
    return [e.model_dump() for e in entries]
