"""System checks on the platform's sealing certificate.

Production signs every convention PDF with the PKCS#12 file the settings name
(``ANCRAGE_SIGNATURE_PKCS12``, ``ANCRAGE_SIGNATURE_PKCS12_PASSWORD``, ``ANCRAGE_SIGNATURE_CERT``):
without it, a convention page cannot be served. These checks make ``check`` (and ``check --deploy``,
``migrate``) fail before the first request does.
"""

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.core.checks import Error, register

HINT = "Voir docs/exploitation.md, « Certificat de scellement »."


@register()
def check_sealing_certificate(app_configs=None, **kwargs):
    p12_setting = getattr(settings, "ANCRAGE_SIGNATURE_PKCS12", "")
    if not p12_setting:
        if settings.ANCRAGE_ALLOW_DEV_CERTIFICATE:
            return []  # development: a self-signed certificate is created on first use
        return [
            Error(
                "Aucun certificat de scellement n'est configuré (ANCRAGE_SIGNATURE_PKCS12).",
                hint=HINT,
                id="ancrage.E001",
            )
        ]
    errors = []
    cert_setting = getattr(settings, "ANCRAGE_SIGNATURE_CERT", "")
    if not cert_setting:
        errors.append(
            Error(
                "ANCRAGE_SIGNATURE_CERT (certificat PEM de la plateforme) est requis.",
                hint=HINT,
                id="ancrage.E002",
            )
        )
    else:
        try:
            x509.load_pem_x509_certificate(Path(cert_setting).read_bytes())
        except (OSError, ValueError) as exc:
            errors.append(
                Error(
                    f"ANCRAGE_SIGNATURE_CERT ({cert_setting}) n'est pas un certificat PEM lisible : {exc}",
                    hint=HINT,
                    id="ancrage.E003",
                )
            )
    try:
        data = Path(p12_setting).read_bytes()
    except OSError as exc:
        return [
            *errors,
            Error(
                f"ANCRAGE_SIGNATURE_PKCS12 ({p12_setting}) est illisible : {exc}",
                hint=HINT,
                id="ancrage.E004",
            ),
        ]
    password = settings.ANCRAGE_SIGNATURE_PKCS12_PASSWORD
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        return [
            *errors,
            Error(
                f"ANCRAGE_SIGNATURE_PKCS12 ({p12_setting}) ne s'ouvre pas : fichier PKCS#12 invalide ou "
                "mot de passe (ANCRAGE_SIGNATURE_PKCS12_PASSWORD) erroné.",
                hint=HINT,
                id="ancrage.E005",
            ),
        ]
    problem = _key_problem(key, cert)
    if problem:
        errors.append(Error(f"ANCRAGE_SIGNATURE_PKCS12 : {problem}", hint=HINT, id="ancrage.E006"))
    return errors


def _key_problem(key, cert) -> str:
    """Why this key and certificate cannot seal, or "" when they can (a probe is signed and verified)."""
    if key is None or cert is None:
        return "le fichier doit contenir la clé privée et son certificat."
    now = dt.datetime.now(dt.UTC)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if not start <= now <= end:
        return f"le certificat n'est pas valide aujourd'hui (du {start:%Y-%m-%d} au {end:%Y-%m-%d})."
    probe = b"ancrage-check"
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(probe, padding.PKCS1v15(), hashes.SHA256())
            cert.public_key().verify(signature, probe, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(probe, ec.ECDSA(hashes.SHA256()))
            cert.public_key().verify(signature, probe, ec.ECDSA(hashes.SHA256()))
        else:
            return "seules les clés RSA et EC sont prises en charge."
    except Exception:
        return "la clé privée ne correspond pas au certificat, ou ne peut pas signer."
    return ""
