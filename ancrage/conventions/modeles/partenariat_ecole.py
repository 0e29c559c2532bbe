"""Modèle « Partenariat entre un EPN et une école ».

Sessions of digital education for pupils, run by the EPN's médiateurs with
the teachers. The model adds what a school partnership always needs: the
teacher stays responsible for the pupils, the sessions fit the school
project, and minors' data and images are protected.
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
    disputes_article,
    duration_article,
    evaluation_article,
    financial_article,
    objectives_blocks,
    signatures_article,
    termination_article,
)


def build(content: ConventionContent) -> ConventionDocument:
    epn = content.first_of_kind(PartyKind.EPN) or content.parties[0]
    school = content.first_of_kind(PartyKind.ECOLE) or content.parties[-1]

    preamble: list[Block] = [
        Paragraph(
            f"{epn.name} est un espace public numérique (EPN) dont la mission est de favoriser "
            "l'appropriation des outils et des usages numériques par tous les publics."
        ),
        Paragraph(
            f"{school.name} souhaite, dans le cadre de son projet d'école et des programmes de "
            "l'enseignement scolaire, sensibiliser ses élèves à un usage responsable et éclairé du numérique."
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
                f"{epn.designation} et {school.designation} pour la mise en œuvre de l'action "
                f"« {content.action_title} »."
            ),
            Paragraph(content.purpose),
            *objectives_blocks(content),
        ],
    )
    articles = [
        objet,
        _sessions_article(content, epn.designation, school.designation),
        duration_article(content),
        commitments_article(content),
        financial_article(content),
        communication_article(content),
        data_protection_article(minors=True),
        evaluation_article(content),
        termination_article(content),
        disputes_article(content),
        signatures_article(content),
    ]
    return assemble(
        content,
        subtitle="Convention de partenariat entre un espace public numérique et une école",
        preamble=preamble,
        articles=articles,
    )


def _sessions_article(content: ConventionContent, epn: str, school: str) -> Article:
    details = content.school
    blocks: list[Block] = []
    if details:
        blocks.append(Paragraph(f"L'action concerne {details.classes}."))
        if details.schedule:
            blocks.append(
                Paragraph(f"Les séances ont lieu selon le calendrier suivant : {details.schedule}.")
            )
    blocks += [
        Paragraph(
            f"Le contenu des séances est élaboré conjointement par {epn} et l'équipe enseignante de "
            f"{school}, en cohérence avec les programmes scolaires. Les médiateurs numériques "
            "interviennent en appui de l'enseignant et ne se substituent pas à lui."
        ),
        Paragraph(
            "Les élèves demeurent, pendant toute la durée des séances, y compris lors des déplacements, "
            "sous la responsabilité de leur enseignant, qui est présent à chaque séance."
            + (f" {details.supervision}" if details and details.supervision else "")
        ),
        Paragraph(
            f"Les séances qui se tiennent dans les locaux de l'EPN sont couvertes par l'assurance de "
            f"{epn} au titre de ses locaux et de ses équipements ; les élèves restent couverts par "
            "l'assurance scolaire."
        ),
    ]
    return Article("Organisation des séances et encadrement des élèves", blocks)


MODEL = BuiltinModel(
    slug="partenariat_ecole",
    label="Partenariat entre un EPN et une école",
    description="Des séances d'éducation au numérique pour des classes, construites avec les enseignants.",
    build=build,
)
