"""An OUT_DIR as typed DataFrames: exact amounts, nullable integers, categories, lists of pilots."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args

import pandas as pd
import pyarrow as pa

from export.contract import ACTION_COLUMNS, DECLARED_COLUMNS, DOCUMENT_COLUMNS, FLAG_COLUMNS
from export.synthese import SYNTHESE_COLUMNS
from models.convention import DocType, Evolution, Role, Statut
from models.flags import FlagCode
from models.table import Nature

AMOUNT = pd.ArrowDtype(pa.decimal128(18, 2))
"""The dtype of every amount column: euros and cents, exact (sums are Decimal)."""

_CENT = Decimal("0.01")
AMOUNT_COLUMNS = frozenset(
    {"cout_total", "financement_ami", "cofinancement", "montant", "soutien_etat_declare", "ecart_soutien"}
)
INTEGER_COLUMNS = frozenset(
    {"ligne", "page", "pages", "annee_debut", "annee_fin", "actions", "erreurs", "alertes", "infos"}
)
RUN_COLUMNS = ["fichier", "statut", "erreur", "territoire", "pages", "secondes"]
# Known codes first; a value outside them (a newer pipeline's code) is appended, never dropped.
CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = {
    "actions": {
        "statut": get_args(Statut),
        "evolution_financement": get_args(Evolution),
        "nature_financement_ami": get_args(Nature),
    },
    "documents": {"type_document": get_args(DocType)},
    "montants_declares": {"role": get_args(Role)},
    "flags": {"code": get_args(FlagCode), "gravite": ("info", "alerte", "erreur")},
    "run": {"statut": ("ok", "erreur")},
    "synthese": {"type_document": get_args(DocType)},
}
ORDERED = frozenset({("flags", "gravite")})  # so that `flags.gravite >= "alerte"` works


class OutputError(ValueError):
    """A file of OUT_DIR that does not follow the output contract."""


def _amount(value: str) -> Decimal | None:
    if value == "":
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"« {value} » n'est pas un montant") from None
    if not d.is_finite() or d != d.quantize(_CENT):
        raise ValueError(f"« {value} » n'est pas un montant en euros et centimes")
    return d


def _integer(value: str) -> int | None:
    return None if value == "" else int(value)


def _boolean(value: str) -> bool | None:
    if value == "":
        return None
    if value not in ("true", "false"):
        raise ValueError(f"« {value} » n'est ni true ni false")
    return value == "true"


def _typed(table: str, name: str, values: list[str]) -> Any:
    """One column given as strings ("" when absent) as its typed array."""
    categories = CATEGORIES.get(table, {}).get(name)
    if name in AMOUNT_COLUMNS:
        return pd.arrays.ArrowExtensionArray(pa.array([_amount(v) for v in values], type=AMOUNT.pyarrow_dtype))
    if name in INTEGER_COLUMNS:
        return pd.array([_integer(v) for v in values], dtype="Int64")
    if categories is not None:
        known = [c for c in categories if c]
        extra = sorted({v for v in values if v and v not in known})
        cells = [v or None for v in values]
        return pd.Categorical(cells, categories=known + extra, ordered=(table, name) in ORDERED)
    if name == "pilotes":
        return pd.array([v.split(";") if v else [] for v in values], dtype=object)
    if name == "ocr":
        return pd.array([_boolean(v) for v in values], dtype="boolean")
    if name == "date_signature":
        return pd.to_datetime(pd.Series([v or None for v in values], dtype=object), format="ISO8601").array
    if name == "secondes":
        return pd.array([float(v) if v else None for v in values], dtype="Float64")
    return pd.array([v or None for v in values], dtype="string")


def typed_frame(table: str, raw: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A frame of strings as typed columns; `columns` when `raw` has none (no file read)."""
    names = list(raw.columns) if len(raw.columns) else columns
    data: dict[str, Any] = {}
    for name in names:
        values = [] if name not in raw.columns else raw[name].fillna("").astype(str).tolist()
        try:
            data[name] = _typed(table, name, values)
        except ValueError as e:
            raise OutputError(f"{table} : colonne {name} illisible : {e}") from None
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(raw)))


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f.columns)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _by_territory(out: Path, name: str) -> pd.DataFrame:
    """A per-territory CSV of every folder, with the `territoire` of its file's documents.csv row in front."""
    frames = []
    for folder in sorted(p for p in (out / "territories").glob("*") if p.is_dir()):
        if not (folder / name).exists():
            continue
        frame = _csv(folder / name)
        docs = _csv(folder / "documents.csv") if (folder / "documents.csv").exists() else pd.DataFrame()
        names: dict[str, str] = {}
        if {"fichier", "territoire"} <= set(docs.columns):
            names = dict(zip(docs["fichier"], docs["territoire"], strict=True))
        fichiers: Iterable[str] = frame["fichier"] if "fichier" in frame.columns else [""] * len(frame)
        # a document whose territory was not read is filed under its folder, as in the workbooks
        frame.insert(0, "territoire", [names.get(f) or folder.name for f in fichiers])
        frames.append(frame)
    return _concat(frames)


def _documents(out: Path) -> pd.DataFrame:
    return _concat(_csv(p) for p in sorted((out / "territories").glob("*/documents.csv")))


def _run(out: Path) -> pd.DataFrame:
    entries: list[dict[str, Any]] = json.loads((out / "run.json").read_text(encoding="utf-8"))
    rows = [{k: "" if v is None else str(v) for k, v in e.items()} for e in entries]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(k for r in rows for k in r)) or None)


@dataclass(frozen=True, eq=False)
class Results:
    """One OUT_DIR as DataFrames; `synthese` is None when the run wrote no synthese.csv."""

    out: Path
    actions: pd.DataFrame
    documents: pd.DataFrame
    montants_declares: pd.DataFrame
    flags: pd.DataFrame
    run: pd.DataFrame
    synthese: pd.DataFrame | None = None

    def __repr__(self) -> str:
        g = self.flags["gravite"].value_counts()
        return (
            f"Results({self.out} : {len(self.documents)} documents, {len(self.actions)} actions, "
            f"contrôles {g.get('erreur', 0)} erreur(s) / {g.get('alerte', 0)} alerte(s) / {g.get('info', 0)} info(s))"
        )


_READERS: list[tuple[str, Callable[[Path], pd.DataFrame], list[str]]] = [
    ("actions", lambda out: _by_territory(out, "actions.csv"), ["territoire", *ACTION_COLUMNS]),
    ("documents", _documents, DOCUMENT_COLUMNS),
    ("montants_declares", lambda out: _by_territory(out, "montants_declares.csv"), ["territoire", *DECLARED_COLUMNS]),
    ("flags", lambda out: _csv(out / "flags.csv") if (out / "flags.csv").exists() else pd.DataFrame(), FLAG_COLUMNS),
    ("run", _run, RUN_COLUMNS),
]


def read(out_dir: str | Path) -> Results:
    """The contract files of an OUT_DIR written by `lda-conventions run` (or `lda.run`) as typed DataFrames."""
    out = Path(out_dir)
    if not (out / "run.json").is_file():
        raise FileNotFoundError(f"{out} n'est pas un dossier de résultats : run.json absent")
    frames = {table: typed_frame(table, reader(out), columns) for table, reader, columns in _READERS}
    synthese = None
    if (out / "synthese.csv").is_file():
        synthese = typed_frame("synthese", _csv(out / "synthese.csv"), SYNTHESE_COLUMNS)
    return Results(out=out, synthese=synthese, **frames)
