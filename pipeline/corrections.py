"""Analysts' corrections (INPUT_DIR/corrections.csv) applied on top of the cached extraction, before the checks."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from models import Amount, Convention, Flag
from models.convention import DocType, Evolution, Statut
from models.table import Nature
from normalize.amounts import format_amount, parse_amount, plain
from normalize.text import fold

if TYPE_CHECKING:
    from pipeline.batch import DocumentResult

CORRECTIONS_FILE = "corrections.csv"
COLUMNS = ("fichier", "annexe", "ligne", "champ", "valeur", "motif")
REQUIRED = ("fichier", "champ", "valeur")

ACTION_AMOUNTS = ("cout_total", "financement_ami", "cofinancement")
ACTION_TEXTS = (
    "numero",
    "pilote_brut",
    "action",
    "objectif",
    "description",
    "indicateurs",
    "statut_brut",
    "periode_financement",
    "sources_cofinancement",
    "commentaire",
)
ACTION_CHOICES: dict[str, tuple[str, ...]] = {
    "statut": get_args(Statut),
    "evolution_financement": get_args(Evolution),
    "nature_financement_ami": get_args(Nature),
}
ACTION_FIELDS = (*ACTION_AMOUNTS, *ACTION_TEXTS, *ACTION_CHOICES, "pilotes")
DOCUMENT_TEXTS = ("titre", "siret", "iban", "lieu_signature")
DOCUMENT_FIELDS = (*DOCUMENT_TEXTS, "type_document", "annee_debut", "annee_fin", "date_signature", "territoire")
FIXED = ("fichier", "annexe", "ligne", "page", "sha256", "pages", "ocr")  # identities, never corrected


class CorrectionError(ValueError):
    """A correction that cannot be applied; the message (French) says why."""


@dataclass(frozen=True)
class Correction:
    """One line of corrections.csv; `numero` is its line number in the file (header = 1)."""

    fichier: str
    annexe: str
    ligne: str
    champ: str
    valeur: str
    motif: str
    numero: int

    def where(self) -> str:
        """`annexe 1, ligne 9, cout_total` for messages."""
        parts = [f"annexe {self.annexe}"] if self.annexe else []
        parts += [f"ligne {self.ligne}"] if self.ligne else []
        return ", ".join([*parts, f"champ « {self.champ} »"])


def _decode(data: bytes) -> str:
    """UTF-8 with or without BOM; French Excel's « CSV (séparateur : point-virgule) » may save Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """`;` or `,`: the one that splits the header line into the most known columns."""
    header = text.splitlines()[0] if text.strip() else ""
    scores = {d: sum(fold(h).strip() in COLUMNS for h in header.split(d)) for d in ";,"}
    return max(";,", key=lambda d: (scores[d], header.count(d)))


def _problem(fichier: str, message: str, trouve: str = "") -> Flag:
    return Flag(
        fichier=fichier,
        code="CORRECTION_NOT_APPLIED",
        gravite="alerte",
        trouve=trouve,
        message=f"Correction non appliquée : {message}",
    )


