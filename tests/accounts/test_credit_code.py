import pytest

from marketplace.accounts import credit_code


def test_a_known_valid_code_passes():
    # Check character computed by hand: weights 1,3,9,27,... modulo 31.
    code = credit_code.make("91371502MA0000401")
    assert credit_code.is_valid(code)
    assert credit_code.normalise(code.lower()) == code


@pytest.mark.parametrize("bad, why", [
    ("", "18 characters"),
    ("91371502MA000040", "18 characters"),
    ("91371502MA00004I1", "not allowed"),  # I is not in the alphabet
])
def test_bad_codes_say_why(bad, why):
    with pytest.raises(credit_code.CreditCodeError, match=why):
        credit_code.normalise(bad + ("X" if len(bad) == 17 else ""))


def test_every_wrong_check_character_is_refused():
    first17 = "91371502MA0000401"
    good = credit_code.check_character(first17)
    for ch in credit_code.ALPHABET:
        assert credit_code.is_valid(first17 + ch) == (ch == good)


def test_check_character_matches_the_standard_formula():
    first17 = "91350100M000100Y4"
    total = sum(credit_code.ALPHABET.index(c) * w for c, w in zip(first17, credit_code.WEIGHTS))
    assert credit_code.check_character(first17) == credit_code.ALPHABET[(31 - total % 31) % 31]
