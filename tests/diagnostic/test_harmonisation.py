"""Age bands shared by INSEE and the attendance, computed, not hard-coded."""

from pathlib import Path

import numpy as np
import pytest

from ancrage.diagnostic.harmonisation import attendance_cuts, harmonise_ages
from ancrage.frequentation.readers import COOP_TRANCHES_AGE
from ancrage.territoire import insee

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"


@pytest.fixture(scope="module")
def both_partitions():
    return insee.read_insee(FIXTURES / "base-ic-evol-struct-pop-2016-com.xls")


@pytest.fixture(scope="module")
def large_only():
    return insee.read_insee(FIXTURES / "rennes-iris-2016.csv")


def test_exact_ages_use_the_insee_partition(both_partitions):
    scheme = harmonise_ages(both_partitions, set(), ages_exacts=True)
    assert scheme.labels == ("0-14", "15-29", "30-44", "45-59", "60-74", "75+")
    assert not any(scheme.approximation)


def test_insee_and_coop_finest_exact_common_bands(both_partitions):
    scheme = harmonise_ages(both_partitions, set(COOP_TRANCHES_AGE.values()))
    # 0, 18, 25, 40 are boundaries of the fine partition, 60 of the large one: both are exact.
    assert scheme.labels == ("0-17", "18-24", "25-39", "40-59", "60+")
    assert not any(scheme.approximation)
    rep_fin = both_partitions.repartitions["age_fin"].values
    rep_large = both_partitions.repartitions["age_large"].values
    np.testing.assert_allclose(scheme.population[:, 0], rep_fin[:, :4].sum(axis=1))
    np.testing.assert_allclose(
        scheme.population[:, 3],
        both_partitions.total - rep_fin[:, :6].sum(axis=1) - rep_large[:, 4:].sum(axis=1),
    )
    np.testing.assert_allclose(scheme.population.sum(axis=1), both_partitions.total)


def test_insee_fine_partition_and_a_band_system_sharing_few_cuts(both_partitions):
    scheme = harmonise_ages(both_partitions, {(0, 18), (18, 40), (40, 65), (65, None)})
    assert scheme.labels == ("0-17", "18-39", "40-64", "65+") and not any(scheme.approximation)


def test_too_coarse_common_bands_fall_back_to_estimated_population(large_only):
    # Rennes re-export has only 0-14 … 75+: with La Coop, exact common cuts are 0 and 60 only.
    scheme = harmonise_ages(large_only, set(COOP_TRANCHES_AGE.values()))
    assert scheme.labels == ("0-11", "12-17", "18-24", "25-39", "40-59", "60-69", "70+")
    assert scheme.approximation == (True, True, True, True, True, True, True)
    np.testing.assert_allclose(scheme.population.sum(axis=1), large_only.total)
    p = large_only.repartitions["age_large"].values
    np.testing.assert_allclose(scheme.population[:, 0], p[:, 0] * 12 / 15)


def test_attendance_cuts_ignore_boundaries_inside_other_bands():
    assert attendance_cuts({(0, 15), (15, 30), (18, 25)}) == {0, 15, 30}
