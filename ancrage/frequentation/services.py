"""Writes on attendance: an imported file becomes records, their profiles and/or aggregated counts.

Each service is atomic and leaves an audit entry. ``frequentation_of`` rebuilds the pure
``readers.Frequentation`` the diagnostic engine reads, from the profiles maintained at import
(a few thousand rows, whatever the number of usagers).
"""

import calendar
import contextlib
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import copy as psycopg_copy

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.frequentation import aggregates, comptages, readers
from ancrage.frequentation.models import (
    USAGER_PK_LIGNES,
    CompteAgrege,
    FrequentationImport,
    Usager,
    usager_pk,
)

BATCH_SIZE = 5000


def _profile_key(record) -> tuple:
    visite = getattr(record, "premiere_visite", None) or getattr(record, "date", None)
    return (
        record.code_iris or "",
        record.code_commune or "",
        record.annee_naissance,
        # Only La Coop's date is not used for ages by the engine (it has no birth year anyway).
        visite.year if visite and isinstance(record, readers.Usager) else None,
        readers.band_label(record.tranche_age) if record.tranche_age else "",
        record.sexe or "",
        record.csp or "",
        record.situation or "",
    )


# The model's fields are named as the columns of the usagers file, in the same order.
USAGER_FIELDS = ("id", "dataset", "ligne", *readers.USAGERS_COLUMNS)


def _usager_values(dataset_id: int, record, adapt_date) -> tuple:
    """The values of one ``Usager`` row (``USAGER_FIELDS``), as the database stores them."""
    if isinstance(record, readers.Usager):
        identifiant, visite, oriente = record.identifiant, record.premiere_visite, record.oriente_par or ""
    else:
        identifiant, visite, oriente = record.id_cra or "", record.date, ""
    return (
        usager_pk(dataset_id, record.ligne),
        dataset_id,
        record.ligne,
        identifiant[:100],
        record.annee_naissance,
        readers.band_label(record.tranche_age) if record.tranche_age else "",
        record.sexe or "",
        record.csp or "",
        record.situation or "",
        record.code_iris or "",
        record.code_commune or "",
        adapt_date(visite) if visite is not None else None,
        oriente[:200],
    )


def _write_rows(model, fields: tuple[str, ...], rows: list[tuple] | bytes, copy=None) -> None:
    """Insert value tuples into ``model``'s table, in the caller's transaction.

    The import's hot path: a model instance per row and the ORM's INSERT compilation
    were about three quarters of an import's time. Rows go through ``COPY`` on PostgreSQL and
    ``executemany`` elsewhere; values are already what the database stores (no field conversion).
    """
    if not rows:
        return
    if copy is not None:  # a COPY the caller keeps open (PostgreSQL, the chunked import)
        # Always as text through ``write``: psycopg buffers ``write_row`` apart, out of order.
        copy.write(rows if isinstance(rows, bytes) else "".join(map(_copy_line, rows)).encode())
        return
    meta, quote = model._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


# --- The usagers file, by chunks ------------------------------------------------------
#
# Each chunk of ``readers.UsagerChunk`` (columns, distinct values and codes) becomes the text of a
# ``COPY`` built with numpy (PostgreSQL) or value tuples (``executemany``, other databases), and
# its profiles are counted with numpy: each row's profile is packed into one 64-bit integer made of
# the ids of its parts (sector, birth year, visit year, band, sexe, CSP, situation), and counted
# per chunk with ``np.unique``; the counts of the chunks are merged the same way. The profiles come
# out in the order of their first row, as the ``Counter`` of ``frequentation_import`` gives them.

_PROFILE_BITS = (22, 8, 8, 10, 2, 4, 3)  # sector, birth year, visit year, band, sexe, CSP, situation
_COPY_UNSAFE = np.zeros(256, dtype=bool)
_COPY_UNSAFE[[9, 10, 13, 92]] = True  # what COPY's text format would need to escape


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)  # int, date (ISO)


def _copy_line(row: tuple) -> str:
    """One row of ``COPY``'s text format, escaped."""
    return "\t".join(map(_copy_value, row)) + "\n"


