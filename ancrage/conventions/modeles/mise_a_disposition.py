"""Modèle « Convention de mise à disposition d'un EPN ».

The EPN (or the collectivité that owns it) lends its premises, equipment and,
where agreed, the support of a médiateur numérique to a partner for the
action. The wording follows the usual French "convention de mise à
disposition" of public premises: precarious occupation, no lease, the
occupant's insurance and liability.
"""

from ancrage.conventions.content import ConventionContent, PartyKind
from ancrage.conventions.modeles.base import (
    Article,
    Block,
    BuiltinModel,
    BulletList,
    ConventionDocument,
    Paragraph,
    assemble,
    collectivite_sentence,
    commitments_article,
    communication_article,
    data_protection_article,
    designations,
    disputes_article,
    duration_article,
    evaluation_article,
    financial_article,
    list_items,
    objectives_blocks,
    signatures_article,
    termination_article,
)


def build(content: ConventionContent) -> ConventionDocument:
    epn = content.first_of_kind(PartyKind.EPN) or content.parties[0]
    beneficiaries = [p for p in content.parties if p.key != epn.key and p.kind != PartyKind.COLLECTIVITE]
    beneficiary = beneficiaries[0] if beneficiaries else content.parties[-1]

    preamble: list[Block] = [
        Paragraph(
            f"{epn.name} est un espace public numérique (EPN), lieu de médiation numérique ouvert à "
            "tous, qui accompagne les habitants dans leurs usages du numérique."
        ),
        Paragraph(
            f"{beneficiary.name} souhaite disposer ponctuellement de ses locaux, de ses équipements et "
            f"de son savoir-faire pour mener l'action « {content.action_title} » auprès de ses publics."
        ),
    ]
    if sentence := collectivite_sentence(content):
        preamble.append(Paragraph(sentence))
    preamble.append(Paragraph("Il a été convenu ce qui suit :", emphasis=True))

    objet = Article(
        "Objet",
        [
            Paragraph(
                f"La présente convention a pour objet de définir les conditions dans lesquelles "
                f"{epn.designation} met à la disposition de {beneficiary.designation} ses locaux et ses "
                f"équipements, en vue de la réalisation de l'action « {content.action_title} »."
            ),
            Paragraph(content.purpose),
            *objectives_blocks(content),
        ],
    )
    articles = [objet, _premises_article(content, epn.designation, beneficiary.designation)]
    articles += [
        duration_article(content),
        commitments_article(
            content,
            intro=f"Les engagements réciproques de {designations(content)} sont les suivants.",
        ),
        financial_article(content),
        communication_article(content),
        data_protection_article(),
        evaluation_article(content),
        termination_article(content),
        disputes_article(content),
        signatures_article(content),
    ]
    return assemble(
        content,
        subtitle="Convention de mise à disposition d'un espace public numérique",
        preamble=preamble,
        articles=articles,
    )


def _premises_article(content: ConventionContent, lender: str, occupant: str) -> Article:
    premises = content.premises
    blocks: list[Block] = []
    if premises:
        blocks.append(Paragraph(f"Les locaux mis à disposition sont situés : {premises.place}."))
        if premises.equipment:
            blocks.append(Paragraph("Les équipements mis à disposition sont les suivants :"))
            blocks.append(BulletList(list_items(list(premises.equipment))))
        if premises.schedule:
            blocks.append(
                Paragraph(f"La mise à disposition a lieu selon les créneaux suivants : {premises.schedule}.")
            )
        if premises.staff:
            blocks.append(Paragraph(premises.staff))
    else:
        blocks.append(
            Paragraph(
                "Les locaux, équipements et créneaux mis à disposition sont précisés dans un planning "
                "établi d'un commun accord et annexé à la présente convention."
            )
        )
    blocks += [
        Paragraph(
            f"{occupant[:1].upper() + occupant[1:]} utilise les locaux et équipements conformément à leur "
            "destination, exclusivement pour l'action définie à l'article 1, et s'interdit toute "
            "sous-location ou mise à disposition à un tiers. Les locaux et équipements sont restitués dans "
            "l'état où ils ont été reçus ; toute dégradation "
            "ou tout dysfonctionnement est signalé sans délai."
        ),
        Paragraph(
            f"{occupant[:1].upper() + occupant[1:]} respecte le règlement intérieur de l'EPN et la charte "
            f"d'usage des équipements informatiques, que {lender} lui remet à la signature de la "
            "présente convention, et veille à ce que ses intervenants et ses publics "
            "en prennent connaissance."
        ),
        Paragraph(
            f"{occupant[:1].upper() + occupant[1:]} déclare être titulaire d'une police d'assurance "
            "couvrant sa responsabilité civile pour les dommages pouvant résulter de ses activités dans "
            "les locaux mis à disposition, et en justifie à première demande."
        ),
        Paragraph(
            "La présente mise à disposition est consentie à titre précaire et révocable. Elle ne confère "
            "aucun droit au maintien dans les lieux et n'est pas soumise aux dispositions relatives aux "
            "baux commerciaux ou professionnels."
        ),
    ]
    return Article("Conditions de la mise à disposition", blocks)


MODEL = BuiltinModel(
    slug="mise_a_disposition",
    label="Convention de mise à disposition d'un EPN",
    description="L'EPN prête ses locaux, ses équipements et, le cas échéant, un médiateur à un partenaire.",
    build=build,
)
