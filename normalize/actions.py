"""Raw annex rows to typed action lines and total rows."""

from __future__ import annotations

import re

from models import ActionLine, Amount, Annex, Parties, Provenance, RawAnnex, RawLine, TotalRow
from normalize.amounts import parse_amount
from normalize.lexique import Lexique
from normalize.pilots import canonical_pilots
from normalize.statuses import evolution, statut
from normalize.text import join_lines

_TEXT_FIELDS = ("numero", "action", "objectif", "description", "indicateurs", "sources_cofinancement", "commentaire")
_AMOUNTS = ("cout_total", "financement_ami", "cofinancement")
_UNIT = re.compile(r"€|\beur(os?)?\b", re.IGNORECASE)


def _amount(line: RawLine, name: str, words: set[str], multiplier: int = 1) -> Amount | None:
    if name not in line.cells:
        return None
    text = join_lines(line.cells[name], words)
    if name in line.conf:  # an OCR'd cell: safe OCR repairs, the engine's confidence kept
        from normalize.ocr_repair import parse_ocr_amount

        amount = parse_ocr_amount(text, line.conf[name])
    else:
        amount = parse_amount(text)
    if multiplier != 1 and amount.value is not None and not _UNIT.search(amount.raw):
        # a bare number under a `(k€)` header: the header gives the unit
        unit = "k€" if multiplier == 1000 else "M€"
        note = "; ".join(n for n in (amount.note, f"en {unit} selon l'en-tête") if n)
        amount = amount.model_copy(update={"value": amount.value * multiplier, "note": note})
    return amount


def _provenance(line: RawLine, fichier: str, sha: str, raw: str, field: str | None = None) -> Provenance:
    box = line.boxes.get(field) if field else line.bbox
    return Provenance(file=fichier, sha256=sha, page=line.page, bbox=box, raw=raw, extractor="table")


def raw_to_annex(
    raw: RawAnnex, parties: Parties, fichier: str, sha: str, words: set[str], lexique: Lexique | None = None
) -> Annex:
    """One annex with its action lines (normalised) and total rows."""
    ami = next((c for c in raw.columns if c.field == "financement_ami"), None)
    multiplier = {c.field: c.multiplier for c in raw.columns if c.field}
    lines: list[ActionLine] = []
    totals: list[TotalRow] = []
    for rl in raw.lines:
        if rl.kind == "total":
            amounts = {
                n: a
                for n in _AMOUNTS
                if (a := _amount(rl, n, words, multiplier.get(n, 1))) is not None and a.value is not None
            }
            role = (
                "reliquat"
                if rl.label.casefold().lstrip().startswith(("reliquat", "dont reliquat", "solde"))
                else ("total_annexe")
            )
            totals.append(
                TotalRow(label=rl.label, role=role, amounts=amounts, provenance=_provenance(rl, fichier, sha, rl.label))
            )
            continue
        text = {f: join_lines(rl.cells.get(f, []), words) for f in (*_TEXT_FIELDS, "pilote", "statut")}
        amount = {n: _amount(rl, n, words, multiplier.get(n, 1)) for n in _AMOUNTS}
        cofin = amount["cofinancement"]
        sources = text["sources_cofinancement"]
        if not sources and cofin is not None and cofin.sources and not raw_has(raw, "sources_cofinancement"):
            sources = cofin.sources
        line = ActionLine(
            annexe=raw.annexe,
            ligne=len(lines) + 1,
            page=rl.page,
            numero=text["numero"],
            pilote_brut=text["pilote"],
            pilotes=canonical_pilots(text["pilote"], parties),
            action=text["action"],
            objectif=text["objectif"],
            description=text["description"],
            indicateurs=text["indicateurs"],
            statut_brut=text["statut"],
            statut=statut(text["statut"], lexique),
            evolution_financement=evolution(text["statut"], lexique),
            cout_total=amount["cout_total"],
            financement_ami=amount["financement_ami"],
            cofinancement=cofin,
            nature_financement_ami=ami.nature if ami else "",
            periode_financement=ami.periode if ami else "",
            sources_cofinancement=sources,
            commentaire=text["commentaire"],
            provenance=_provenance(rl, fichier, sha, ""),
            cells={f: _provenance(rl, fichier, sha, " / ".join(v), f) for f, v in rl.cells.items()},
        )
        lines.append(line)
    return Annex(
        annexe=raw.annexe,
        title=raw.title,
        pages=raw.pages,
        columns=raw.columns,
        lines=lines,
        totals=totals,
        lists_actions=raw.lists_actions,
        reports=raw.reports,
    )


def raw_has(raw: RawAnnex, field: str) -> bool:
    return any(c.field == field for c in raw.columns)
