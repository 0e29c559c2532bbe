"""The verification report of a signed convention, in French: one function for the public page
(/verifier/) and the `ancrage verifier` command, which only render it.

It says what the signed PDF itself says (its signatories as sealed, its seal's certificate, its
timestamp), whether it changed since, and whether this Ancrage holds a signed convention with
exactly this SHA-256: yes or no, never which one nor anything else about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import VerificationResult, verify_pdf

LEVELS = {
    "B-B": "PAdES B-B : signature sans horodatage ; la date est celle de l’horloge de la plateforme.",
    "B-T": "PAdES B-T : signature horodatée par une autorité d’horodatage (RFC 3161).",
    "B-LT": (
        "PAdES B-LT : signature horodatée, avec les données de validation des certificats "
        "incorporées au document."
    ),
}


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[str, ...]


@dataclass
class Report:
    ok: bool
    verdict: str  # one French sentence
    sha256: str
    rows: list[Row] = field(default_factory=list)

    def as_text(self) -> str:
        """What `ancrage verifier` prints: the same verdict and rows as the page."""
        lines = [f"Résultat : {'VALIDE' if self.ok else 'NON VALIDE'}", self.verdict]
        for row in self.rows:
            if len(row.values) == 1:
                lines.append(f"{row.label} : {row.values[0]}")
            else:
                lines.append(f"{row.label} :")
                lines.extend(f"  - {value}" for value in row.values)
        return "\n".join(lines)


def _moment(value: dt.datetime | None, *, seconds: bool = False) -> str:
    if value is None:
        return "inconnue"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%d/%m/%Y à %H:%M:%S" if seconds else "%d/%m/%Y à %H:%M") + " (heure de Paris)"


def _signed_on(text: str) -> str:
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return str(text)
    if len(text) <= 10:  # a date alone
        return value.strftime("%d/%m/%Y")
    return value.strftime("%d/%m/%Y à %H:%M")


def _signatory(entry) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    nom, qualite, organisation = (str(entry.get(k, "")).strip() for k in ("nom", "qualite", "organisation"))
    text = nom
    if qualite:
        text += f", {qualite}"
    if organisation:
        text += f" ({organisation})"
    return f"{text}, le {_signed_on(entry.get('signe_le', ''))}"


def is_known(sha256: str) -> bool:
    """Whether a signed convention of this Ancrage has exactly this hash (no scoping: yes or no only)."""
    from ancrage.conventions.models import Convention

    return Convention.objects.filter(pdf_signe_sha256=sha256).exists()


def _fingerprint(pem_path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(pem_path.read_bytes()).fingerprint(hashes.SHA256()).hex().upper()


def verification_report(data: bytes) -> Report:
    certificate = platform_certificate()
    result = verify_pdf(
        data,
        trusted_certificates=[certificate.cert_path],
        trusted_tsa_certificates=list(getattr(settings, "ANCRAGE_TSA_CERTS", []) or []),
    )
    return report_from_result(
        result,
        known=is_known(result.sha256),
        development=certificate.is_development,
        platform_sha256=_fingerprint(certificate.cert_path),
    )


def report_from_result(
    result: VerificationResult, *, known: bool, development: bool, platform_sha256: str
) -> Report:
    if not result.signatures:
        verdict = result.messages[0] if result.messages else "Le document ne peut pas être vérifié."
        report = Report(ok=False, verdict=verdict, sha256=result.sha256)
        report.rows.append(Row("Empreinte SHA-256", (result.sha256,)))
        return report
    seal = result.signatures[-1]
    # Whose certificate it is, whatever became of the content it signed.
    ours = seal.certificate is not None and seal.certificate.sha256 == platform_sha256
    if result.ok:
        verdict = "Le document est intact : il n’a pas été modifié depuis son scellement par Ancrage."
    elif (
        seal.intact
        and seal.trusted is False
        and all(s.intact and s.covers_whole_file for s in result.signatures)
    ):
        verdict = "Le document est intact, mais il n’a pas été scellé par cette plateforme Ancrage."
    else:
        verdict = "Le document a été modifié depuis son scellement, ou son sceau n’est pas valide."
    report = Report(ok=result.ok, verdict=verdict, sha256=result.sha256)
    rows = report.rows

    if seal.intact and seal.covers_whole_file and seal.certified_unchanged:
        rows.append(Row("Intégrité", ("Aucune modification depuis le scellement.",)))
    else:
        # The certificate has its own row below.
        problems = [m for m in result.messages if "intègre" not in m and "certificat de scellement" not in m]
        rows.append(Row("Intégrité", tuple(problems) or ("Le sceau n’est pas valide.",)))

    record = result.record
    if record and isinstance(record.get("signataires"), list) and record["signataires"]:
        rows.append(Row("Signataires", tuple(_signatory(e) for e in record["signataires"])))
    elif seal.intact:
        rows.append(Row("Signataires", ("Le document ne donne pas la liste de ses signataires.",)))
    else:
        rows.append(Row("Signataires", ("Non affichés : le contenu scellé a été modifié.",)))

    rows.append(Row("Scellé le", (_moment(seal.signing_time) + ", selon l’horloge de la plateforme",)))
    if seal.timestamp is not None:
        ts = seal.timestamp
        state = "jeton intègre" if ts.intact else "jeton altéré"
        if ts.trusted:
            state += ", autorité reconnue"
        rows.append(
            Row("Horodatage", (f"{_moment(ts.time, seconds=True)}, par « {ts.authority} » ({state})",))
        )
    else:
        rows.append(Row("Horodatage", ("Aucun horodatage par une autorité tierce.",)))
    rows.append(Row("Niveau de signature", (LEVELS[seal.level],)))

    if seal.certificate is not None:
        cert = seal.certificate
        origin = (
            "c’est le certificat de cette plateforme Ancrage"
            if ours
            else "ce n’est pas le certificat de cette plateforme Ancrage"
        )
        if ours and development:
            origin += " (certificat de développement : il prouve l’intégrité, pas l’origine)"
        rows.append(
            Row(
                "Certificat du sceau",
                (
                    f"« {cert.subject} », émis par « {cert.issuer} », valable du "
                    f"{cert.not_before:%d/%m/%Y} au {cert.not_after:%d/%m/%Y} ; {origin}",
                    f"Empreinte SHA-256 du certificat : {cert.sha256}",
                ),
            )
        )
    rows.append(
        Row(
            "Convention connue",
            (
                "Oui : ce fichier est, à l’octet près, une convention signée enregistrée "
                "dans cette plateforme."
                if known
                else "Non : aucune convention signée de cette plateforme n’a cette empreinte.",
            ),
        )
    )
    rows.append(Row("Empreinte SHA-256", (result.sha256,)))
    return report
