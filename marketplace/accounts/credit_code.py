"""The unified social credit code (统一社会信用代码, GB 32100-2015).

Eighteen characters from a 31-character alphabet (no I, O, Z, S, V); the last one is a
check character computed from the first seventeen with fixed weights, modulo 31.
"""
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}


class CreditCodeError(ValueError):
    pass


def check_character(first17: str) -> str:
    total = 0
    for ch, weight in zip(first17, WEIGHTS):
        if ch not in VALUES:
            raise CreditCodeError(f"character {ch!r} is not allowed")
        total += VALUES[ch] * weight
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Return the code upper-cased and stripped, or raise ``CreditCodeError`` saying why."""
    code = (code or "").strip().upper()
    if len(code) != 18:
        raise CreditCodeError(f"must have 18 characters, not {len(code)}")
    for ch in code:
        if ch not in VALUES:
            raise CreditCodeError(f"character {ch!r} is not allowed")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(f"check character should be {expected}, not {code[17]}")
    return code


def is_valid(code: str) -> bool:
    try:
        normalise(code)
    except CreditCodeError:
        return False
    return True


def make(first17: str) -> str:
    """Complete seventeen characters with their check character (used by the demo)."""
    return first17 + check_character(first17)