def _copy_text(columns: list[np.ndarray]) -> bytes:
    """The rows of ``COPY … FROM STDIN`` (text format) of bytes columns without NUL, tab, newline,
    carriage return or backslash: the padded matrix of the cells, separators added, NULs removed."""
    n = len(columns[0])
    parts = []
    for k, column in enumerate(columns):
        column = np.ascontiguousarray(column)
        parts.append(column.view(np.uint8).reshape(n, column.dtype.itemsize))
        parts.append(np.full((n, 1), 10 if k == len(columns) - 1 else 9, dtype=np.uint8))
    flat = np.concatenate(parts, axis=1).ravel()
    return flat[flat != 0].tobytes()


def _decimal_text(values: np.ndarray) -> np.ndarray:
    """The text of ``values.astype(bytes)`` for integers ≥ 0 (as wide as the longest), written
    digit by digit for the whole column: numpy's own conversion formats each integer apart, three
    times slower (about 0.12 s per million rows and column). The rows with fewer digits than the
    widest (the lines below a power of ten, in a file's first chunk) are converted by numpy."""
    values = np.asarray(values, dtype=np.int64)
    if not len(values) or int(values.min()) < 0:
        return values.astype(bytes)
    width = len(str(int(values.max())))
    digits = np.empty((len(values), width), dtype=np.uint8)
    rest = values.copy()
    for k in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        digits[:, k] = digit
    digits += ord("0")
    text = digits.view(f"S{width}").ravel()
    short = values < 10 ** (width - 1)
    if short.any():
        text[short] = values[short].astype(bytes)
    return text


def _copy_safe(values: np.ndarray) -> bool:
    return not _COPY_UNSAFE[np.ascontiguousarray(values).view(np.uint8)].any()


def _truncated(values: np.ndarray, length: int) -> np.ndarray:
    """Each value cut to ``length`` characters, as the model's field stores it."""
    if values.dtype.itemsize <= length:
        return values
    return np.array([v.decode()[:length].encode() for v in values.tolist()], dtype=bytes)


def _lut(values: list, text) -> np.ndarray:
    return np.array([text(v) for v in values] or [b""], dtype=bytes)


