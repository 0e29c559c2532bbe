"""The proof file (« fichier de preuve ») of a circuit round: its events, chained, and their export.

Each event of a round (submitted, code sent, code checked or refused, visa, signature, delegation,
refusal, final document, seal) is one append-only ``EvenementCircuit`` row whose ``hash`` chains it
to the one before (``core.hashchain``, keyless SHA-256: whoever holds the JSON export checks the
chain without any secret). Each event also leaves an entry in the audit trail, which is chained
with the journal key, and the seal's audit entry carries the proof's head: removing the last
events of a round shows there.

The export is JSON (the events, their hashes, the approved and final documents' hashes) and a
PDF (PDF/A, through ``core.pdf``) that says the same in French.
"""

from __future__ import annotations

import json

from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from ancrage.audit import context
from ancrage.conventions.enums import EvenementNature
from ancrage.conventions.models import Convention, EvenementCircuit
from ancrage.core import hashchain
from ancrage.core.pdf import html_to_pdf

FORMAT = "ancrage.fichier-de-preuve.v1"


def append(
    convention: Convention, nature: EvenementNature, *, acting_user=None, **details
) -> EvenementCircuit:
    """Add an event to the convention's current round (call it under the convention's row lock)."""
    last = (
        EvenementCircuit.objects.filter(convention=convention, tour=convention.tour)
        .order_by("-sequence")
        .first()
    )
    where = context.current()
    at = timezone.now().replace(microsecond=0)
    user = acting_user if acting_user is not None and acting_user.is_authenticated else None
    payload = {
        "convention": convention.pk,
        "reference": convention.reference,
        "tour": convention.tour,
        "evenement": nature.value,
        "le": at.isoformat(),
        "par": (user.get_full_name() or user.email) if user else "Système",
        "par_id": user.pk if user else None,
        "adresse_ip": where.ip_address,
        **details,
    }
    payload = json.loads(hashchain.canonical_json(payload))
    entry = hashchain.append_entry([last] if last else [], payload)
    return EvenementCircuit.objects.create(
        convention=convention,
        tour=convention.tour,
        sequence=entry.sequence,
        nature=nature.value,
        payload=payload,
        previous_hash=entry.previous_hash,
        hash=entry.hash,
        at=at,
    )


def events(convention: Convention, tour: int | None = None) -> list[EvenementCircuit]:
    tour = convention.tour if tour is None else tour
    return list(EvenementCircuit.objects.filter(convention=convention, tour=tour).order_by("sequence"))


def rounds(convention: Convention) -> list[int]:
    last = EvenementCircuit.objects.filter(convention=convention).aggregate(n=Max("tour"))["n"] or 0
    return list(range(1, last + 1))


def verify(entries) -> list[hashchain.ChainProblem]:
    """Problems of a chain of events (model rows or the JSON export's dicts); empty: intact."""
    return hashchain.verify_chain(entries)


def as_dict(convention: Convention, tour: int | None = None) -> dict:
    tour = convention.tour if tour is None else tour
    rows = events(convention, tour)
    approved = sorted({r.payload["document_sha256"] for r in rows if r.payload.get("document_sha256")})
    final = next((r.payload for r in reversed(rows) if r.nature == EvenementNature.DOCUMENT_FINAL), None)
    sealed = next((r.payload for r in reversed(rows) if r.nature == EvenementNature.SCELLEE), None)
    return {
        "format": FORMAT,
        "convention": {"id": convention.pk, "reference": convention.reference, "titre": convention.titre},
        "tour": tour,
        "empreintes": {
            "document_approuve_sha256": approved,
            "document_final_sha256": final["document_final_sha256"] if final else None,
            "pdf_scelle_sha256": sealed["pdf_scelle_sha256"] if sealed else None,
        },
        "chaine": {
            "algorithme": "SHA-256(empreinte précédente + « \\n » + JSON canonique de l’événement)",
            "origine": hashchain.GENESIS_HASH,
            "tete": rows[-1].hash if rows else hashchain.GENESIS_HASH,
            "nombre": len(rows),
        },
        "evenements": [
            {"sequence": r.sequence, "payload": r.payload, "previous_hash": r.previous_hash, "hash": r.hash}
            for r in rows
        ],
    }


def as_json(convention: Convention, tour: int | None = None) -> bytes:
    return json.dumps(as_dict(convention, tour), ensure_ascii=False, indent=2, sort_keys=True).encode()


def _readable(value) -> str:
    """A payload value for the PDF: the circuit's steps and the signatories as short lines."""
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict) and "signataires" in item:
                names = ", ".join(p.get("nom", "") for p in item["signataires"])
                lines.append(f"{item.get('libelle', '')} ({item.get('nature', '')}) : {names}")
            elif isinstance(item, dict):
                lines.append(", ".join(str(v) for v in item.values() if v not in (None, "")))
            else:
                lines.append(str(item))
        return " ; ".join(lines)
    return str(value)


def as_pdf(convention: Convention, tour: int | None = None) -> bytes:
    data = as_dict(convention, tour)
    rows = [
        {
            "sequence": e["sequence"],
            "label": EvenementNature(e["payload"]["evenement"]).label,
            "payload": e["payload"],
            "details": sorted(
                (k, _readable(v))
                for k, v in e["payload"].items()
                if k not in {"convention", "reference", "tour", "evenement", "le", "par", "par_id"}
                and v not in (None, "", [], {})
            ),
            "hash": e["hash"],
        }
        for e in data["evenements"]
    ]
    html = render_to_string(
        "conventions/preuve.html",
        {
            "data": data,
            "rows": rows,
            "convention": convention,
            "intact": not verify(events(convention, tour)),
        },
    )
    return html_to_pdf(html, (PRINT_CSS,))


PRINT_CSS = """
@page { size: A4; margin: 1.8cm 1.6cm; @bottom-center { content: "Page " counter(page) " sur " counter(pages);
  font-size: 8pt; color: #444; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; line-height: 1.35; }
h1 { font-size: 15pt; margin: 0 0 6pt 0; }
h2 { font-size: 11pt; margin: 12pt 0 4pt 0; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 0.5pt solid #888; padding: 3pt 4pt; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; }
th:nth-child(1) { width: 6%; } th:nth-child(2) { width: 15%; } th:nth-child(3) { width: 17%; }
th:nth-child(4) { width: 12%; }
code { font-size: 7pt; word-break: break-all; }
dl dt { font-weight: bold; }
"""
