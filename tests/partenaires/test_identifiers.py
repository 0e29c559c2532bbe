import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.partenaires.identifiers import (
    LA_POSTE_SIREN,
    InvalidIdentifier,
    is_valid_siret,
    luhn_check_digit,
    luhn_is_valid,
    pivot_kind,
    siren_of_siret,
    validate_code_insee,
    validate_rna,
    validate_siren,
    validate_siret,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=30)


class TestSiret:
    def test_valid_siret_with_spaces_is_normalised(self):
        # A real SIRET of the Charente sample (Communauté de communes, Luhn-valid).
        assert validate_siret("241 600 543 00128") == "24160054300128"
        assert validate_siret("\u00a024160054300128 ") == "24160054300128"

    def test_wrong_key_is_refused_in_french(self):
        # 20006801400015 is published in the Charente file, with a wrong key.
        with pytest.raises(InvalidIdentifier, match="clé de contrôle .*est fausse"):
            validate_siret("20006801400015")

    @pytest.mark.parametrize("value", ["1234567890123", "123456789012345", "2416005430012A", ""])
    def test_wrong_length_or_characters(self, value):
        with pytest.raises(InvalidIdentifier, match="SIRET"):
            validate_siret(value)

    def test_fourteen_zeros_is_a_placeholder(self):
        assert luhn_is_valid("00000000000000")
        with pytest.raises(InvalidIdentifier, match="bouche-trou"):
            validate_siret("00000000000000")

    def test_la_poste_uses_the_digit_sum_rule(self):
        # Published in the Charente file: valid by La Poste's rule, not by Luhn.
        assert not luhn_is_valid("35600000062292")
        assert validate_siret("35600000062292") == "35600000062292"
        # Digits that add up to 36: not a multiple of 5.
        with pytest.raises(InvalidIdentifier, match="multiple de 5"):
            validate_siret("35600000062293")

    def test_la_poste_head_office_passes_luhn_and_is_valid(self):
        # Published in the Charente file; its digits add up to 26, but the head office's SIRET
        # follows Luhn (python-stdnum's rule, as INSEE's).
        assert luhn_is_valid("35600000000048")
        assert validate_siret("35600000000048") == "35600000000048"
        assert pivot_kind("35600000000048") == "siret"

    def test_siren_of_siret(self):
        assert siren_of_siret("24160054300128") == "241600543"

    @given(
        st.text(alphabet="0123456789", min_size=8, max_size=8),
        st.text(alphabet="0123456789", min_size=4, max_size=4),
    )
    def test_luhn_generator_round_trips(self, siren_body, nic_body):
        # python-stdnum checks both keys, as INSEE does: the SIREN's and the SIRET's.
        siren = siren_body + luhn_check_digit(siren_body)
        body = siren + nic_body
        siret = body + luhn_check_digit(body)
        assert luhn_is_valid(siret)
        if set(siret) != {"0"} and not siret.startswith(LA_POSTE_SIREN):
            assert validate_siret(siret) == siret
            assert is_valid_siret(" ".join([siret[:3], siret[3:6], siret[6:9], siret[9:]]))
            # Changing one digit always breaks the key: that is what Luhn is for.
            wrong = siret[:-1] + str((int(siret[-1]) + 1) % 10)
            assert not is_valid_siret(wrong)

    def test_a_siret_whose_siren_key_is_wrong_says_so(self):
        # 000000001 0000 8 passes Luhn as a whole, but its SIREN does not.
        assert luhn_is_valid("00000000100008")
        with pytest.raises(InvalidIdentifier, match="SIREN"):
            validate_siret("00000000100008")

    @given(st.text(max_size=30))
    def test_never_raises_anything_but_invalid_identifier(self, value):
        try:
            validate_siret(value)
        except InvalidIdentifier as error:
            assert str(error).startswith("Le SIRET")


class TestSiren:
    def test_valid(self):
        assert validate_siren("241 600 543") == "241600543"

    def test_invalid(self):
        with pytest.raises(InvalidIdentifier, match="clé de contrôle"):
            validate_siren("241600544")
        with pytest.raises(InvalidIdentifier, match="9 chiffres"):
            validate_siren("24160054")


class TestRna:
    @pytest.mark.parametrize("value", ["W751234567", "w 751 234 567", "W2A1000123"])
    def test_valid(self, value):
        assert validate_rna(value).startswith("W")

    @pytest.mark.parametrize("value", ["751234567", "W75123456", "W7512345678", "X751234567"])
    def test_invalid(self, value):
        with pytest.raises(InvalidIdentifier, match="commencer par W"):
            validate_rna(value)


class TestCodeInsee:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("35238", "35238"), ("2a004", "2A004"), ("2B 033", "2B033"), ("1001", "01001"), ("98818", "98818")],
    )
    def test_valid(self, value, expected):
        assert validate_code_insee(value) == expected

    @pytest.mark.parametrize("value", ["20004", "2C004", "123456", "ABCDE", "352"])
    def test_invalid(self, value):
        with pytest.raises(InvalidIdentifier, match="Corse"):
            validate_code_insee(value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("24160054300128", "siret"),
        ("241600543", "siren"),
        ("W751234567", "rna"),
        ("1234567001", None),
        ("", None),
    ],
)
def test_pivot_kind(value, kind):
    assert pivot_kind(value) == kind


@given(digits)
def test_luhn_check_digit_always_completes(body):
    assert luhn_is_valid(body + luhn_check_digit(body))