class _ProfileCounter:
    """Profiles (``_profile_key``) of the chunks, counted with numpy, in first-occurrence order."""

    MERGE_AT = 4_000_000  # unmerged keys kept at least before they are merged

    def __init__(self):
        self.parts: list[dict] = [{} for _ in _PROFILE_BITS]
        self.keys: list[np.ndarray] = []
        self.firsts: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.pending = 0  # keys of the chunks not merged yet
        self.merged = 0  # keys of the merged part
        self.offset = 0
        self.python: Counter | None = None  # when the ids outgrow their bits (never in practice)

    @staticmethod
    def _row_parts(chunk: readers.UsagerChunk) -> list[tuple[list, np.ndarray]]:
        visits = chunk.premiere_visite
        return [
            ([(i or "", c or "") for i, c in chunk.secteur.values], chunk.secteur.codes),
            (chunk.annee_naissance.values, chunk.annee_naissance.codes),
            ([v.year if v else None for v in visits.values], visits.codes),
            ([readers.band_label(b) if b else "" for b in chunk.tranche_age.values], chunk.tranche_age.codes),
            ([v or "" for v in chunk.sexe.values], chunk.sexe.codes),
            ([v or "" for v in chunk.csp.values], chunk.csp.codes),
            ([v or "" for v in chunk.situation.values], chunk.situation.codes),
        ]

    def add(self, chunk: readers.UsagerChunk) -> None:
        n = len(chunk)
        row_parts = self._row_parts(chunk)
        if self.python is None:
            luts = [
                np.array([ids.setdefault(v, len(ids)) for v in values], dtype=np.uint64)
                for ids, (values, _) in zip(self.parts, row_parts, strict=True)
            ]
            if all(len(ids) <= 1 << bits for ids, bits in zip(self.parts, _PROFILE_BITS, strict=True)):
                keys = np.zeros(n, dtype=np.uint64)
                for lut, (_, codes), bits in zip(luts, row_parts, _PROFILE_BITS, strict=True):
                    keys = (keys << np.uint64(bits)) | lut[codes]
                unique, first, count = np.unique(keys, return_index=True, return_counts=True)
                self.keys.append(unique)
                # Row numbers and counts fit 32 bits (4 billion rows): 16 bytes a key, not 24.
                self.firsts.append((first + self.offset).astype(np.uint32))
                self.counts.append(count.astype(np.uint32))
                self.pending += len(unique)
                # Merge when the unmerged keys outnumber the merged ones (and MERGE_AT): each key
                # is merged a bounded number of times. A fixed threshold merged the whole set at
                # every chunk once it passed it: 71 s of a 113 s national import.
                if self.pending > max(self.MERGE_AT, self.merged):
                    self._merge()
                self.offset += n
                return
            self._to_python()
        columns = [[values[c] for c in codes.tolist()] for values, codes in row_parts]
        self.python.update(zip(*columns, strict=True))
        self.offset += n

    def _merge(self) -> None:
        if len(self.keys) <= 1:
            return
        # The parts are in row order (the merged one first), so a stable sort of the keys puts the
        # first occurrence of each key first: no second sort key is needed.
        keys = np.concatenate(self.keys)
        self.keys = []
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        self.keys = [keys[starts]]
        del keys
        self.firsts = [np.concatenate(self.firsts)[order[starts]]]
        self.counts = [np.add.reduceat(np.concatenate(self.counts)[order], starts)]
        self.merged, self.pending = len(starts), 0

    def _merged(self) -> tuple[np.ndarray, np.ndarray]:
        """Packed keys and counts, in the order of their first row."""
        self._merge()
        if not self.keys:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
        order = np.argsort(self.firsts[0], kind="stable")
        return self.keys[0][order], self.counts[0][order]

    def _unpacked(self, keys: np.ndarray) -> list[np.ndarray]:
        """The ids of each part of ``keys``, each in the smallest type of its bits."""
        ids = []
        shift = 0
        for bits in reversed(_PROFILE_BITS):
            dtype = np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32
            ids.append(((keys >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(dtype))
            shift += bits
        return ids[::-1]

    def _to_python(self) -> None:
        keys, counts = self._merged()
        values = [list(ids) for ids in self.parts]
        columns = [
            [vals[i] for i in ids.tolist()] for vals, ids in zip(values, self._unpacked(keys), strict=True)
        ]
        self.python = Counter()
        for key, n in zip(zip(*columns, strict=True), counts.tolist(), strict=True):
            self.python[key] = n

    def profils(self) -> aggregates.Profils:
        """The counted profiles, in the order of their first row."""
        if self.python is not None:
            return aggregates.Profils.from_counts({(*k[0], *k[1:]): n for k, n in self.python.items()})
        keys, counts = self._merged()
        ids = self._unpacked(keys)
        secteurs, naissance, visite, *categories = (list(part) for part in self.parts)

        def years(values: list) -> np.ndarray:
            return np.array([v or 0 for v in values], dtype=np.int16)  # a year fits 15 bits

        return aggregates.Profils(
            locations=tuple(secteurs),
            loc=ids[0],
            naissance=years(naissance)[ids[1]],
            visite=years(visite)[ids[2]],
            **{
                labels: tuple(values)
                for (labels, _), values in zip(aggregates.PROFILS_CATEGORIES, categories, strict=True)
            },
            **{codes: part for (_, codes), part in zip(aggregates.PROFILS_CATEGORIES, ids[3:], strict=True)},
            effectif=counts,
        )


def _int_text(v) -> bytes:
    return b"\\N" if v is None else str(v).encode()


def _usager_tuples(dataset_id: int, chunk: readers.UsagerChunk, adapt_date) -> list[tuple]:
    """The chunk's rows as value tuples (``_usager_values`` of each record), column by column:
    each distinct value is converted once, the rows get it through numpy (no record objects)."""
    n = len(chunk)

    def coded(coded: readers.Coded, value) -> list:
        return np.array([value(v) for v in coded.values] or [None], dtype=object)[coded.codes].tolist()

    def text(values: np.ndarray, length: int) -> list[str]:
        return [v.decode()[:length] for v in values.tolist()]

    return list(
        zip(
            _usager_pks(dataset_id, chunk).tolist(),
            [dataset_id] * n,
            chunk.ligne.tolist(),
            text(chunk.identifiant, 100),
            coded(chunk.annee_naissance, lambda v: v),
            coded(chunk.tranche_age, lambda b: readers.band_label(b) if b else ""),
            coded(chunk.sexe, lambda v: v or ""),
            coded(chunk.csp, lambda v: v or ""),
            coded(chunk.situation, lambda v: v or ""),
            coded(chunk.secteur, lambda s: s[0] or ""),
            coded(chunk.secteur, lambda s: s[1] or ""),
            coded(chunk.premiere_visite, lambda d: adapt_date(d) if d is not None else None),
            text(chunk.oriente_par, 200),
            strict=True,
        )
    )


def _usager_pks(dataset_id: int, chunk: readers.UsagerChunk) -> np.ndarray:
    """The chunk's keys (``usager_pk``). Its lines fit in the key's 32 bits: a file of 2**32 lines
    would be far over any upload limit."""
    if len(chunk) and not 0 <= int(chunk.ligne.min()) <= int(chunk.ligne.max()) < USAGER_PK_LIGNES:
        raise ValueError(f"line numbers out of an usager key's range: {int(chunk.ligne.max())}")
    return chunk.ligne.astype(np.int64) + usager_pk(dataset_id, 0)


def _write_usager_chunk(dataset_id: int, chunk: readers.UsagerChunk, adapt_date, copy=None) -> None:
    identifiant = _truncated(chunk.identifiant, 100)
    oriente = _truncated(chunk.oriente_par, 200)
    if copy is None or not (_copy_safe(identifiant) and _copy_safe(oriente)):
        _write_batches(Usager, USAGER_FIELDS, _usager_tuples(dataset_id, chunk, adapt_date), copy)
        return
    n = len(chunk)
    secteurs = chunk.secteur.values

    def coded(coded: readers.Coded, text) -> np.ndarray:
        return _lut(coded.values, text)[coded.codes]

    columns = [
        _decimal_text(_usager_pks(dataset_id, chunk)),
        np.full(n, str(dataset_id).encode()),
        _decimal_text(chunk.ligne),
        identifiant,
        coded(chunk.annee_naissance, _int_text),
        coded(chunk.tranche_age, lambda b: readers.band_label(b).encode() if b else b""),
        coded(chunk.sexe, lambda v: (v or "").encode()),
        coded(chunk.csp, lambda v: (v or "").encode()),
        coded(chunk.situation, lambda v: (v or "").encode()),
        _lut([(s[0] or "").encode() for s in secteurs], lambda v: v)[chunk.secteur.codes],
        _lut([(s[1] or "").encode() for s in secteurs], lambda v: v)[chunk.secteur.codes],
        coded(chunk.premiere_visite, lambda d: d.isoformat().encode() if d else b"\\N"),
        oriente,
    ]
    for k in range(0, n, BATCH_SIZE):
        _write_rows(
            Usager, USAGER_FIELDS, _copy_text([column[k : k + BATCH_SIZE] for column in columns]), copy
        )


@contextlib.contextmanager
def _copy(model, fields: tuple[str, ...]):
    """One ``COPY … FROM STDIN`` kept open while the caller writes: PostgreSQL ingests a batch
    while Python prepares the next one (two cores at work instead of one, then the other).

    psycopg's queued writer hands each batch to a thread that sends it: without it, ``write``
    waits until the server has taken the whole batch, and Python and PostgreSQL mostly take
    turns. The queue holds at most psycopg's 1,024 buffers of 128 KiB.
    """
    meta, quote = model._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql, writer=psycopg_copy.QueuedLibpqWriter(cursor.cursor)) as copy:
            yield copy


def _write_batches(model, fields: tuple[str, ...], rows: list[tuple], copy=None) -> None:
    for k in range(0, len(rows), BATCH_SIZE):
        _write_rows(model, fields, rows[k : k + BATCH_SIZE], copy)


def _import_usagers_chunks(*, acting_user, structure, frequentation, sha256, est_demo, progress):
    """``frequentation_import`` of the usagers file by chunks (see above); same rows, same audit."""
    stream = isinstance(frequentation, readers.UsagersStream)
    dataset = FrequentationImport.objects.create(
        structure=structure,
        source=frequentation.source,
        unite=frequentation.unite,
        niveau=frequentation.niveau or "",
        fichier=frequentation.fichier[:255],
        sha256=sha256,
        nb_enregistrements=0,
        est_demo=est_demo,
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    reported = None
    if stream and frequentation.progress and connection.vendor == "postgresql":
        # No other query may run on the connection while its COPY is open: the reader's progress
        # reports (an UPDATE of the job, inside this very transaction, so seen by no one before
        # the commit anyway) are kept and given once the COPY is closed.
        reported, frequentation.progress = frequentation.progress, lambda done, total: None
    chunks = frequentation.chunks() if stream else frequentation.individus.chunks
    total = None if stream else len(frequentation.individus)
    adapt_date = connection.ops.adapt_datefield_value
    profiles = _ProfileCounter()
    done, first, last = 0, None, None
    with (
        _copy(Usager, USAGER_FIELDS)
        if connection.vendor == "postgresql"
        else contextlib.nullcontext() as copy
    ):
        for chunk in chunks:
            _write_usager_chunk(dataset.pk, chunk, adapt_date, copy)
            profiles.add(chunk)
            dates = [d for d in chunk.premiere_visite.values if d is not None]
            if dates:
                first = min(dates) if first is None else min(first, *dates)
                last = max(dates) if last is None else max(last, *dates)
            done += len(chunk)
            if progress and total and copy is None:  # no query while a COPY is open
                progress(done, total)
    if reported:
        frequentation.progress = reported
        reported(frequentation.total, frequentation.total)
    if progress and total:
        progress(done, total)
    comptages.profils_store(dataset, profiles.profils())
    dataset.nb_enregistrements = done
    dataset.niveau = frequentation.niveau or ""
    dataset.periode_debut, dataset.periode_fin = first, last
    dataset.save(update_fields=["nb_enregistrements", "niveau", "periode_debut", "periode_fin"])
    _audit_import(acting_user, structure, dataset, frequentation, sha256)
    return dataset


def _audit_import(acting_user, structure, dataset, frequentation, sha256: str) -> None:
    """The audit entry of an import, whichever way its records were written."""
    audit_record(
        acting_user=acting_user,
        action=AuditAction.IMPORT,
        obj=dataset,
        structure=structure,
        changes={
            "fichier": frequentation.fichier,
            "sha256": sha256,
            "source": frequentation.source,
            "enregistrements": dataset.nb_enregistrements,
        },
    )


@transaction.atomic
def frequentation_import(
    *,
    acting_user,
    structure,
    frequentation: readers.Frequentation,
    sha256: str,
    est_demo: bool = False,
    progress=None,
) -> FrequentationImport:
    """Store an attendance file read by ``readers`` (all or nothing: one transaction).

    ``frequentation`` may be a :class:`readers.UsagersStream`: the file is then validated while it
    is written, chunk by chunk, and a bad row anywhere raises ``ImportRejected`` at the end of the
    file, inside this transaction, so that nothing is written (bounded memory).
    """
    if isinstance(frequentation, readers.UsagersStream) or isinstance(
        frequentation.individus, readers.UsagerColumns
    ):
        return _import_usagers_chunks(
            acting_user=acting_user,
            structure=structure,
            frequentation=frequentation,
            sha256=sha256,
            est_demo=est_demo,
            progress=progress,
        )
    dates = [
        d
        for r in frequentation.individus
        if (d := getattr(r, "premiere_visite", None) or getattr(r, "date", None)) is not None
    ]
    dataset = FrequentationImport.objects.create(
        structure=structure,
        source=frequentation.source,
        unite=frequentation.unite,
        niveau=frequentation.niveau or "",
        fichier=frequentation.fichier[:255],
        sha256=sha256,
        nb_enregistrements=len(frequentation.individus) or len(frequentation.agregats),
        periode_debut=min(dates) if dates else None,
        periode_fin=max(dates) if dates else None,
        est_demo=est_demo,
        created_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    total = len(frequentation.individus)
    if frequentation.individus:
        profiles = Counter()
        batch = []
        adapt_date = connection.ops.adapt_datefield_value
        for k, record in enumerate(frequentation.individus, start=1):
            profiles[_profile_key(record)] += 1
            batch.append(_usager_values(dataset.pk, record, adapt_date))
            if len(batch) >= BATCH_SIZE:
                _write_rows(Usager, USAGER_FIELDS, batch)
                batch = []
                if progress:
                    progress(k, total)
        _write_rows(Usager, USAGER_FIELDS, batch)
        comptages.profils_store(dataset, aggregates.Profils.from_counts(profiles))
    else:
        CompteAgrege.objects.bulk_create(
            (
                CompteAgrege(
                    dataset=dataset,
                    ligne=a.ligne,
                    code_secteur=a.code_secteur[:100],
                    dimension=a.dimension,
                    categorie=a.categorie,
                    usagers=a.usagers,
                )
                for a in frequentation.agregats
            ),
            batch_size=BATCH_SIZE,
        )
    _audit_import(acting_user, structure, dataset, frequentation, sha256)
    return dataset


def _delete_usagers(usagers: models.QuerySet) -> int:
    """Delete ``usagers`` in one statement, whatever their number (10 million for a national file).

    The rows that may point at an usager (``suivi.Beneficiaire.usager``) declare ``DO_NOTHING``
    and are detached here first, so that Django deletes without loading each usager (its
    ``SET_NULL`` collector held every one in memory: 3 GB for a national import); the database's
    foreign key still refuses an usager deleted anywhere else while something points at it.
    """
    for relation in Usager._meta.get_fields(include_hidden=True):
        if relation.one_to_many and relation.auto_created and relation.on_delete is models.DO_NOTHING:
            name = relation.field.name
            relation.related_model._base_manager.filter(**{f"{name}__in": usagers}).update(**{name: None})
    deleted, _ = usagers.delete()
    return deleted


@transaction.atomic
def frequentation_delete(*, acting_user, dataset: FrequentationImport) -> None:
    audit_record(acting_user=acting_user, action=AuditAction.DELETE, obj=dataset, structure=dataset.structure)
    _delete_usagers(Usager.objects.of_import(dataset))
    dataset.delete()


def frequentation_of(dataset: FrequentationImport) -> readers.Frequentation:
    """The attendance of an import, as the engine reads it, rebuilt from the stored aggregates."""
    if dataset.source == "agrege":
        comptes = CompteAgrege.objects.filter(dataset=dataset).values_list(
            "ligne", "code_secteur", "dimension", "categorie", "usagers"
        )
        return readers.Frequentation(
            unite=dataset.unite,
            source=dataset.source,
            fichier=dataset.fichier,
            agregats=tuple(readers.CompteAgrege(*row) for row in comptes.order_by("ligne")),
            niveau=dataset.niveau or None,
        )
    records = []
    profils = comptages.profils_of(dataset).rows()
    for iris, commune, annee, visite, tranche, sexe, csp, situation, effectif in profils:
        band = readers.parse_age_band(tranche) if tranche else None
        if dataset.source == "coop":
            record = readers.Accompagnement(
                ligne=0,
                date=None,
                type="",
                id_cra=None,
                tranche_age=band,
                sexe=sexe or None,
                situation=situation or None,
                code_commune=commune or None,
            )
        else:
            record = readers.Usager(
                ligne=0,
                identifiant="",
                annee_naissance=annee,
                tranche_age=band,
                sexe=sexe or None,
                csp=csp or None,
                situation=situation or None,
                code_iris=iris or None,
                code_commune=commune or None,
                premiere_visite=dt.date(visite, 1, 1) if visite else None,
                oriente_par=None,
            )
        # One shared object per profile: the engine only reads the records, never their identity.
        records.extend([record] * effectif)
    return readers.Frequentation(
        unite=dataset.unite,
        source=dataset.source,
        fichier=dataset.fichier,
        individus=tuple(records),
        niveau=dataset.niveau or None,
    )


USAGERS_EXPORT_COLUMNS = readers.USAGERS_COLUMNS


def usagers_export_rows(dataset: FrequentationImport):
    """Rows of the usagers file format (the same columns as the import), for the personal-data export."""
    yield list(USAGERS_EXPORT_COLUMNS)
    situations = {v: k for k, v in readers.SITUATIONS.items()}
    labels = {"scolarise": "scolarisé", "retraite": "retraité"}
    for row in (
        Usager.objects.of_import(dataset)
        .order_by("pk")
        .values_list(*USAGERS_EXPORT_COLUMNS)
        .iterator(BATCH_SIZE)
    ):
        ident, annee, tranche, sexe, csp, situation, iris, commune, visite, oriente = row
        situation_label = situations.get(situation, "")
        yield [
            ident,
            annee or "",
            tranche,
            sexe,
            csp.removeprefix("CS"),
            labels.get(situation_label, situation_label),
            iris,
            commune,
            visite.isoformat() if visite else "",
            oriente,
        ]


# --- Personal data (RGPD): aggregates rebuilt, retention, one usager's export and erasure ---------

PROFILE_FIELDS = (
    "code_iris",
    "code_commune",
    "annee_naissance",
    "premiere_visite",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
)


def profiles_from_records(dataset: FrequentationImport) -> Counter:
    """The profiles of ``dataset`` counted from its stored records (the same keys as at import)."""
    profiles = Counter()
    with_visit_year = dataset.source == "ancrage"  # La Coop's date is not a visit year (see _profile_key)
    rows = Usager.objects.of_import(dataset).values_list(*PROFILE_FIELDS)
    for iris, commune, annee, visite, tranche, sexe, csp, situation in rows.iterator(chunk_size=BATCH_SIZE):
        visit_year = visite.year if visite and with_visit_year else None
        profiles[(iris, commune, annee, visit_year, tranche, sexe, csp, situation)] += 1
    return profiles


def _profiles_rebuild(dataset: FrequentationImport) -> int:
    """Replace the dataset's profiles by those of its remaining records; returns how many remain."""
    profiles = profiles_from_records(dataset)
    comptages.profils_store(dataset, aggregates.Profils.from_counts(profiles))
    remaining = sum(profiles.values())
    dates = (
        Usager.objects.of_import(dataset)
        .filter(premiere_visite__isnull=False)
        .aggregate(debut=models.Min("premiere_visite"), fin=models.Max("premiere_visite"))
    )
    FrequentationImport.objects.filter(pk=dataset.pk).update(
        nb_enregistrements=remaining, periode_debut=dates["debut"], periode_fin=dates["fin"]
    )
    return remaining


def _remove_records(dataset: FrequentationImport, records) -> tuple[int, bool]:
    """Delete ``records`` of ``dataset``; the import itself goes when nothing is left.

    Returns (records deleted, whether the import was deleted). The aggregates follow: they are
    rebuilt from the records that remain, so that the diagnostic never counts an erased person.
    """
    deleted = _delete_usagers(records)
    if not Usager.objects.of_import(dataset).exists():
        dataset.delete()  # its profiles go with it
        return deleted, True
    _profiles_rebuild(dataset)
    return deleted, False


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` minus a number of calendar months (the day is clamped to the month's length)."""
    month_index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


@dataclass
class PurgeReport:
    avant: dt.datetime
    usagers: int = 0
    imports_supprimes: list[int] = field(default_factory=list)
    imports_reduits: list[int] = field(default_factory=list)
    dry_run: bool = False


def expired_records(before: dt.datetime):
    """Records whose retention is over: imported before ``before``, and no visit since.

    A record's reference date is the later of its import and its (first) visit: the file attests
    that the person was an usager of the EPN on the day it was imported.
    """
    return Usager.objects.filter(dataset__created_at__lt=before).exclude(premiere_visite__gte=before.date())


@transaction.atomic
def usagers_purge(*, acting_user, now: dt.datetime | None = None, mois: int | None = None, dry_run=False):
    """Delete every usager record past its retention period, all or nothing, audited per import.

    ``dry_run`` does everything in the transaction, then rolls it back: the report it returns is
    exactly what a real run would do. The files deposited for imports are the import jobs' own
    (``diagnostic.jobs.deposits_purge``); ``exploitation.retention`` runs both purges together.
    """
    mois = settings.ANCRAGE_RETENTION_USAGERS_MOIS if mois is None else mois
    now = now or timezone.now()
    report = PurgeReport(avant=months_before(now, mois), dry_run=dry_run)
    expired = expired_records(report.avant)
    dataset_ids = sorted(set(expired.values_list("dataset_id", flat=True)))
    for dataset in FrequentationImport.objects.filter(pk__in=dataset_ids).select_related("structure"):
        records = expired.of_import(dataset)
        # Audited before the deletion (the entry names the import, never the persons).
        audit_record(
            acting_user=acting_user,
            action=AuditAction.DELETE,
            obj=dataset,
            structure=dataset.structure,
            changes={
                "motif": "durée de conservation",
                "conservation_mois": mois,
                "avant": report.avant,
                "usagers": records.count(),
            },
        )
        dataset_id = dataset.pk
        deleted, gone = _remove_records(dataset, records)
        report.usagers += deleted
        (report.imports_supprimes if gone else report.imports_reduits).append(dataset_id)
    if dry_run:
        transaction.set_rollback(True)
    return report


def _normalised_identifiant(identifiant: str) -> str:
    identifiant = (identifiant or "").strip()
    if not identifiant:
        raise ValidationError("Saisissez l’identifiant de l’usager.")
    return identifiant[:100]


def usager_records(*, structure, identifiant: str):
    """The records of one usager in the EPN's imports (the identifiant is the EPN's own)."""
    return (
        Usager.objects.filter(dataset__structure=structure, identifiant=_normalised_identifiant(identifiant))
        .select_related("dataset")
        .order_by("dataset__created_at", "dataset_id", "ligne")
    )


USAGER_EXPORT_COLUMNS = (
    "fichier_importe",
    "importe_le",
    "ligne",
    *USAGERS_EXPORT_COLUMNS,
)


@transaction.atomic
def usager_export(*, acting_user, structure, identifiant: str) -> list[list]:
    """Every record of one usager (right of access and portability, art. 15 and 20), audited.

    The audit entry says how many records were exported, not whose: the journal holds no usager data.
    """
    records = list(usager_records(structure=structure, identifiant=identifiant))
    if not records:
        raise ValidationError("Aucun enregistrement ne porte cet identifiant dans les fichiers de ce lieu.")
    audit_record(
        acting_user=acting_user,
        action=AuditAction.EXPORT,
        structure=structure,
        changes={"objet": "données d’un usager", "enregistrements": len(records)},
    )
    situations = {v: k for k, v in readers.SITUATIONS.items()}
    rows = [list(USAGER_EXPORT_COLUMNS)]
    for u in records:
        situation = situations.get(u.situation, "")
        rows.append(
            [
                u.dataset.fichier,
                u.dataset.created_at.date().isoformat(),
                u.ligne,
                u.identifiant,
                u.annee_naissance or "",
                u.tranche_age,
                u.sexe,
                u.csp.removeprefix("CS"),
                {"scolarise": "scolarisé", "retraite": "retraité"}.get(situation, situation),
                u.code_iris,
                u.code_commune,
                u.premiere_visite.isoformat() if u.premiere_visite else "",
                u.oriente_par,
            ]
        )
    return rows


@transaction.atomic
def usager_erase(*, acting_user, structure, identifiant: str) -> int:
    """Erase one usager (right to erasure, art. 17): every record, and the aggregates follow.

    All or nothing. Audited without the identifiant: only how many records, in which imports.
    """
    records = usager_records(structure=structure, identifiant=identifiant)
    dataset_ids = sorted(set(records.values_list("dataset_id", flat=True)))
    if not dataset_ids:
        raise ValidationError("Aucun enregistrement ne porte cet identifiant dans les fichiers de ce lieu.")
    total = 0
    removed = []
    for dataset in FrequentationImport.objects.filter(pk__in=dataset_ids).select_for_update():
        dataset_id = dataset.pk
        deleted, gone = _remove_records(dataset, records.of_import(dataset).order_by())
        total += deleted
        if gone:
            removed.append(dataset_id)
    audit_record(
        acting_user=acting_user,
        action=AuditAction.DELETE,
        structure=structure,
        changes={
            "objet": "données d’un usager (droit à l’effacement)",
            "enregistrements": total,
            "imports": dataset_ids,
            "imports_supprimes": removed,
        },
    )
    return total
