"""The territory's sum over its EPNs (``diagnostic.couverture``, pure): people counted once where
keys allow, sectors no EPN reaches, publics under-represented, crossed with the priorities."""

from hypothesis import given
from hypothesis import strategies as st

from ancrage.diagnostic import couverture as c
from ancrage.diagnostic.priorites import Priorite


def _epn(epn_id, secteurs, niveau="iris", categories=(), unite=c.PERSONNES, cles=None, espace=None):
    return c.EpnCouverture(
        epn_id=epn_id,
        nom=f"EPN {epn_id}",
        niveau=niveau,
        unite=unite,
        secteurs=tuple(c.SecteurEpn(code, f"nom {code}", pop, n) for code, pop, n in secteurs),
        categories=tuple(c.CategorieEpn(d, cat, pop, n) for d, cat, pop, n in categories),
        cles=cles,
        espace_cles=espace,
    )


def test_sectors_no_epn_reaches_are_listed_with_the_priorities_that_target_them():
    blosne = _epn(1, [("352381101", 2000, 60), ("352380901", 1500, 0), ("352381001", 1800, 0)])
    villejean = _epn(2, [("352381001", 1800, 40), ("352380901", 1500, 0), ("352389999", 0, 0)])
    priorites = [
        Priorite("politique de la ville", qpv=True),
        Priorite("seniors", categories=(("age", "60+"),)),
    ]
    result = c.couverture([blosne, villejean], priorites, secteurs_qpv={"352380901"})
    assert result.niveau == "iris"
    assert [s.code for s in result.non_atteints] == ["352380901"]  # the empty IRIS has no inhabitant
    (ferrer,) = result.non_atteints
    assert ferrer.population == 1500  # the same INSEE figure in both bases, not their sum
    assert ferrer.priorites == ("politique de la ville",)  # a public's priority targets no sector
    assert not ferrer.attendus_faibles and round(ferrer.attendus) == round(1500 * 100 / 5300)
    by_code = {s.code: s for s in result.secteurs}
    assert by_code["352381001"].par_epn == {1: 0, 2: 40} and by_code["352381001"].dedoublonne
    assert result.total_usagers == 100 and result.dedoublonne  # no sector counted by two EPNs


def test_counts_are_summed_and_said_so_when_nothing_identifies_a_person_across_epns():
    a = _epn(1, [("35238", 1000, 30)], niveau="commune")
    b = _epn(2, [("352380101", 500, 20), ("352380102", 500, 5)])  # IRIS of the same commune
    result = c.couverture([a, b])
    assert result.niveau == "commune"  # one EPN by commune: the territory is read by commune
    (rennes,) = result.secteurs
    assert rennes.population == 1000 and rennes.par_epn == {1: 30, 2: 25}
    assert rennes.usagers == 55 and not rennes.dedoublonne and not result.dedoublonne


def test_accompaniments_are_counted_apart_and_quartier_diagnostics_listed_apart():
    coop = _epn(1, [("35238", 1000, 80)], niveau="commune", unite="accompagnements")
    quartiers = _epn(2, [("Le Blosne", 900, 10)], niveau="quartier")
    sans = c.EpnCouverture(epn_id=3, nom="EPN 3", niveau=None)
    result = c.couverture([coop, quartiers, sans])
    (rennes,) = result.secteurs
    assert rennes.usagers == 0 and rennes.accompagnements == 80 and rennes.atteint
    assert result.epns_non_cumulables == (2,) and result.epns_sans_diagnostic == (3,)


def test_publics_territory_wide_share_one_population_when_territories_are_the_same():
    secteurs = [("352380101", 1000, 50)]
    cats = [("age", "15-29", 300, 40), ("age", "60+", 700, 10)]
    result = c.couverture(
        [_epn(1, secteurs, categories=cats), _epn(2, secteurs, categories=cats)],
        [Priorite("seniors", categories=(("age", "60+"),))],
    )
    seniors = next(p for p in result.publics if p.categorie == "60+")
    assert seniors.population == 700 and seniors.usagers == 20  # population once, usagers summed
    assert seniors.sous_represente and seniors.priorites == ("seniors",)
    assert [p.categorie for p in result.publics_sous_representes] == ["60+"]
    assert not result.populations_approchees


# --- Invariants of the count across EPNs ----------------------------------------------------------

SECTEURS = ("352380101", "352380102", "352380103")


@st.composite
def _territoire(draw, shared_people: bool):
    """EPNs with keys of one namespace; ``shared_people`` False: no key in two EPNs."""
    n_epn = draw(st.integers(1, 4))
    epns = []
    for i in range(n_epn):
        cles = {}
        for code in SECTEURS:
            people = draw(st.sets(st.integers(0, 30), max_size=12))
            cles[code] = frozenset(f"p{p}" if shared_people else f"e{i}-p{p}" for p in people)
        epns.append(
            _epn(i, [(code, 1000, len(cles[code])) for code in SECTEURS], cles=cles, espace="carte commune")
        )
    return epns


@given(epns=_territoire(shared_people=True))
def test_a_sector_counts_at_most_the_sum_of_its_epns_and_at_least_the_largest(epns):
    for s in c.couverture(epns).secteurs:
        counts = list(s.par_epn.values())
        assert max(counts) <= s.usagers <= sum(counts)


@given(epns=_territoire(shared_people=False))
def test_with_no_person_shared_the_count_is_the_sum(epns):
    result = c.couverture(epns)
    for s in result.secteurs:
        assert s.usagers == sum(s.par_epn.values()) and s.dedoublonne
    assert result.dedoublonne


@given(epns=_territoire(shared_people=True))
def test_without_keys_the_count_is_the_sum_whatever_the_people(epns):
    bare = [_epn(e.epn_id, [(s.code, s.population, s.usagers) for s in e.secteurs]) for e in epns]
    with_keys, without = c.couverture(epns), c.couverture(bare)
    for k, s in zip(with_keys.secteurs, without.secteurs, strict=True):
        assert k.usagers <= s.usagers == sum(s.par_epn.values())
