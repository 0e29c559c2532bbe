from types import SimpleNamespace

from django.conf import settings

from ancrage.www.navigation import menu_for

# What django-dsfr's templates read from ``SITE_CONFIG``. Ancrage sets it in code rather than in
# django-dsfr's database model, so that a fresh database needs no configuration row.
SITE_CONFIG = SimpleNamespace(
    site_title="Ancrage",
    site_tagline="Développer de nouvelles actions avec sa collectivité et ses partenaires",
    header_brand_html="Ancrage",
    footer_brand="Ancrage",
    mourning=False,
    beta_tag=True,
    notice_title="",
    notice_description="",
)


def ancrage(request):
    user = getattr(request, "user", None)
    # django-csp's nonce is lazy, and reads as false until something reads its value; DSFR's
    # {% dsfr_js nonce=request.csp_nonce %} tests it with {% if %} first, and would leave DSFR's
    # scripts without it. Reading it here puts 'nonce-…' in the header and on the scripts.
    if hasattr(request, "csp_nonce"):
        str(request.csp_nonce)
    return {
        "SITE_CONFIG": SITE_CONFIG,
        "ANCRAGE_DEMO": settings.ANCRAGE_DEMO,
        "skiplinks": [
            {"link": "#content", "label": "Contenu"},
            {"link": "#navigation-principale", "label": "Menu"},
        ],
        "main_menu": menu_for(user, request.path) if user is not None and user.is_authenticated else [],
    }
