import factory

from ancrage.accounts.models import User
from ancrage.organisations.enums import CollectiviteType, Role, StructureKind
from ancrage.organisations.models import Collectivite, Membership, Reseau, Structure


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    username = factory.SelfAttribute("email")
    first_name = "Alex"
    last_name = factory.Sequence(lambda n: f"Test{n}")
    password = factory.django.Password("mot-de-passe-de-test")


class ReseauFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reseau

    nom = factory.Sequence(lambda n: f"Réseau {n}")


class CollectiviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collectivite

    reseau = factory.SubFactory(ReseauFactory)
    type = CollectiviteType.COMMUNE
    code = "35238"
    nom = "Rennes"

    class Params:
        rennes_metropole = factory.Trait(type=CollectiviteType.EPCI, code="243500139", nom="Rennes Métropole")
        vitre = factory.Trait(type=CollectiviteType.COMMUNE, code="35360", nom="Vitré")


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Structure

    reseau = factory.SubFactory(ReseauFactory)
    kind = StructureKind.EPN
    nom = factory.Sequence(lambda n: f"EPN {n}")
    code_commune = "35238"

    class Params:
        partenaire = factory.Trait(
            kind=StructureKind.PARTENAIRE, nom=factory.Sequence(lambda n: f"Partenaire {n}")
        )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.ANIMATEUR
    structure = factory.SubFactory(StructureFactory)
