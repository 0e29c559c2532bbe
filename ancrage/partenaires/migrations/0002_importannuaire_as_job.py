"""Directory imports become background jobs: a state, an attempt, a heartbeat, progress.

Imports applied before keep their result and become "termine"; previews become "pret".
"""

import django.utils.timezone
from django.db import migrations, models


def statut_to_state(apps, schema_editor):
    ImportAnnuaire = apps.get_model("partenaires", "ImportAnnuaire")
    ImportAnnuaire.objects.filter(statut="applique").update(state="termine")
    ImportAnnuaire.objects.filter(statut="apercu").update(state="pret")


class Migration(migrations.Migration):
    dependencies = [("partenaires", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="importannuaire",
            name="state",
            field=models.CharField(
                choices=[
                    ("analyse_demandee", "En attente d’analyse"),
                    ("analyse", "Analyse en cours"),
                    ("pret", "Prêt à importer"),
                    ("refuse", "Refusé"),
                    ("import_demande", "En attente d’import"),
                    ("import", "Import en cours"),
                    ("termine", "Importé"),
                    ("annule", "Annulé"),
                ],
                default="analyse_demandee",
                max_length=20,
                verbose_name="état",
            ),
        ),
        migrations.RunPython(statut_to_state, migrations.RunPython.noop),
        migrations.RemoveField(model_name="importannuaire", name="statut"),
        migrations.AddField(
            model_name="importannuaire",
            name="attempt",
            field=models.PositiveIntegerField(default=0, verbose_name="tentative"),
        ),
        migrations.AddField(
            model_name="importannuaire",
            name="decisions",
            field=models.JSONField(blank=True, default=dict, verbose_name="décisions sur les lieux douteux"),
        ),
        migrations.AddField(
            model_name="importannuaire",
            name="erreurs",
            field=models.JSONField(blank=True, default=list, verbose_name="erreurs"),
        ),
        migrations.AddField(
            model_name="importannuaire",
            name="progress_done",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="importannuaire",
            name="progress_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="importannuaire",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now, verbose_name="mis à jour le"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="importannuaire",
            name="format",
            field=models.CharField(max_length=20, verbose_name="format"),
        ),
        migrations.AddIndex(
            model_name="importannuaire",
            index=models.Index(fields=["state"], name="importannuaire_state"),
        ),
    ]
