"""The audit trail's changes read in French: field names and states (ancrage.audit.labels)."""

from ancrage.audit import labels
from ancrage.audit.models import AuditEntry


def test_field_names_read_as_their_verbose_name():
    assert labels.field_label("organisations.structure", "referencee_par") != "referencee_par"
    assert "_" not in labels.field_label("organisations.structure", "referencee_par")
    assert labels.field_label("organisations.structure", "kind") != "kind"
    assert labels.field_label("inconnu.modele", "code_postal") == "code postal"


def test_a_convention_state_change_reads_as_its_labels():
    entry = AuditEntry(object_type="conventions.convention", changes={"etat": ["brouillon", "en_validation"]})
    assert entry.etat_change == "Brouillon → En validation"
    assert AuditEntry(object_type="conventions.convention", changes={"tour": 2}).etat_change == ""


def test_changed_fields_of_a_partner_entry():
    entry = AuditEntry(object_type="partenaires.partenaire", changes={"code_postal": "35000", "secteurs": []})
    assert entry.changed_fields == ["code postal", "secteurs couverts"]
