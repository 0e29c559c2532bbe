"""Modèle « Convention de partenariat » (generic).

For any action run by the EPN with one or more local partners (association,
chambre consulaire, service social, France Travail…), optionally with the
collectivité as a party. The division of tasks comes from the task matrix.
"""

from ancrage.conventions.content import ConventionContent, PartyKind
from ancrage.conventions.modeles.base import (
    Article,
    Block,
    BuiltinModel,
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
    join_fr,
    objectives_blocks,
    of,
    signatures_article,
    termination_article,
)


def build(content: ConventionContent) -> ConventionDocument:
    epn = content.first_of_kind(PartyKind.EPN) or content.parties[0]
    partners = [p for p in content.parties if p.key != epn.key]

    preamble: list[Block] = [
        Paragraph(
            f"{epn.name} est un espace public numérique (EPN), lieu de médiation numérique ouvert à tous, "
            "qui accompagne les habitants dans leurs usages du numérique."
        ),
        Paragraph(
            "Soucieuses d'atteindre de nouveaux publics et de mutualiser leurs moyens, les parties ont "
            f"décidé d'unir leurs compétences pour conduire ensemble l'action « {content.action_title} »."
        ),
    ]
    if sentence := collectivite_sentence(content):
        preamble.append(Paragraph(sentence))
    preamble.append(Paragraph("Il a été convenu ce qui suit :", emphasis=True))

    objet = Article(
        "Objet",
        [
            Paragraph(
                "La présente convention a pour objet de définir les modalités du partenariat entre "
                f"{designations(content)} pour la mise en œuvre de l'action « {content.action_title} », "
                "ainsi que le rôle de chacune des parties."
            ),
            Paragraph(content.purpose),
            *objectives_blocks(content),
        ],
    )
    governance = Article(
        "Pilotage du partenariat",
        [
            Paragraph(
                "Un comité de suivi, composé d'un représentant de chacune des parties, se réunit au "
                "démarrage de l'action puis selon la périodicité prévue à l'article relatif à "
                "l'évaluation. Il veille à la bonne exécution de la présente convention et à la répartition "
                "des tâches convenue entre les parties."
            ),
            Paragraph(
                f"Chaque partie désigne un interlocuteur référent. {epn.designation[:1].upper()}"
                f"{epn.designation[1:]} assure le secrétariat du comité et la diffusion de ses comptes rendus"
                + (f" auprès {of(join_fr([p.designation for p in partners]))}." if partners else ".")
            ),
        ],
    )
    articles = [
        objet,
        governance,
        duration_article(content),
        commitments_article(content),
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
        subtitle="Convention de partenariat",
        preamble=preamble,
        articles=articles,
    )


MODEL = BuiltinModel(
    slug="partenariat_generique",
    label="Convention de partenariat",
    description="Une action menée par l'EPN avec un ou plusieurs partenaires locaux.",
    build=build,
)
