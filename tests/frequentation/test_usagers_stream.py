"""The streamed, vectorised reading of the usagers file and its import by chunks.

The streaming reader must give exactly what the per-row reader (``read_usagers_exact``) gives:
the same records, or the same French, located errors in the same order. Hypothesis builds valid
and near-valid files (values the per-row reader normalises, and every kind of mistake), read
with tiny chunks so that a file spans many of them.
"""

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.core.importing import ImportRejected
from ancrage.frequentation import comptages, readers, services
from ancrage.frequentation.models import FrequentationImport, Profils, Usager
from ancrage.frequentation.readers import columns, stream
from tests.organisations.factories import StructureFactory
from tests.properties import examples

HEADER = ";".join(readers.USAGERS_COLUMNS)
KNOWN = {"352380101", "352380102", "350010101", "35238", "35001", "2A0040000", "2A004", "01053"}


def outcome(read, data: bytes, **options):
    """Records and level, or the list of errors (as the user reads them)."""
    try:
        freq = read(data, "usagers.csv", current_year=2024, **options)
    except ImportRejected as exc:
        return "rejected", [str(i) for i in exc.issues]
    return "read", list(freq.individus), freq.niveau


def streamed(chunk_bytes):
    def read(data, filename, **options):
        return readers.UsagersStream(data, filename, chunk_bytes=chunk_bytes, **options).read()

    return read


def from_disk(chunk_bytes):
    """The stream of a path: read block by block at each pass, never held whole."""

    def read(data, filename, **options):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "fichier-temporaire"
            path.write_bytes(data)
            return readers.UsagersStream(path, filename, chunk_bytes=chunk_bytes, **options).read()

    return read


def same(data: bytes, secteurs=None, chunk_bytes=64):
    options = {"secteurs_connus": secteurs}
    expected = outcome(readers.read_usagers_exact, data, **options)
    assert outcome(streamed(chunk_bytes), data, **options) == expected
    assert outcome(from_disk(chunk_bytes), data, **options) == expected
    assert outcome(readers.read_usagers, data, **options) == expected
    return expected


# --- Values: valid, valid after normalisation, and wrong -----------------------------------------

VALID = {
    "annee": ["", "1958", "2001", "1900", "2024"],
    "tranche": ["", "15-29", "75+", "60-74"],
    "sexe": ["", "F", "H"],
    "csp": ["", "1", "5", "8"],
    "situation": ["", "en emploi", "retraité", "scolarisé", "sans emploi", "autre inactif"],
    "secteur": [("352380101", "35238"), ("352380102", ""), ("", "35001"), ("350010101", "35001")],
    "visite": ["", "2024-09-12", "2023-01-31"],
    "oriente": ["", "CCAS de Rennes", "Mission locale", "Maison de quartier Bréquigny"],
}
NEAR = {  # accepted, but only after the per-row reader's normalisation (or an edge case of it)
    "annee": [" 1958 ", "1958\u00a0"],
    "tranche": ["18 - 24 ans", "Moins de 12 ans", "70 ans et plus", "15–29", "<12", "30-44 ans"],
    "sexe": ["f", " h", "F\u00a0"],
    "csp": ["cs3", "CS7", " 2"],
    "situation": ["RETRAITE", "Retraité", "  en   emploi ", "scolarise", "Sans Emploi"],
    "secteur": [("35238101", ""), ("", "1053"), ("2a0040000", "2A004"), ("2A0040000", "")],
    "visite": [" 2024-02-29"],
    "oriente": [" CCAS ", "\u3000Relais\u3000", "a\\b", "tab\tin"],
}
WRONG = {
    "annee": ["1899", "2025", "58", "19 58", "abcd"],
    "tranche": ["vieux", "30-20", "130+"],
    "sexe": ["M", "X"],
    "csp": ["9", "CS0", "cadre"],
    "situation": ["étudiant", "chômeur"],
    "secteur": [("35238010", "35001"), ("352380101", "35001"), ("999990101", ""), ("", "99999"), ("1", "")],
    "visite": ["12/09/2024", "2024-02-30", "1950-01-01"],
}


