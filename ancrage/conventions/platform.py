"""The platform's sealing certificate, as the settings configure it.

Production gives a PKCS#12 file (``ANCRAGE_SIGNATURE_PKCS12`` and its password). Development
and tests, when none is configured, get a self-signed certificate created once under
``ANCRAGE_VAR_DIR/signature/``: it proves integrity only, never who sealed (see
``docs/conventions-signature.md``).
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ancrage.conventions.signature import create_dev_certificate

DEV_PASSWORD = "ancrage-dev"


@dataclass(frozen=True)
class PlatformCertificate:
    pkcs12_path: Path
    pkcs12_password: str
    # PEM of the certificate, used as the trust root when verifying.
    cert_path: Path
    is_development: bool

    def signer_kwargs(self) -> dict:
        return {"pkcs12_path": self.pkcs12_path, "pkcs12_password": self.pkcs12_password}


def platform_certificate() -> PlatformCertificate:
    configured = getattr(settings, "ANCRAGE_SIGNATURE_PKCS12", "")
    if configured:
        cert_path = getattr(settings, "ANCRAGE_SIGNATURE_CERT", "")
        if not cert_path:
            raise ImproperlyConfigured("ANCRAGE_SIGNATURE_CERT (certificat PEM de la plateforme) est requis.")
        return PlatformCertificate(
            Path(configured),
            settings.ANCRAGE_SIGNATURE_PKCS12_PASSWORD,
            Path(cert_path),
            is_development=False,
        )
    if not settings.ANCRAGE_ALLOW_DEV_CERTIFICATE:
        raise ImproperlyConfigured(
            "Aucun certificat de scellement n'est configuré (ANCRAGE_SIGNATURE_PKCS12) : "
            "la production ne crée pas de certificat auto-signé."
        )
    directory = settings.VAR_DIR / "signature"
    dev = directory / "ancrage-dev.p12"
    if not dev.exists():
        created = create_dev_certificate(directory, password=DEV_PASSWORD)
        return PlatformCertificate(created.pkcs12_path, DEV_PASSWORD, created.cert_path, is_development=True)
    return PlatformCertificate(dev, DEV_PASSWORD, directory / "ancrage-dev.cert.pem", is_development=True)
