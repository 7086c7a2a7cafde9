"""The records every later stage reads: amounts, action lines, annexes, conventions."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from models.provenance import Provenance
from models.table import ColumnMapping, Nature, ParsingReport

SCHEMA_VERSION = "1.0"

AmountField = Literal["cout_total", "financement_ami", "cofinancement"]
AMOUNT_FIELDS: tuple[AmountField, ...] = ("cout_total", "financement_ami", "cofinancement")
Statut = Literal["a_lancer", "en_cours", "modifiee", "realisee", "abandonnee", ""]
Evolution = Literal["nouveau", "renouvellement", "augmentation", ""]

DocType = Literal["convention", "avenant", "partenariat", "autre"]
Role = Literal[
    "soutien_etat",
    "soutien_etat_max",
    "cout_eligible",
    "reliquat",
    "total_annexe",
    "participation_annuelle",
    "autre",
]


class Amount(BaseModel):
    """A parsed amount with its raw text; `value` is None when absent or unreadable."""

    raw: str
    value: Decimal | None = None
    absent: bool = False
    sources: str = ""
    note: str = ""
    repairs: list[str] = []
    min_conf: float | None = None

    @property
    def unreadable(self) -> bool:
        return self.value is None and not self.absent


class ActionLine(BaseModel):
    """One action row of an annex table."""

    annexe: str
    ligne: int
    page: int
    numero: str = ""
    pilote_brut: str = ""
    pilotes: list[str] = []
    action: str = ""
    objectif: str = ""
    description: str = ""
    indicateurs: str = ""
    statut_brut: str = ""
    statut: Statut = ""
    evolution_financement: Evolution = ""
    cout_total: Amount | None = None
    financement_ami: Amount | None = None
    nature_financement_ami: Nature = ""
    periode_financement: str = ""
    cofinancement: Amount | None = None
    sources_cofinancement: str = ""
    commentaire: str = ""
    provenance: Provenance
    cells: dict[str, Provenance] = {}

    def amount(self, name: AmountField) -> Decimal | None:
        a: Amount | None = getattr(self, name)
        return None if a is None else a.value


class TotalRow(BaseModel):
    """A row that totals (or states a remainder for) the rows above it."""

    label: str
    role: Literal["total_annexe", "reliquat"]
    amounts: dict[str, Amount]
    provenance: Provenance


class Annex(BaseModel):
    """An annex table assembled across its pages."""

    annexe: str
    title: str = ""
    pages: list[int]
    columns: list[ColumnMapping]
    lines: list[ActionLine]
    totals: list[TotalRow] = []
    lists_actions: bool = True
    reports: list[ParsingReport] = []

    def has_column(self, name: str) -> bool:
        return any(c.field == name for c in self.columns)

    def column(self, name: str) -> ColumnMapping | None:
        return next((c for c in self.columns if c.field == name), None)


class DeclaredAmount(BaseModel):
    """An amount the articles (or a total row) declare, with its role and sentence."""

    role: Role
    montant: Decimal
    periode: str = ""
    extrait: str
    page: int
    annexe: str = ""
    column: str = ""
    provenance: Provenance


class Parties(BaseModel):
    """Who signs: the territory's body (EPCI or department), its acronym, the cities it names."""

    territoire: str = ""
    aliases: list[str] = []
    kind: Literal["epci", "departement", "autre"] = "epci"
    acronyms: list[str] = []
    cities: list[str] = []
    main_city: str = ""


class PlaceholderField(BaseModel):
    """A field printed blank or as a placeholder ('le :', 'n° du ....')."""

    champ: str
    trouve: str
    page: int


class DocumentFields(BaseModel):
    """The document-level fields of documents.csv."""

    type_document: DocType = "autre"
    titre: str = ""
    annee_debut: int | None = None
    annee_fin: int | None = None
    territoire: str = ""
    siret: str = ""
    siret_page: int | None = None
    iban: str = ""
    iban_page: int | None = None
    lieu_signature: str = ""
    date_signature: str = ""
    placeholders: list[PlaceholderField] = []


class Convention(BaseModel):
    """Everything read from one input document."""

    schema_version: str = SCHEMA_VERSION
    fichier: str
    sha256: str
    pages: int
    ocr: bool = False
    ocr_pages: list[int] = []
    fields: DocumentFields
    parties: Parties
    annexes: list[Annex] = []
    declared: list[DeclaredAmount] = []
    page_texts: list[str] = Field(default=[], exclude=True)
