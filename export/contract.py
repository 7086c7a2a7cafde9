"""The files of CONTRACT.md: actions, documents, declared amounts per territory; flags; run.json."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from export.paths import atomic_write, slugify
from models import Amount, Convention, Flag, RunEntry
from normalize.amounts import plain

ACTION_COLUMNS = [
    "fichier",
    "annexe",
    "ligne",
    "page",
    "numero",
    "pilote_brut",
    "pilotes",
    "action",
    "objectif",
    "description",
    "indicateurs",
    "statut_brut",
    "statut",
    "evolution_financement",
    "cout_total",
    "financement_ami",
    "nature_financement_ami",
    "periode_financement",
    "cofinancement",
    "sources_cofinancement",
    "commentaire",
]
DOCUMENT_COLUMNS = [
    "fichier",
    "sha256",
    "type_document",
    "titre",
    "annee_debut",
    "annee_fin",
    "territoire",
    "siret",
    "iban",
    "lieu_signature",
    "date_signature",
    "pages",
    "ocr",
]
DECLARED_COLUMNS = ["fichier", "page", "role", "montant", "periode", "extrait"]
FLAG_COLUMNS = ["territoire", "fichier", "code", "gravite", "page", "annexe", "ligne", "attendu", "trouve", "message"]


def _csv(columns: list[str], rows: Iterable[dict[str, object]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else v for k, v in r.items()})
    return buf.getvalue()


def _amount(a: Amount | None) -> str:
    return "" if a is None else plain(a.value)


def action_rows(c: Convention) -> list[dict[str, object]]:
    """actions.csv rows of one convention."""
    rows: list[dict[str, object]] = []
    for annex in c.annexes:
        for ln in annex.lines:
            row = ln.model_dump(exclude={"provenance", "cells", "cout_total", "financement_ami", "cofinancement"})
            row.update(
                fichier=c.fichier,
                pilotes=";".join(ln.pilotes),
                cout_total=_amount(ln.cout_total),
                financement_ami=_amount(ln.financement_ami),
                cofinancement=_amount(ln.cofinancement),
            )
            rows.append(row)
    return rows


def document_row(c: Convention) -> dict[str, object]:
    f = c.fields
    return {
        "fichier": c.fichier,
        "sha256": c.sha256,
        "type_document": f.type_document,
        "titre": f.titre,
        "annee_debut": f.annee_debut,
        "annee_fin": f.annee_fin,
        "territoire": c.parties.territoire,
        "siret": f.siret,
        "iban": f.iban,
        "lieu_signature": f.lieu_signature,
        "date_signature": f.date_signature,
        "pages": c.pages,
        "ocr": "true" if c.ocr else "false",
    }


def declared_rows(c: Convention) -> list[dict[str, object]]:
    return [
        {
            "fichier": c.fichier,
            "page": d.page,
            "role": d.role,
            "montant": plain(d.montant),
            "periode": d.periode,
            "extrait": d.extrait,
        }
        for d in c.declared
    ]


def territory_slug(c: Convention) -> str:
    return slugify(c.parties.territoire or Path(c.fichier).parent.name or Path(c.fichier).stem)


def write_contract(out: Path, conventions: list[Convention], flags: list[Flag], entries: list[RunEntry]) -> None:
    """Every file of CONTRACT.md under `out`, each written atomically."""
    by_territory: dict[str, list[Convention]] = defaultdict(list)
    for c in conventions:
        by_territory[territory_slug(c)].append(c)
    for slug, convs in sorted(by_territory.items()):
        convs.sort(key=lambda c: c.fichier)
        base = out / "territories" / slug
        atomic_write(base / "actions.csv", _csv(ACTION_COLUMNS, (r for c in convs for r in action_rows(c))))
        atomic_write(base / "documents.csv", _csv(DOCUMENT_COLUMNS, (document_row(c) for c in convs)))
        atomic_write(
            base / "montants_declares.csv", _csv(DECLARED_COLUMNS, (r for c in convs for r in declared_rows(c)))
        )
    stale = out / "territories"
    for folder in stale.glob("*") if stale.is_dir() else []:
        # a territory of an earlier run that this run did not produce would be read as current
        if folder.is_dir() and folder.name not in by_territory and (folder / "documents.csv").exists():
            for f in folder.iterdir():
                if f.is_file():
                    f.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
    atomic_write(out / "flags.csv", _csv(FLAG_COLUMNS, (f.model_dump() for f in flags)))
    atomic_write(
        out / "run.json",
        json.dumps([e.model_dump(exclude={"sha256"}) for e in entries], ensure_ascii=False, indent=1) + "\n",
    )
