"""Precision and recall of the action linker on the hand-checked links of tests/fixtures/suivi."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from export.suivi import follow
from models import ActionLine, Amount, Convention, DocumentFields, Parties, Provenance

HERE = Path(__file__).parent / "fixtures" / "suivi"


def families() -> list[list[Convention]]:
    """The conventions of families.json, one list per territory."""
    data = json.loads((HERE / "families.json").read_text(encoding="utf-8"))
    by_territory: dict[str, list[Convention]] = {}
    for d in data["documents"]:
        lines = []
        for r in d["rows"]:
            ami = (
                Amount(raw=r["financement_ami"], value=Decimal(r["financement_ami"])) if r["financement_ami"] else None
            )
            lines.append(
                ActionLine(
                    annexe=r["annexe"],
                    ligne=int(r["ligne"]),
                    page=1,
                    numero=r["numero"],
                    action=r["action"],
                    pilotes=[p for p in r["pilotes"].split(";") if p],
                    financement_ami=ami,
                    statut=r["statut"],
                    provenance=Provenance(file=d["fichier"], sha256="0" * 64, page=1),
                )
            )
        from models import Annex

        annexes = [
            Annex(annexe=a, pages=[1], columns=[], lines=[ln for ln in lines if ln.annexe == a])
            for a in sorted({ln.annexe for ln in lines})
        ]
        c = Convention(
            fichier=d["fichier"],
            sha256="0" * 64,
            pages=1,
            fields=DocumentFields(
                type_document=d["type_document"], annee_debut=d["annee_debut"], annee_fin=d["annee_fin"]
            ),
            parties=Parties(territoire=d["territoire"]),
            annexes=annexes,
        )
        by_territory.setdefault(d["territoire"], []).append(c)
    return list(by_territory.values())


def predicted_links(rows: list[dict[str, object]]) -> set[frozenset[str]]:
    """Every pair of rows that share an action_ref."""
    chains: dict[str, list[str]] = {}
    for r in rows:
        chains.setdefault(str(r["action_ref"]), []).append(f"{r['fichier']}#{r['annexe']}.{r['ligne']}")
    return {frozenset((a, b)) for m in chains.values() for i, a in enumerate(m) for b in m[i + 1 :]}


def evaluate() -> tuple[float, float, set[frozenset[str]], set[frozenset[str]]]:
    """(precision, recall, false links, missed links) over the fixture families."""
    truth = json.loads((HERE / "links.json").read_text(encoding="utf-8"))
    sure = {frozenset(p) for p in truth["sure"]}
    doubtful = {frozenset(p) for p in truth["doubtful"]}
    predicted: set[frozenset[str]] = set()
    for convs in families():
        predicted |= predicted_links(follow(convs))
    judged = predicted - doubtful
    hits = judged & sure
    precision = len(hits) / len(judged) if judged else 1.0
    recall = len(hits) / len(sure)
    return precision, recall, judged - sure, sure - predicted


if __name__ == "__main__":
    p, r, false, missed = evaluate()
    print(f"precision {p:.3f} recall {r:.3f}")
    for f in sorted(map(sorted, false)):
        print("  false ", f)
    for m in sorted(map(sorted, missed)):
        print("  missed", m)
