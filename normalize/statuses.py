"""Status cells to the contract's codes, and how the AMI funding evolves."""

from __future__ import annotations

import re

from models.convention import Evolution, Statut
from normalize.text import fold

_RULES: list[tuple[str, Statut]] = [
    (r"abandon|annul|supprim", "abandonnee"),
    (r"realise|termine|acheve|cloture|fait\b", "realisee"),
    (r"modifi|redefini|reoriente|ajuste", "modifiee"),
    (r"a lancer|lancer|prevue?|a venir|nouvelle action|non demarre|pas demarre|en projet|a engager", "a_lancer"),
    (
        r"en cours|renouvel|augment|hausse|abondement|poursui|reconduct|reconduit|maintenu|mise en oeuvre"
        r"|demarre|engage|deploi|deploye",
        "en_cours",
    ),
    # an action whose funding is new and nothing more is said: it is still to be launched
    (r"nouveau financement|nouvelle demande|nouveau\b", "a_lancer"),
]
_CODES: dict[str, Statut] = {"1": "a_lancer", "2": "en_cours", "3": "modifiee", "4": "realisee", "5": "abandonnee"}


def statut(raw: str) -> Statut:
    """`2-Action en cours` -> `en_cours`; empty when nothing is recognised."""
    f = fold(raw)
    if not f:
        return ""
    for pattern, code in _RULES:
        if re.search(pattern, f):
            return code
    m = re.match(r"^\s*(\d)\s*[-.)]", f)
    return _CODES.get(m.group(1), "") if m else ""


def evolution(raw: str) -> Evolution:
    """`Renouvellement du financement` -> `renouvellement`, `Nouveau financement` -> `nouveau`."""
    f = fold(raw)
    if re.search(r"renouvel|reconduct|reconduit", f):
        return "renouvellement"
    if re.search(r"augment|hausse|abondement", f):
        return "augmentation"
    if re.search(r"nouveau financement|nouvelle demande|nouveau\b", f):
        return "nouveau"
    return ""