def read_corrections(path: Path) -> tuple[list[Correction], list[Flag]]:
    """The corrections of a file, and a flag for the file itself when it cannot be read."""
    try:
        text = _decode(path.read_bytes())
    except OSError as e:
        return [], [_problem(path.name, f"fichier de corrections illisible ({e.strerror or type(e).__name__})")]
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        return [], []
    header = [fold(h).strip() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [
            _problem(
                path.name,
                f"colonne(s) {', '.join(missing)} absente(s) de l'en-tête de {path.name} "
                f"(attendu : {';'.join(COLUMNS)})",
                trouve=delimiter.join(rows[0]),
            )
        ]
    index = {name: header.index(name) for name in COLUMNS if name in header}
    out = []
    for n, row in enumerate(rows[1:], start=2):
        cell = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        if not any(cell.values()) or not cell.get("valeur"):
            continue  # a blank line, or a template line left unfilled
        out.append(
            Correction(
                fichier=cell.get("fichier", "").replace("\\", "/"),
                annexe=cell.get("annexe", ""),
                ligne=cell.get("ligne", ""),
                champ=fold(cell.get("champ", "")).strip().replace(" ", "_"),
                valeur=cell["valeur"],
                motif=cell.get("motif", ""),
                numero=n,
            )
        )
    return out, []


# --- applying one correction -----------------------------------------------------------------------------------------


def _iso_date(text: str) -> str:
    """`2024-03-15`, `15/03/2024` or `15.03.2024` as ISO 8601."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if m is None:
            raise CorrectionError(f"« {text} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ)")
        d, mo, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        raise CorrectionError(f"« {text} » n'est pas une date valide") from None


def _choice(champ: str, text: str, allowed: tuple[str, ...]) -> str:
    value = fold(text).strip().replace(" ", "_").replace("-", "_")
    if value not in allowed:
        shown = ", ".join(a for a in allowed if a)
        raise CorrectionError(f"« {text} » n'est pas une valeur de {champ} ({shown})")
    return value


def _amount(text: str) -> Amount:
    a = parse_amount(text)
    if a.unreadable:
        raise CorrectionError(f"« {text} » n'est pas un montant")
    return a


def _shown(value: object) -> str:
    """A value as it appears in the outputs (amounts as plain decimals, lists `;`-joined)."""
    if isinstance(value, Amount):
        return value.raw if value.unreadable else plain(value.value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else str(value)


def _apply_to_line(c: Convention, k: Correction) -> tuple[str, str, int | None, int | None]:
    """Set an action row's field; returns (extracted, corrected, page, row number)."""
    if k.champ not in ACTION_FIELDS:
        raise CorrectionError(f"« {k.champ} » n'est pas une colonne corrigeable de actions.csv")
    annex = next((a for a in c.annexes if a.annexe == k.annexe), None)
    if annex is None:
        known = ", ".join(a.annexe for a in c.annexes) or "aucune"
        raise CorrectionError(f"le document n'a pas d'annexe « {k.annexe} » lue (annexes lues : {known})")
    if not k.ligne.isdigit():
        raise CorrectionError(f"ligne « {k.ligne} » : un numéro de ligne est attendu")
    line = next((ln for ln in annex.lines if ln.ligne == int(k.ligne)), None)
    if line is None:
        raise CorrectionError(f"l'annexe {k.annexe} n'a pas de ligne {k.ligne} (lignes 1 à {len(annex.lines)})")
    before = getattr(line, k.champ)
    new: object
    if k.champ in ACTION_AMOUNTS:
        a = _amount(k.valeur)
        old: Amount | None = before
        if old is not None and not a.sources:
            a.sources = old.sources
        new = a
    elif k.champ in ACTION_CHOICES:
        new = _choice(k.champ, k.valeur, ACTION_CHOICES[k.champ])
    elif k.champ == "pilotes":
        new = [p.strip() for p in k.valeur.split(";") if p.strip()]
    else:
        new = k.valeur
    setattr(line, k.champ, new)
    return _shown(before), _shown(new), line.page, line.ligne


def _apply_to_document(c: Convention, k: Correction) -> tuple[str, str]:
    """Set a documents.csv field; returns (extracted, corrected)."""
    f = c.fields
    if k.champ not in DOCUMENT_FIELDS:
        raise CorrectionError(f"« {k.champ} » n'est pas une colonne corrigeable de documents.csv")
    new: object
    if k.champ == "territoire":
        before: object = c.parties.territoire
        c.parties.territoire = k.valeur
        return _shown(before), k.valeur
    before = getattr(f, k.champ)
    if k.champ in ("annee_debut", "annee_fin"):
        if not re.fullmatch(r"(19|20)\d\d", k.valeur):
            raise CorrectionError(f"« {k.valeur} » n'est pas une année")
        new = int(k.valeur)
    elif k.champ == "type_document":
        new = _choice(k.champ, k.valeur, get_args(DocType))
    elif k.champ == "date_signature":
        new = _iso_date(k.valeur)
    elif k.champ in ("siret", "iban"):
        new = re.sub(r"\s", "", k.valeur).upper()
    else:
        new = k.valeur
    setattr(f, k.champ, new)
    # a blank the analyst has filled is no longer missing
    f.placeholders = [p for p in f.placeholders if p.champ != k.champ]
    return _shown(before), _shown(new)


def apply_corrections(convention: Convention, corrections: list[Correction]) -> tuple[Convention, list[Flag]]:
    """A corrected copy of `convention` and one CORRECTION_APPLIED / CORRECTION_NOT_APPLIED flag per correction."""
    c = convention.model_copy(deep=True)
    c.page_texts = list(convention.page_texts)
    flags = []
    for k in corrections:
        reason = f" — motif : « {k.motif} »" if k.motif else " — motif non renseigné"
        page: int | None = None
        ligne: int | None = None
        try:
            if k.champ in FIXED:
                raise CorrectionError(f"« {k.champ} » identifie la ligne et ne se corrige pas")
            if k.annexe or k.ligne:
                trouve, attendu, page, ligne = _apply_to_line(c, k)
            else:
                trouve, attendu = _apply_to_document(c, k)
        except CorrectionError as e:
            flags.append(
                Flag(
                    fichier=c.fichier,
                    code="CORRECTION_NOT_APPLIED",
                    gravite="alerte",
                    annexe=k.annexe,
                    ligne=int(k.ligne) if k.ligne.isdigit() else None,
                    trouve=k.valeur,
                    champ=k.champ,
                    message=f"Correction non appliquée (corrections.csv, ligne {k.numero}, {k.where()}) : {e}",
                )
            )
            continue
        shown = attendu
        if k.champ in ACTION_AMOUNTS:
            shown = format_amount(_amount(k.valeur).value) or "absent"
        flags.append(
            Flag(
                fichier=c.fichier,
                code="CORRECTION_APPLIED",
                gravite="info",
                page=page,
                annexe=k.annexe,
                ligne=ligne,
                attendu=attendu,
                trouve=trouve,
                champ=k.champ,
                message=f"Valeur corrigée par l'analyste ({k.where()}) : « {trouve or '—'} » remplacé par "
                f"« {shown} »{reason}",
            )
        )
    for f in flags:
        f.territoire = c.parties.territoire
    return c, flags


# --- a batch's results -----------------------------------------------------------------------------------------------


def _without(flags: list[Flag], removed: list[Flag]) -> list[Flag]:
    """`flags` minus one occurrence of each of `removed`."""
    left = Counter(f.model_dump_json() for f in removed)
    out = []
    for f in flags:
        key = f.model_dump_json()
        if left[key]:
            left[key] -= 1
        else:
            out.append(f)
    return out


def _resolve(fichier: str, known: list[str]) -> str | None:
    """The output `fichier` a correction names: exact, else the only file with that last part."""
    if fichier in known:
        return fichier
    name = fichier.rsplit("/", 1)[-1]
    same = [k for k in known if k.rsplit("/", 1)[-1] == name]
    return same[0] if len(same) == 1 else None


def correct_results(
    results: list[DocumentResult], corrections: list[Correction]
) -> tuple[list[DocumentResult], list[Flag]]:
    """Results with their corrections applied and their checks re-run; flags for corrections naming no document.

    Only corrected documents are touched: their check flags (recomputed on the extraction) are replaced by the
    checks of the corrected model, other flags (extraction, repair) kept.
    """
    from reconcile import convention_to_flags

    by_file: dict[str, list[Correction]] = {}
    orphans: list[Flag] = []
    readable = [r.entry.fichier for r in results if r.convention is not None]
    every = [r.entry.fichier for r in results]
    for k in corrections:
        target = _resolve(k.fichier, readable)
        if target is None:
            why = (
                "le fichier n'a pas pu être lu"
                if _resolve(k.fichier, every)
                else "aucun document de ce nom dans le dossier traité"
            )
            orphans.append(
                _problem(k.fichier or "(fichier vide)", f"corrections.csv, ligne {k.numero} : {why}", trouve=k.valeur)
            )
            continue
        by_file.setdefault(target, []).append(k)
    out = []
    for r in results:
        todo = by_file.get(r.entry.fichier)
        if not todo or r.convention is None:
            out.append(r)
            continue
        corrected, applied = apply_corrections(r.convention, todo)
        checks = convention_to_flags(corrected)
        for f in checks:
            f.territoire = corrected.parties.territoire
        kept = _without(r.flags, convention_to_flags(r.convention))
        out.append(r.model_copy(update={"convention": corrected, "flags": [*kept, *checks, *applied]}))
    return out, orphans


# --- the template ------------------------------------------------------------------------------------------------

_CHAMP_OF_CODE = {"INVALID_SIRET": "siret", "INVALID_IBAN": "iban"}


def template_csv(flag_rows: list[dict[str, str]]) -> bytes:
    """A corrections.csv to fill from flags.csv rows: one line per `erreur`/`alerte`, `valeur` empty, for Excel.

    The flag's code, expected and found values and message follow the contract columns, for reference.
    """
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([*COLUMNS, "controle", "attendu", "trouve", "message"])
    for f in flag_rows:
        code = f.get("code", "")
        if f.get("gravite") not in ("erreur", "alerte") or code in ("EXTRACTION_FAILED", "CORRECTION_NOT_APPLIED"):
            continue
        champ = _CHAMP_OF_CODE.get(code, "")
        row = [f.get("fichier", ""), f.get("annexe", ""), f.get("ligne", ""), champ, "", ""]
        w.writerow([*row, code, f.get("attendu", ""), f.get("trouve", ""), f.get("message", "")])
    return buf.getvalue().encode("utf-8-sig")


def run_corrections(
    input_dir: Path, explicit: Path | None, results: list[DocumentResult]
) -> tuple[list[DocumentResult], list[Flag]]:
    """The corrections of a run (`explicit`, else INPUT_DIR/corrections.csv when present) applied to its results."""
    path = explicit or input_dir / CORRECTIONS_FILE
    if explicit is None and not path.is_file():
        return results, []
    corrections, problems = read_corrections(path)
    corrected, orphans = correct_results(results, corrections)
    return corrected, [*problems, *orphans]
