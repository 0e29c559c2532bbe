"""The budget moves from the dossier to the action (one budget, from the action to the convention
and the dossier). Each action takes the lines of its latest dossier that has any; every dossier
keeps its own lines, which become the copy a deposited dossier reads (a brouillon reads the
action's from now on)."""

from django.db import migrations


def budget_to_action(apps, schema_editor):
    Dossier = apps.get_model("dossiers", "Dossier")
    ChargeAction = apps.get_model("actions", "ChargeAction")
    RessourceAction = apps.get_model("actions", "RessourceAction")
    ActionPartenaire = apps.get_model("actions", "ActionPartenaire")
    done = set()
    dossiers = Dossier.objects.select_related("action__structure__collectivite").order_by(
        "action_id", "-created_at", "-id"
    )
    for dossier in dossiers:
        if dossier.action_id in done:
            continue
        charges = list(dossier.charges.order_by("ordre", "id"))
        ressources = list(dossier.ressources.order_by("ordre", "id"))
        if not (charges or ressources):
            continue
        done.add(dossier.action_id)
        action = dossier.action
        collectivite = action.structure.collectivite
        partners = {
            p.partenaire.nom.casefold(): f"partenaire-{p.partenaire_id}"
            for p in ActionPartenaire.objects.filter(action=action).select_related("partenaire")
        }
        ChargeAction.objects.bulk_create(
            ChargeAction(
                action=action, categorie=c.categorie, libelle=c.libelle, montant=c.montant, ordre=c.ordre
            )
            for c in charges
        )

        def party(line):
            if line.type_contributeur == "porteur":
                return "epn"
            name = line.contributeur.strip().casefold()
            if name in partners:
                return partners[name]
            if collectivite is not None and collectivite.nom.casefold() == name:
                return "collectivite"
            return ""

        RessourceAction.objects.bulk_create(
            RessourceAction(
                action=action,
                categorie=r.categorie,
                libelle=r.libelle,
                montant=r.montant,
                partie=party(r),
                contributeur=r.contributeur,
                type_contributeur=r.type_contributeur,
                ordre=r.ordre,
            )
            for r in ressources
        )


def budget_back(apps, schema_editor):
    # The dossiers kept their lines: going back only forgets the action's.
    apps.get_model("actions", "ChargeAction").objects.all().delete()
    apps.get_model("actions", "RessourceAction").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0003_journal_signature"),
        ("actions", "0003_budget_of_the_action"),
    ]

    operations = [migrations.RunPython(budget_to_action, budget_back)]