@st.composite
def usager_files(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    wrongness = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    nearness = draw(st.sampled_from([0.0, 0.2, 0.6]))
    delimiter = draw(st.sampled_from([";", ";", ","]))
    rows = []
    idents = [f"u{i:03d}" for i in range(n)]
    for i in range(n):
        kind = draw(st.sampled_from(["ok", "near", "wrong"]) if wrongness else st.just("ok"))
        if kind == "near" and draw(st.floats(0, 1)) > nearness:
            kind = "ok"
        if kind == "wrong" and draw(st.floats(0, 1)) > wrongness:
            kind = "ok"
        cells = {}
        for name in VALID:
            pool = VALID[name]
            if kind == "near" and name in NEAR and draw(st.booleans()):
                pool = NEAR[name]
            if kind == "wrong" and name in WRONG and draw(st.floats(0, 1)) < 0.3:
                pool = WRONG[name]
            cells[name] = draw(st.sampled_from(pool))
        ident = idents[i]
        if kind == "wrong" and draw(st.floats(0, 1)) < 0.2:
            ident = draw(st.sampled_from(["", "  ", idents[draw(st.integers(0, n - 1))]]))
        elif kind == "near" and draw(st.booleans()):
            ident = draw(st.sampled_from([f" {ident} ", f"{ident}\u00a0", f"é{ident}"]))
        iris, commune = cells["secteur"]
        oriente = cells["oriente"].replace(",", " ") if delimiter == "," else cells["oriente"]
        values = [ident, cells["annee"], cells["tranche"], cells["sexe"], cells["csp"]]
        values += [cells["situation"], iris, commune, cells["visite"], oriente]
        row = delimiter.join(values)
        if kind == "wrong" and draw(st.floats(0, 1)) < 0.1:
            row = draw(st.sampled_from([row + delimiter + "en trop", "", delimiter * 9, "u999;1958"]))
        elif kind == "near" and draw(st.floats(0, 1)) < 0.1:
            row = draw(st.sampled_from(["", "   ", delimiter.join(values[:8])]))  # blank, short
        rows.append(row)
    if wrongness and draw(st.floats(0, 1)) < 0.1:
        rows.insert(draw(st.integers(0, len(rows))), f'"quoted{delimiter}cell"{delimiter}1958')
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = newline.join([HEADER.replace(";", delimiter), *rows])
    if draw(st.booleans()):
        text += newline
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252"]))
    return text.encode(encoding, errors="replace")


@examples(400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=usager_files(), known=st.booleans(), chunk_bytes=st.sampled_from([1, 64, 300, 1 << 20]))
def test_streamed_reader_gives_exactly_the_per_row_reader_result(data, known, chunk_bytes):
    same(data, KNOWN if known else None, chunk_bytes)


def test_a_clean_file_is_read_by_the_vectorised_path_only(monkeypatch):
    rows = [
        f"u{i};19{50 + i % 40};;F;{1 + i % 8};retraité;352380101;35238;2024-0{1 + i % 9}-12;"
        for i in range(500)
    ]
    data = "\n".join([HEADER, *rows]).encode()

    def no_row_reader(*args, **kwargs):
        raise AssertionError("the per-row reader was used")

    monkeypatch.setattr(stream, "usager_row", no_row_reader)
    freq = readers.UsagersStream(data, "u.csv", chunk_bytes=2000, current_year=2024).read()
    assert len(freq.individus) == 500 and len(freq.individus.chunks) > 5
    monkeypatch.undo()
    assert list(freq.individus) == list(
        readers.read_usagers_exact(data, "u.csv", current_year=2024).individus
    )


@pytest.mark.parametrize("order", ["short first", "long first"])
def test_a_short_row_and_a_long_row_that_even_out_are_read_row_by_row(order):
    """The vectorised path counts the separators of the whole chunk: a row with one too few and a
    row with one too many give the right total, and must still be read row by row (the short one,
    without its last optional cell, is accepted; the long one is refused)."""
    # Empty optional cells: shifted by one separator, every cell would still look valid.
    rows = [f"u{i}" + ";" * 9 for i in range(6)]
    short, long = "s" + ";" * 8, "l" + ";" * 10
    rows[2:4] = [short, long] if order == "short first" else [long, short]
    data = "\n".join([HEADER, *rows]).encode()
    same(data, KNOWN, 1 << 20)
    with pytest.raises(ImportRejected) as refused:
        readers.UsagersStream(data, "u.csv", chunk_bytes=1 << 20).read()
    assert {issue.line for issue in refused.value.issues} == {5 if order == "short first" else 4}


def test_duplicates_across_chunks_are_reported_exactly():
    rows = [f"u{i % 300};1958;;F;;;352380101;;;" for i in range(400)]
    data = "\n".join([HEADER, *rows]).encode()
    kind, errors = same(data, chunk_bytes=500)
    assert kind == "rejected" and len(errors) == 100
    assert errors[0] == (
        "Fichier « usagers.csv », ligne 302, colonne identifiant : "
        "Identifiant « u0 » en double (déjà ligne 2)."
    )


def test_a_hash_collision_is_not_a_duplicate(monkeypatch):
    monkeypatch.setattr(stream, "hash_bytes", lambda values: np.zeros(len(values), dtype=np.uint64))
    data = "\n".join([HEADER, *(f"u{i};1958;;F;;;352380101;;;" for i in range(50))]).encode()
    assert same(data, chunk_bytes=200)[0] == "read"


def test_at_most_the_first_thousand_errors_in_reading_order():
    rows = [f"u{i % 700};1800;;M;;;352380101;;;" for i in range(1400)]
    data = "\n".join([HEADER, *rows]).encode()
    kind, errors = same(data, chunk_bytes=4000)
    assert kind == "rejected" and len(errors) == 1000


def test_progress_is_reported_by_chunk():
    calls = []
    data = "\n".join([HEADER, *(f"u{i};1958;;F;;;352380101;;;" for i in range(100))]).encode()
    readers.UsagersStream(data, "u.csv", chunk_bytes=300, progress=lambda d, t: calls.append((d, t))).read()
    assert calls[0] == (0, 100) and calls[-1] == (100, 100) and len(calls) > 5
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_columns_behave_as_a_sequence_of_records():
    data = "\n".join(
        [HEADER, *(f"u{i};1958;15-29;F;3;;352380101;;2024-01-0{1 + i % 9};x" for i in range(30))]
    ).encode()
    columns = readers.UsagersStream(data, "u.csv", chunk_bytes=100).read().individus
    records = list(readers.read_usagers_exact(data, "u.csv").individus)
    assert len(columns) == 30 and columns[0] == records[0] and columns[-1] == records[-1]
    assert columns[7:12] == records[7:12] and columns == records
    assert columns[3].premiere_visite == dt.date(2024, 1, 4) and columns[3].tranche_age == (15, 30)
    with pytest.raises(IndexError):
        columns[30]


# --- The import by chunks --------------------------------------------------------------------------


def _rows_of(dataset):
    usagers = list(
        Usager.objects.filter(dataset=dataset)
        .order_by("id")
        .values_list(*[f for f in services.USAGER_FIELDS if f not in ("id", "dataset")])
    )
    profils = list(comptages.profils_of(dataset).rows())
    meta = FrequentationImport.objects.filter(pk=dataset.pk).values_list(
        "nb_enregistrements", "niveau", "periode_debut", "periode_fin"
    )
    return usagers, profils, list(meta)


def _file(n=300, bad_line=None):
    rows = []
    for i in range(n):
        annee = "" if i % 7 == 0 else str(1940 + i % 70)
        tranche = "75+" if i % 7 == 0 and i % 2 else ""
        visite = "" if i % 5 == 0 else f"202{i % 4}-0{1 + i % 9}-1{i % 10}"
        iris = ["352380101", "352380102", ""][i % 3]
        commune = "35238" if iris else "35001"
        oriente = ["", "CCAS", "a\\b", "tab\there", "x" * 250][i % 5]
        sexe, csp = "FH"[i % 2] if i % 4 else "", i % 9 or ""
        row = f" u{i};{annee};{tranche};{sexe};{csp};retraité;{iris};{commune};{visite};{oriente}"
        rows.append("u0;1800;;M;;;;;;" if i == bad_line else row)
    return "\n".join([HEADER, *rows]).encode()


def _import(freq, structure):
    return services.frequentation_import(
        acting_user=None, structure=structure, frequentation=freq, sha256="x" * 64
    )


@pytest.mark.django_db(transaction=False)
def test_import_by_chunks_writes_the_very_rows_of_the_per_row_import(monkeypatch):
    data = _file()
    monkeypatch.setattr(services, "BATCH_SIZE", 37)
    before = _import(readers.read_usagers_exact(data, "u.csv", secteurs_connus=KNOWN), StructureFactory())
    stream = readers.UsagersStream(data, "u.csv", secteurs_connus=KNOWN, chunk_bytes=700)
    after = _import(stream, StructureFactory())
    assert _rows_of(after) == _rows_of(before)
    columns = readers.UsagersStream(data, "u.csv", secteurs_connus=KNOWN, chunk_bytes=900).read()
    assert _rows_of(_import(columns, StructureFactory())) == _rows_of(before)


@pytest.mark.parametrize("merge_at", [1, 30])
def test_profiles_merged_along_the_way_are_those_of_the_per_row_import(db, monkeypatch, merge_at):
    data = _file()
    before = _import(readers.read_usagers_exact(data, "u.csv", secteurs_connus=KNOWN), StructureFactory())
    merges = []
    merge = services._ProfileCounter._merge
    monkeypatch.setattr(services._ProfileCounter, "MERGE_AT", merge_at)
    monkeypatch.setattr(
        services._ProfileCounter, "_merge", lambda self: (merges.append(self.pending), merge(self))
    )
    stream = readers.UsagersStream(data, "u.csv", secteurs_connus=KNOWN, chunk_bytes=300)
    assert _rows_of(_import(stream, StructureFactory())) == _rows_of(before)
    assert len(merges) > 2  # merged along the way, not only at the end


@pytest.mark.django_db(transaction=False)
def test_profiles_counted_in_python_when_ids_outgrow_their_bits(monkeypatch):
    data = _file()
    before = _import(readers.read_usagers_exact(data, "u.csv"), StructureFactory())
    monkeypatch.setattr(services, "_PROFILE_BITS", (1, 8, 8, 10, 2, 4, 3))  # two sectors at most
    stream = readers.UsagersStream(data, "u.csv", chunk_bytes=700)
    assert _rows_of(_import(stream, StructureFactory())) == _rows_of(before)


@pytest.mark.django_db
def test_a_bad_row_in_the_last_chunk_leaves_nothing_written():
    structure = StructureFactory()
    stream = readers.UsagersStream(_file(bad_line=299), "usagers.csv", chunk_bytes=500, current_year=2024)
    with pytest.raises(ImportRejected) as exc:
        _import(stream, structure)
    assert [str(i) for i in exc.value.issues] == same(_file(bad_line=299))[1]
    assert (FrequentationImport.objects.count(), Usager.objects.count(), Profils.objects.count()) == (0, 0, 0)


# --- The import job: preview, apply, refusal -------------------------------------------------------


@pytest.fixture
def staff(db):
    from ancrage.organisations.enums import Role
    from tests.organisations.factories import MembershipFactory

    membership = MembershipFactory(role=Role.RESPONSABLE)
    return membership.user, membership.structure


def _job(user, epn, contenu):
    from pathlib import Path

    from ancrage.diagnostic import jobs

    population = (Path(__file__).parents[1] / "fixtures" / "insee" / "rennes-iris-2016.csv").read_bytes()
    job = jobs.job_submit(
        acting_user=user, structure=epn, kind="population", fichier="p.csv", contenu=population
    )
    jobs.job_confirm(acting_user=user, job=job)
    job = jobs.job_submit(
        acting_user=user,
        structure=epn,
        kind="frequentation",
        fichier="u.csv",
        contenu=contenu,
        options={"format": "ancrage"},
    )
    job.refresh_from_db()
    return job


def _usagers(n, bad=None):
    rows = [f"u{k:03};19{50 + k % 40};;F;;;35238010{1 + k % 2};35238;2024-01-02;" for k in range(n)]
    if bad is not None:
        rows[bad] = "u000;1958;;M;;;352380101;35238;;"
    return "\n".join([HEADER, *rows]).encode()


def test_the_job_previews_then_stores_the_streamed_file(staff):
    from ancrage.diagnostic import jobs
    from ancrage.diagnostic.models import ImportJob

    user, epn = staff
    job = _job(user, epn, _usagers(25))
    assert job.state == ImportJob.State.PRET, job.erreurs
    resume = dict(map(tuple, job.apercu["resume"]))
    assert resume["Enregistrements"] == "25" and resume["Secteurs distincts"] == "2"
    assert resume["Niveau des secteurs"] == "iris"
    assert [line[:2] for line in job.apercu["lignes"]] == [[str(k + 2), str(1950 + k)] for k in range(10)]
    jobs.job_confirm(acting_user=user, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE, job.erreurs
    dataset = FrequentationImport.objects.get(pk=job.resultat_id)
    assert dataset.nb_enregistrements == 25 and dataset.niveau == "iris"
    assert dataset.periode_debut == dataset.periode_fin == dt.date(2024, 1, 2)
    assert Usager.objects.filter(dataset=dataset).count() == 25
    assert comptages.profils_of(dataset).records == 25
    assert job.progress_done == job.progress_total == 25


def test_the_job_refuses_a_file_with_one_bad_row_and_writes_nothing(staff):
    from ancrage.diagnostic.models import ImportJob

    user, epn = staff
    job = _job(user, epn, _usagers(25, bad=20))
    assert job.state == ImportJob.State.REFUSE
    assert job.erreurs == [
        "Fichier « u.csv », ligne 22, colonne identifiant : Identifiant « u000 » en double (déjà ligne 2).",
        "Fichier « u.csv », ligne 22, colonne sexe : Sexe « M » non reconnu : F, H ou vide.",
    ]
    assert (FrequentationImport.objects.count(), Usager.objects.count()) == (0, 0)


# --- Distinct values of a column, sorted as integers ----------------------------------------------


def _check_distinct(values: np.ndarray) -> None:
    distinct, inverse = columns.distinct_values(values)
    assert len(set(distinct.tolist())) == len(distinct)
    assert distinct[inverse].tolist() == values.tolist()


@examples(200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=20).filter(lambda b: b"\0" not in b), min_size=1, max_size=60))
def test_distinct_values_of_a_column_are_those_of_np_unique(values):
    _check_distinct(np.array(values, dtype=bytes))


@examples(200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=2).filter(lambda b: b"\0" not in b), min_size=1, max_size=300))
def test_distinct_values_of_a_narrow_column_are_those_of_np_unique(values):
    # Values of at most two bytes take the table of their 16-bit keys instead of the sort.
    _check_distinct(np.array(values, dtype=bytes))
    distinct, _ = columns.distinct_values(np.array(values, dtype=bytes))
    assert sorted(distinct.tolist()) == sorted(set(values))


def test_distinct_values_survive_a_collision_of_the_folded_keys():
    # Two 16-byte values whose folded keys (w0 * prime) ^ w1 are equal: the fallback must see it.
    prime = int(columns._FNV_PRIME)
    w0, w0b, w1 = 0x0101010101010101, 0x0202020202020202, 0x4141414141414141
    w1b = ((w0 * prime) ^ w1 ^ (w0b * prime)) & (2**64 - 1)
    a = w0.to_bytes(8, "little") + w1.to_bytes(8, "little")
    b = w0b.to_bytes(8, "little") + w1b.to_bytes(8, "little")
    assert a != b and b"\0" not in b
    _check_distinct(np.array([a, b, a], dtype="S16"))
