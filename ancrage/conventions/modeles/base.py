"""The text of a convention as a small document tree, and the articles all models share.

Why Python rather than .docx templates: the wording of a convention is legal
text that reviewers must be able to read and diff line by line in the repo.
A .docx is a zip of XML that no review tool can show. The tree below is
rendered twice, to DOCX and to PDF, by :mod:`ancrage.conventions.documents`,
which guarantees that the editable file and the frozen PDF say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ancrage.conventions import financement
from ancrage.conventions.content import (
    ContentError,
    ConventionContent,
    Party,
    PartyKind,
    format_amount,
    format_date,
    format_months,
)
from ancrage.core.wording import de_nom


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footer: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SubHeading:
    text: str


Block = Paragraph | BulletList | Table | SubHeading


@dataclass
class Article:
    title: str
    blocks: list[Block] = field(default_factory=list)
    number: int = 0  # set by ConventionDocument, so models never miscount

    @property
    def heading(self) -> str:
        return f"Article {self.number} – {self.title}"


@dataclass(frozen=True)
class SignatureSlot:
    party_name: str
    designation: str
    signatory_name: str
    signatory_title: str


@dataclass
class ConventionDocument:
    title: str
    subtitle: str
    reference: str
    parties: list[list[Paragraph]]  # one group of paragraphs per party, "Entre les soussignés"
    preamble: list[Block]
    articles: list[Article]
    closing: str  # "Fait à …, le …, en N exemplaires originaux."
    signatures: list[SignatureSlot]
    version: int = 1

    def __post_init__(self) -> None:
        for index, article in enumerate(self.articles, start=1):
            article.number = index

    def plain_text(self) -> str:
        """All the words of the document, for tests and full-text search."""
        lines = [self.title, self.subtitle]
        for group in self.parties:
            lines.extend(p.text for p in group)
        lines.extend(_block_text(b) for b in self.preamble)
        for article in self.articles:
            lines.append(article.heading)
            lines.extend(_block_text(b) for b in article.blocks)
        lines.append(self.closing)
        for slot in self.signatures:
            lines.extend([slot.party_name, slot.signatory_name, slot.signatory_title])
        return "\n".join(lines)


def _block_text(block: Block) -> str:
    if isinstance(block, Paragraph | SubHeading):
        return block.text
    if isinstance(block, BulletList):
        return "\n".join(block.items)
    rows = [block.header, *block.rows] + ([block.footer] if block.footer else [])
    return "\n".join(" | ".join(row) for row in rows)


@dataclass(frozen=True)
class BuiltinModel:
    slug: str
    label: str
    description: str
    build: Callable[[ConventionContent], ConventionDocument]


# --- Shared wording -------------------------------------------------------


def party_paragraphs(party: Party) -> list[Paragraph]:
    identity = party.name
    if party.legal_form:
        identity += f", {party.legal_form}"
    if party.address:
        identity += f", dont le siège est situé {party.address}"
    if party.siret:
        identity += f", immatriculée sous le numéro SIRET {party.siret}"
    lines = [Paragraph(identity + ",", emphasis=True)]
    if party.representative:
        rep = party.representative
        text = f"représentée par {rep.name}, en sa qualité {of(rep.title)}"
        if rep.mandate:
            text += f", {rep.mandate}"
        lines.append(Paragraph(text + ","))
    lines.append(Paragraph(f"ci-après « {party.designation} »,"))
    return lines


def parties_block(content: ConventionContent) -> list[list[Paragraph]]:
    groups = []
    last = len(content.parties) - 1
    for index, party in enumerate(content.parties):
        group = party_paragraphs(party)
        if index == 0:
            group.append(Paragraph("d'une part,"))
        else:
            group.append(Paragraph("d'autre part." if index == last else "d'autre part,"))
        if index != last:
            group.append(Paragraph("ET"))
        groups.append(group)
    return groups


def of(text: str) -> str:
    """French "de" with elision: "d'un an", "d'Adjoint au maire", "de Présidente"."""
    return f"d'{text}" if text[:1].lower() in "aeiouyhéèêàâîôû" else f"de {text}"


def join_fr(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


def designations(content: ConventionContent) -> str:
    return join_fr([p.designation for p in content.parties])


def objectives_blocks(content: ConventionContent) -> list[Block]:
    blocks: list[Block] = []
    if content.objectives:
        blocks.append(Paragraph("L'action poursuit les objectifs suivants :"))
        blocks.append(BulletList(list_items(list(content.objectives))))
    if content.target_publics:
        blocks.append(Paragraph("Elle s'adresse prioritairement aux publics suivants :"))
        blocks.append(BulletList(list_items(list(content.target_publics))))
    return blocks


def duration_article(content: ConventionContent) -> Article:
    d = content.duration
    blocks: list[Block] = [
        Paragraph(
            f"La présente convention est conclue pour une durée {of(format_months(d.months))} "
            f"à compter du {format_date(d.start_date)}, soit jusqu'au {format_date(d.end_date)} inclus."
        )
    ]
    renewal = format_months(d.renewal_months or d.months)
    if d.tacit_renewal:
        limit = (
            f", dans la limite de {d.max_renewals} reconduction{'s' if d.max_renewals > 1 else ''}"
            if d.max_renewals
            else ""
        )
        blocks.append(
            Paragraph(
                f"Elle est renouvelable par tacite reconduction, par périodes successives {of(renewal)}"
                f"{limit}, sauf dénonciation par l'une des parties notifiée aux autres par lettre "
                f"recommandée avec accusé de réception au moins {format_months(d.notice_months)} "
                "avant l'échéance en cours."
            )
        )
    else:
        blocks.append(
            Paragraph(
                "Elle ne fait l'objet d'aucune reconduction tacite. Son renouvellement ne peut résulter "
                "que d'une décision expresse des parties, formalisée par un avenant ou par une nouvelle "
                f"convention conclue au moins {format_months(d.notice_months)} avant son échéance, "
                "au vu de l'évaluation prévue à la présente convention."
            )
        )
    blocks.append(
        Paragraph(
            "Toute modification des conditions ou des modalités d'exécution de la présente convention "
            "fait l'objet d'un avenant signé par l'ensemble des parties."
        )
    )
    return Article("Durée et renouvellement", blocks)


def commitments_article(content: ConventionContent, intro: str = "") -> Article:
    """Each party's commitments. A financing task of the matrix is worded from the budget
    (``financement.financing_commitment``): a party commits to the amount the financial article
    states, or to nothing when the budget holds nothing from it."""
    problems = financement.contradictions(content)
    if problems:
        raise ContentError(" ".join(problems))
    decision = financement.decide(content)
    blocks: list[Block] = []
    if intro:
        blocks.append(Paragraph(intro))
    for party in content.parties:
        texts = []
        for commitment in content.commitments_of(party.key):
            if commitment.domain == "financement":
                text = financement.financing_commitment(decision, party.key, format_amount)
                if text is not None and text not in texts:
                    texts.append(text)
            else:
                texts.append(commitment.text)
        blocks.append(SubHeading(f"Engagements {de_nom(party.designation)}"))
        if texts:
            blocks.append(Paragraph(f"{_capitalize(party.designation)} s'engage à :"))
            blocks.append(BulletList(list_items(texts)))
        else:
            blocks.append(
                Paragraph(
                    f"{_capitalize(party.designation)} s'engage à participer aux instances de suivi "
                    "du partenariat et à informer les autres parties de toute difficulté rencontrée."
                )
            )
    blocks.append(
        Paragraph(
            "Chaque partie conserve la maîtrise et la responsabilité des missions qui lui sont propres. "
            "Aucune partie ne se substitue à une autre dans l'exercice de ses compétences, et la présente "
            "convention ne constitue ni une prestation de services ni un marché public."
        )
    )
    return Article("Engagements des parties", blocks)


def financial_article(content: ConventionContent) -> Article:
    """Generated from the budget (``financement.decide``): either each paying party's commitment
    with its amount and the modalités de versement, or « à titre gratuit », never both."""
    decision = financement.decide(content)
    finances = content.finances
    blocks: list[Block] = []
    beneficiary = content.party(decision.beneficiary_key) if decision.beneficiary_key else None
    if decision.free:
        blocks.append(
            Paragraph(
                "La présente convention est conclue à titre gratuit. Elle n'emporte aucun versement "
                "entre les parties, chacune supportant les frais liés à ses propres engagements."
            )
        )
        if content.premises is not None:
            blocks.append(
                Paragraph(
                    "La mise à disposition des locaux et des équipements est consentie sans contrepartie."
                )
            )
    if finances is not None and finances.lines:
        blocks.append(Paragraph("Le budget prévisionnel de l'action s'établit comme suit."))
        if finances.charges:
            blocks.append(_budget_table("Charges", finances.charges, content, finances.total_charges))
        if finances.resources:
            blocks.append(_budget_table("Ressources", finances.resources, content, finances.total_resources))
    if not decision.free:
        receiver = beneficiary.designation if beneficiary else "la partie qui porte l'action"
        blocks.append(SubHeading("Engagements financiers des parties"))
        for contributor in decision.paying:
            party = content.party(contributor.party_key)
            blocks.append(
                Paragraph(
                    f"{_capitalize(party.designation)} s'engage à verser à {receiver} une participation "
                    f"financière de {format_amount(contributor.cash)} au titre du financement de l'action."
                )
            )
        if beneficiary is not None and decision.own_funds:
            blocks.append(
                Paragraph(
                    f"{_capitalize(beneficiary.designation)} affecte à l'action "
                    f"{format_amount(decision.own_funds)} de ses fonds propres."
                )
            )
    if decision.in_kind:
        blocks.append(SubHeading("Contributions en nature"))
        for contributor in decision.in_kind:
            party = content.party(contributor.party_key)
            blocks.append(
                Paragraph(
                    f"{_capitalize(party.designation)} apporte à l'action une contribution en nature "
                    f"valorisée à {format_amount(contributor.in_kind)}."
                )
            )
        blocks.append(
            Paragraph(
                "Les contributions en nature sont valorisées pour information ; elles ne donnent lieu à "
                "aucun versement entre les parties."
            )
        )
    if decision.outside:
        listed = " ; ".join(
            f"{c.name} ({format_amount(c.cash + c.in_kind)}"
            + (", en nature" if c.in_kind and not c.cash else "")
            + ")"
            for c in decision.outside
        )
        blocks.append(
            Paragraph(
                "Les ressources suivantes proviennent d'organismes qui ne sont pas parties à la présente "
                f"convention et n'engagent aucune des parties : {listed}."
            )
        )
    if not decision.free:
        blocks.append(SubHeading("Modalités de versement"))
        blocks.append(
            Paragraph(
                decision.payment_terms
                or "Chaque participation est versée selon les modalités arrêtées par la partie qui la "
                "verse dans sa décision d'attribution, communiquée aux autres parties."
            )
        )
        blocks.append(
            Paragraph(
                "Les montants indiqués sont prévisionnels. Toute participation financière est versée "
                "sous réserve de l'inscription des crédits correspondants au budget de la partie concernée "
                "et, le cas échéant, de la production des justificatifs de dépenses."
            )
        )
    return Article("Dispositions financières", blocks)


def _budget_table(title, lines, content: ConventionContent, total) -> Table:
    """Charges: what and how much (a third column only when a charge names its party).
    Resources: what, brought by whom, how much."""

    def who(line) -> str:
        if line.party_key:
            return _capitalize(content.party(line.party_key).designation)
        return line.contributor or "—"

    def label(line) -> str:
        in_kind = line.in_kind and "nature" not in line.label
        return line.label + (" (en nature)" if in_kind else "")

    if title != "Ressources" and not any(line.party_key for line in lines):
        return Table(
            header=(title, "Montant"),
            rows=tuple((label(line), format_amount(line.amount)) for line in lines),
            footer=("Total", format_amount(total)),
        )
    return Table(
        header=(title, "Apporté par" if title == "Ressources" else "Partie concernée", "Montant"),
        rows=tuple((label(line), who(line), format_amount(line.amount)) for line in lines),
        footer=("Total", "", format_amount(total)),
    )


def communication_article(content: ConventionContent) -> Article:
    blocks: list[Block] = [
        Paragraph(
            "Les parties s'engagent à faire mention de leur partenariat sur tous les supports de "
            "communication relatifs à l'action (affiches, dépliants, sites internet, réseaux sociaux, "
            "communiqués), en y faisant figurer le nom et, le cas échéant, le logotype de chacune "
            "d'elles, dans le respect de leurs chartes graphiques respectives."
        ),
        Paragraph(
            "Chaque partie assure la promotion de l'action auprès de ses propres publics et réseaux. "
            "Aucune communication engageant une autre partie ne peut être diffusée sans son accord préalable."
        ),
    ]
    if content.communication:
        blocks.append(Paragraph(content.communication))
    return Article("Communication", blocks)


def evaluation_article(content: ConventionContent) -> Article:
    blocks: list[Block] = [
        Paragraph(
            f"Les parties se réunissent en comité de suivi {content.evaluation_frequency}, "
            "afin de dresser le bilan de l'action, d'en mesurer les résultats au regard des objectifs "
            "fixés et d'examiner les difficultés rencontrées."
        )
    ]
    if content.evaluation_indicators:
        blocks.append(Paragraph("L'évaluation s'appuie notamment sur les indicateurs suivants :"))
        blocks.append(BulletList(list_items(list(content.evaluation_indicators))))
    blocks.append(
        Paragraph(
            "Un bilan écrit, établi conjointement, est communiqué à chacune des parties ainsi qu'au "
            "responsable du suivi de l'EPN au sein de la collectivité. Il éclaire la décision de "
            "renouveler, de modifier ou de ne pas reconduire la présente convention."
        )
    )
    return Article("Suivi et évaluation", blocks)


def data_protection_article(minors: bool = False) -> Article:
    blocks: list[Block] = [
        Paragraph(
            "Les parties s'engagent à respecter la réglementation applicable aux données à caractère "
            "personnel, notamment le règlement (UE) 2016/679 du 27 avril 2016 et la loi n° 78-17 du "
            "6 janvier 1978 modifiée. Seules les données strictement nécessaires au suivi de l'action "
            "sont collectées ; les statistiques échangées entre les parties sont anonymes."
        )
    ]
    if minors:
        blocks.append(
            Paragraph(
                "Aucune image ni aucun enregistrement permettant d'identifier un élève ne peut être "
                "réalisé ou diffusé sans l'autorisation écrite préalable de ses représentants légaux. "
                "Les comptes éventuellement créés pour les élèves lors des séances sont supprimés à "
                "l'issue de l'action."
            )
        )
    return Article("Protection des données personnelles", blocks)


def termination_article(content: ConventionContent) -> Article:
    notice = format_months(content.termination_notice_months)
    return Article(
        "Résiliation",
        [
            Paragraph(
                "En cas de non-respect par l'une des parties de l'un de ses engagements, la présente "
                "convention peut être résiliée de plein droit par toute autre partie, à l'expiration "
                f"d'un délai {of(notice)} suivant l'envoi d'une lettre recommandée avec accusé de réception "
                "valant mise en demeure et restée sans effet."
            ),
            Paragraph(
                "Chaque partie peut également y mettre fin pour un motif d'intérêt général, moyennant "
                f"le respect d'un préavis {of(notice)} notifié dans les mêmes formes."
            ),
            Paragraph(
                "La résiliation ne donne lieu à aucune indemnité. Les engagements en cours d'exécution à "
                "la date de prise d'effet de la résiliation sont menés à leur terme, sauf accord contraire "
                "des parties, et les sommes éventuellement versées et non utilisées sont restituées."
            ),
        ],
    )


def disputes_article(content: ConventionContent) -> Article:
    court = content.jurisdiction or "la juridiction territorialement compétente"
    return Article(
        "Règlement des litiges",
        [
            Paragraph(
                "En cas de difficulté dans l'interprétation ou l'exécution de la présente convention, "
                "les parties s'efforcent de la résoudre à l'amiable, notamment dans le cadre du comité "
                "de suivi."
            ),
            Paragraph(
                f"À défaut d'accord amiable dans un délai de deux mois, le litige est porté devant {court}."
            ),
        ],
    )


def signatures_article(content: ConventionContent) -> Article:
    return Article(
        "Signatures",
        [
            Paragraph(
                "La présente convention est signée électroniquement. Chaque partie reconnaît que la "
                "version signée, scellée par la plateforme Ancrage, fait foi entre elles. Elle prend "
                "effet à la date de sa dernière signature, et au plus tôt à la date de début mentionnée "
                "ci-dessus."
            )
        ],
    )


_NUMBERS = {
    2: "deux",
    3: "trois",
    4: "quatre",
    5: "cinq",
    6: "six",
    7: "sept",
    8: "huit",
    9: "neuf",
    10: "dix",
}


def closing_text(content: ConventionContent) -> str:
    """« Fait à …, le … », then the form of the original: electronic, one for all the parties.

    A convention signed through Ancrage has one original, electronic (Code civil, art. 1366 and
    1367); the rule of « autant d'originaux que de parties » (art. 1375) is met when each party
    can keep a copy on a durable medium, which the platform gives every party. The date is the
    last signature's, filled in when the convention is sealed (docs/conventions-signature.md).
    """
    date_text = format_date(content.signature_date) if content.signature_date else "…………………"
    parties = len(content.parties)
    return (
        f"Fait à {content.place_of_signature}, le {date_text}, en un original établi sous forme "
        "électronique et conservé par la plateforme Ancrage, conformément aux articles 1366, 1367 "
        f"et 1375 du Code civil ; chacune des {_NUMBERS.get(parties, str(parties))} parties en reçoit "
        "un exemplaire sur support durable."
    )


def signature_slots(content: ConventionContent) -> list[SignatureSlot]:
    slots = []
    for signatory in content.signatories:
        party = content.party(signatory.party_key)
        slots.append(SignatureSlot(party.name, party.designation, signatory.name, signatory.title))
    return slots


def assemble(
    content: ConventionContent, *, subtitle: str, preamble: list[Block], articles
) -> ConventionDocument:
    return ConventionDocument(
        title=content.title,
        subtitle=subtitle,
        reference=content.reference,
        parties=parties_block(content),
        preamble=preamble,
        articles=list(articles),
        closing=closing_text(content),
        signatures=signature_slots(content),
        version=content.version,
    )


def collectivite_sentence(content: ConventionContent) -> str:
    collectivite = content.first_of_kind(PartyKind.COLLECTIVITE)
    if collectivite is None:
        return ""
    return (
        f"{_capitalize(collectivite.designation)} soutient le développement de nouvelles actions de "
        "médiation numérique sur son territoire, en cohérence avec ses priorités."
    )


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def list_items(phrases: list[str]) -> tuple[str, ...]:
    """French enumeration after a colon: lower-case start, ";" between items, "." at the end."""
    items = []
    for index, phrase in enumerate(phrases):
        phrase = phrase.strip().rstrip(".;")
        if phrase[:2] != phrase[:2].upper():  # keep acronyms such as "EPN" intact
            phrase = phrase[:1].lower() + phrase[1:]
        items.append(phrase + ("." if index == len(phrases) - 1 else " ;"))
    return tuple(items)
