"""Demo of the conventions of the EPN du Blosne, with the centre social Ty-Blosne and Rennes
Métropole:

- one signed and in force, with its whole history: a first version rejected by the centre social
  (with its comment), the correction, a second round, the visa, then the élu's signature and the
  sealed PDF;
- one in validation, waiting for the visa of partenaire@demo.ancrage.fr;
- one signed that expires within the alert delay, to show the alert in the list.

Dates are relative to the day the demo is loaded, so the three states hold whenever it is loaded.
Everything is made up and says "(démo)". Only partners with an account can give their visa, so
these conventions bind the centre social Ty-Blosne (the demo's partner account).
"""

from ancrage.actions.models import Action
from ancrage.conventions import jobs, selectors, services
from ancrage.conventions.content import add_months
from ancrage.conventions.models import Convention
from ancrage.demo.actions import CCAS, SENIORS, TY_BLOSNE

SIGNEE = "Convention de partenariat « Bien vivre le numérique » (démo)"
EN_VALIDATION = "Mise à disposition de la salle multimédia au centre social Ty-Blosne (démo)"
ECHEANCE = "Convention « Permanences numériques au centre social » (démo)"
DEUX_PARTENAIRES = "Convention « Ateliers numériques du CCAS et du centre social » (démo)"


def _generate(convention) -> None:
    job = services.convention_version_request(acting_user=None, convention=convention)
    # Inline: the demo is loaded in one transaction, before any background thread could see it.
    jobs.run(job.pk)
    job.refresh_from_db()
    if job.version is None:
        raise RuntimeError(f"Demo convention {convention.titre!r}: {job.erreur}")


def _submit(world, convention):
    _generate(convention)
    return services.convention_submit(acting_user=None, convention=convention)


def _sign_with_code(user, convention) -> None:
    """What a signatory does on the signing page; the code is caught here instead of e-mailed."""
    caught = {}
    services.signature_code_send(
        acting_user=user,
        convention=convention,
        deliver=lambda _user, _convention, code, _expires: caught.update(code=code),
    )
    services.convention_sign(acting_user=user, convention=convention, code=caught["code"])


def _sign(world, convention):
    for name in ("responsable", "partenaire", "partenaire2", "elu"):
        if selectors.turns_for(world.users[name], convention):
            _sign_with_code(world.users[name], convention)
    convention.refresh_from_db()
    return convention


def _signed_with_history(world, ty_blosne) -> None:
    action = Action.objects.filter(structure=world.blosne, titre=SENIORS).first()
    start = add_months(selectors.today().replace(day=1), -3)
    fields = dict(
        titre=SIGNEE,
        date_debut=start,
        duree_mois=12,
        reconduction_tacite=True,
        reconductions_max=2,
        preavis_mois=2,
        juridiction="le tribunal administratif de Rennes",
        partenaires=[ty_blosne, world.partners[CCAS]],
    )
    if action is not None:
        convention = services.convention_create_from_action(acting_user=None, action=action, **fields)
    else:
        convention = services.convention_create(
            acting_user=None,
            epn=world.blosne,
            objet="Huit ateliers pour prendre en main smartphone et tablette (démo).",
            **fields,
        )
    convention = _submit(world, convention)
    services.convention_comment_add(
        acting_user=world.users["partenaire"],
        convention=convention,
        texte="Nous relisons la convention avec notre bureau cette semaine (démo).",
    )
    services.convention_decide(
        acting_user=world.users["partenaire"],
        convention=convention,
        decision="rejeter",
        commentaire=(
            "La salle du rez-de-chaussée n’est disponible que le mardi : "
            "merci de l’indiquer dans nos engagements (démo)."
        ),
    )
    convention.refresh_from_db()
    engagements = [
        *convention.engagements,
        {
            "partie": selectors.partner_key(ty_blosne.pk),
            "texte": "prêter la salle du rez-de-chaussée le mardi après-midi pour les ateliers",
            "domaine": "logistique",
        },
    ]
    services.convention_update(acting_user=None, convention=convention, engagements=engagements)
    _sign(world, _submit(world, convention))


def _in_validation(world, ty_blosne) -> None:
    convention = services.convention_create(
        acting_user=None,
        epn=world.blosne,
        titre=EN_VALIDATION,
        modele="mise_a_disposition",
        objet=(
            "Permettre au centre social d’accueillir ses ateliers « Parents et écrans » dans la salle "
            "multimédia de l’EPN (démo)."
        ),
        date_debut=add_months(selectors.today().replace(day=1), 1),
        duree_mois=10,
        partenaires=[ty_blosne],
        locaux="Salle multimédia de l’EPN du Blosne, 1er étage (démo)",
        equipements="douze postes informatiques\nun vidéoprojecteur\nune imprimante",
        creneaux="le jeudi de 17 h à 19 h, hors vacances scolaires",
        lieu_signature="Rennes",
        engagements=[
            {"partie": "epn", "texte": "mettre la salle et ses équipements à disposition, en état de marche"},
            {
                "partie": selectors.partner_key(ty_blosne.pk),
                "texte": "encadrer les participants et restituer la salle rangée",
            },
        ],
    )
    _submit(world, convention)


def _expiring(world, ty_blosne) -> None:
    today = selectors.today()
    convention = services.convention_create(
        acting_user=None,
        epn=world.blosne,
        titre=ECHEANCE,
        objet="Une permanence numérique hebdomadaire de l’EPN au centre social (démo).",
        date_debut=add_months(today, -11),
        duree_mois=12,
        delai_alerte_jours=60,
        partenaires=[ty_blosne],
        lieu_signature="Rennes",
        engagements=[
            {"partie": "epn", "texte": "tenir une permanence numérique chaque mercredi matin"},
            {
                "partie": selectors.partner_key(ty_blosne.pk),
                "texte": "accueillir la permanence et l’annoncer",
            },
        ],
    )
    _sign(world, _submit(world, convention))


def _two_partners(world, ty_blosne) -> None:
    ccas = world.partners[CCAS]
    convention = services.convention_create(
        acting_user=None,
        epn=world.blosne,
        titre=DEUX_PARTENAIRES,
        objet=(
            "Des ateliers numériques pour les personnes accompagnées par le CCAS, au centre social "
            "Ty-Blosne et à l’EPN (démo)."
        ),
        date_debut=add_months(selectors.today().replace(day=1), 2),
        duree_mois=12,
        partenaires=[ty_blosne, ccas],
        lieu_signature="Rennes",
        juridiction="le tribunal administratif de Rennes",
        engagements=[
            {"partie": "epn", "texte": "animer deux ateliers par mois"},
            {"partie": selectors.partner_key(ty_blosne.pk), "texte": "accueillir un atelier sur deux"},
            {"partie": selectors.partner_key(ccas.pk), "texte": "orienter les personnes qu’il accompagne"},
        ],
    )
    _submit(world, convention)


def load(world) -> None:
    ty_blosne = world.partners[TY_BLOSNE]
    existing = set(Convention.objects.filter(structure=world.blosne).values_list("titre", flat=True))
    for titre, build in (
        (SIGNEE, _signed_with_history),
        (EN_VALIDATION, _in_validation),
        (ECHEANCE, _expiring),
        (DEUX_PARTENAIRES, _two_partners),
    ):
        if titre not in existing:
            build(world, ty_blosne)
