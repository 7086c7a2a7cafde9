"""Seeded damage to PDFs, as downloads, mail gateways and disks do it: for the fuzz test and the acceptance measure.

`python -m tests.damage SRC_DIR OUT_DIR [--count N] [--seed S]` writes damaged copies of the PDFs of SRC_DIR and
`manifest.json` (each copy's source and damage); `python -m tests.damage --measure OUT_DIR RUN_OUT` then counts, from
a pipeline run over OUT_DIR, the copies qpdf opens, those read `ok`, and the xref-only copies whose rows equal their
source's."""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

KINDS = ("octets", "coupe", "xref", "tronque")


@dataclass(frozen=True)
class Damage:
    """One damaged copy: where it comes from and what was done to it (`xref`: content intact)."""

    name: str
    source: str
    kind: str
    detail: str


def change_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A few bytes set to random values anywhere past the header line."""
    out = bytearray(data)
    spots = sorted(rng.randrange(16, len(data)) for _ in range(rng.randint(1, 12)))
    for at in spots:
        out[at] = rng.randrange(256)
    return bytes(out), "octets " + ",".join(map(str, spots))


def delete_chunk(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A chunk of 1 to 4000 bytes cut out (a lost block of a transfer)."""
    size = rng.randint(1, 4000)
    at = rng.randrange(16, max(17, len(data) - size))
    return data[:at] + data[at + size :], f"{size} octets supprimés à {at}"


def destroy_xref(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The last cross-reference table or its pointer destroyed; every object left as it was."""
    start = data.rfind(b"\nxref")
    trailer = data.find(b"trailer", start)
    pointer = re.search(rb"startxref\s+(\d+)", data[start if start >= 0 else 0 :])
    how = rng.choice(("garbage", "blank", "pointer")) if start >= 0 and trailer > start else "pointer"
    if how == "pointer" and pointer is not None:
        at = (start if start >= 0 else 0) + pointer.start(1)
        digits = pointer.group(1)
        wrong = str(rng.randrange(10 ** (len(digits) - 1), 10 ** len(digits))).encode()
        return data[:at] + wrong + data[at + len(digits) :], "startxref faux"
    body = data[start + 1 : trailer]
    filler = b" " * len(body) if how == "blank" else bytes(rng.choice(b"0123456789 nf\n") for _ in body)
    return data[: start + 1] + filler + data[trailer:], f"table xref {'effacée' if how == 'blank' else 'brouillée'}"


def truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The file cut short, between 60 % and 99.9 % of its length (an interrupted download)."""
    keep = rng.randint(int(len(data) * 0.6), len(data) - 10)
    return data[:keep], f"tronqué à {keep}/{len(data)} octets"


MUTATIONS = {"octets": change_bytes, "coupe": delete_chunk, "xref": destroy_xref, "tronque": truncate}


def damaged_copies(sources: list[Path], count: int, seed: int) -> list[tuple[Damage, bytes]]:
    """`count` damaged copies, kinds in turn, sources in turn; the same seed gives the same bytes."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        src = sources[k % len(sources)]
        kind = KINDS[k % len(KINDS)]
        data, detail = MUTATIONS[kind](src.read_bytes(), rng)
        name = f"{k:03d}_{kind}_{src.stem}.pdf"
        out.append((Damage(name, src.name, kind, detail), data))
    return out


def qpdf_opens(path: Path) -> bool:
    """Whether qpdf (pikepdf) opens the file and finds at least one page."""
    import pikepdf

    try:
        with pikepdf.open(path, attempt_recovery=True, suppress_warnings=True) as pdf:
            return len(pdf.pages) > 0
    except Exception:  # qpdf's verdict is all that is asked
        return False


def _rows(run_out: Path, fichier: str) -> list[dict[str, str]]:
    rows = []
    for p in sorted(run_out.glob("territories/*/actions.csv")):
        with p.open(encoding="utf-8", newline="") as fh:
            rows += [
                {k: v for k, v in r.items() if k != "fichier"} for r in csv.DictReader(fh) if r["fichier"] == fichier
            ]
    return rows


def measure(damaged_dir: Path, run_out: Path, intact_out: Path) -> dict[str, int]:
    """Counts for the acceptance measure, from the run over the damaged copies and the run over the sources."""
    manifest = [Damage(**d) for d in json.loads((damaged_dir / "manifest.json").read_text(encoding="utf-8"))]
    run = {e["fichier"]: e for e in json.loads((run_out / "run.json").read_text(encoding="utf-8"))}
    flags = list(csv.DictReader((run_out / "flags.csv").open(encoding="utf-8", newline="")))
    figures = dict.fromkeys(
        ("files", "entries", "qpdf_opens", "qpdf_opens_read_ok", "read_ok", "repaired", "page_unreadable"), 0
    )
    figures |= {"xref_only": 0, "xref_only_rows_identical": 0, "errors_internal": 0}
    for d in manifest:
        figures["files"] += 1
        entry = run.get(d.name)
        if entry is None:
            continue
        figures["entries"] += 1
        ok = entry["statut"] == "ok"
        figures["read_ok"] += ok
        figures["errors_internal"] += "interne" in (entry["erreur"] or "")
        figures["repaired"] += any(f["fichier"] == d.name and f["code"] == "FILE_REPAIRED" for f in flags)
        figures["page_unreadable"] += any(f["fichier"] == d.name and f["code"] == "PAGE_UNREADABLE" for f in flags)
        if qpdf_opens(damaged_dir / d.name):
            figures["qpdf_opens"] += 1
            figures["qpdf_opens_read_ok"] += ok
        if d.kind == "xref":
            figures["xref_only"] += 1
            figures["xref_only_rows_identical"] += ok and _rows(run_out, d.name) == _rows(intact_out, d.source)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Write damaged copies, or measure a run over them."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("src", type=Path, help="folder of intact PDFs (write) or of damaged copies (--measure)")
    ap.add_argument("out", type=Path, help="folder for the damaged copies, or the run over them (--measure)")
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--measure", type=Path, metavar="INTACT_RUN", help="the run over the intact sources")
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.src, args.out, args.measure), indent=1))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for damage, data in damaged_copies(sorted(args.src.glob("*.pdf")), args.count, args.seed):
        (args.out / damage.name).write_bytes(data)
        manifest.append(asdict(damage))
    (args.out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(manifest)} copies endommagées dans {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
