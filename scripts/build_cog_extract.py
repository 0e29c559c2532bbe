"""Build the compact COG extract shipped in ancrage/organisations/data/ from ../shared/data/cog.

Run once when the COG vintage changes: ``python scripts/build_cog_extract.py [SOURCE_DIR]``.
The extract keeps, for each current commune and municipal arrondissement, only what Ancrage
uses (code, name, département, région, population, EPCI, parent commune), so that a fresh
clone has the whole French territory without the 12 MB source files.
"""

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "cog"
TARGET = ROOT / "ancrage" / "organisations" / "data" / "cog-2026.json.gz"


def main() -> None:
    def load(name):
        return json.loads((SOURCE / name).read_text(encoding="utf-8"))

    epcis = load("epci.json")
    epci_of = {m["code"]: e["code"] for e in epcis for m in e["membres"]}
    communes = []
    for c in load("communes.json"):
        if c["type"] == "commune-actuelle":
            kind, parent = "C", None
        elif c["type"] == "arrondissement-municipal":
            kind, parent = "A", c["commune"]
        else:
            continue  # communes déléguées/associées carry no population of their own
        code_for_epci = parent or c["code"]
        communes.append(
            [
                c["code"],
                c["nom"],
                kind,
                c["departement"],
                c["region"],
                c.get("population"),
                epci_of.get(code_for_epci),
                parent,
            ]
        )
    extract = {
        "millesime": 2026,
        "source": "@etalab/decoupage-administratif 6.0.0 (COG 2026), licence MIT",
        "communes_columns": ["code", "nom", "type", "departement", "region", "population", "epci", "parent"],
        "communes": communes,
        "epci_columns": ["code", "nom", "type", "population", "membres"],
        "epci": [
            [e["code"], e["nom"], e["type"], e.get("populationMunicipale"), [m["code"] for m in e["membres"]]]
            for e in epcis
        ],
        "departements": [[d["code"], d["nom"], d["region"]] for d in load("departements.json")],
        "regions": [[r["code"], r["nom"]] for r in load("regions.json")],
    }
    payload = json.dumps(extract, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 keeps the file byte-identical between runs, so git sees no spurious change.
    TARGET.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    print(f"{TARGET}: {len(communes)} communes, {len(extract['epci'])} EPCI, {TARGET.stat().st_size} octets")


if __name__ == "__main__":
    main()
