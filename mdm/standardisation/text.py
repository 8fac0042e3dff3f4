"""Text folding for match keys and cleaning for display.

``fold`` runs once per field per record during matching, so the common all-ASCII case takes a fast
path and every table and regex is built once at import.
"""

import re
import unicodedata

# Latin letters that carry no Unicode decomposition, so stripping combining marks alone would keep them.
_LATIN_LETTERS = {
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "\u0131": "i",  # dotless i
    "ħ": "h",
    "ŧ": "t",
    "ŀ": "l",
}
# Apostrophes are deleted rather than spaced so "McDonald's" keys like "McDonalds" and "Int'l" like "Intl".
# (', right and left single quotes, grave, acute, modifier apostrophe, modifier prime, prime)
_APOSTROPHES = frozenset("'\u2019\u2018`\u00b4\u02bc\u02b9\u2032")
# Combining marks that follow an ASCII letter after NFD are Latin diacritics (é -> e + U+0301). Marks on
# other scripts are kept: dropping them would turn Japanese が into か or gut Devanagari vowel signs.
_LATIN_MARKS = re.compile(r"(?<=[a-z])[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b\ufeff]")


class _KeyTable(dict[int, str]):
    """A ``str.translate`` table for key folding, filled lazily from each character's Unicode category."""

    def __missing__(self, code: int) -> str:
        """A character's folded replacement, worked out once and then kept in the table."""
        char = chr(code)
        category = unicodedata.category(char)
        if char == "&":
            value = " and "
        elif char in _LATIN_LETTERS:
            value = _LATIN_LETTERS[char]
        elif char in _APOSTROPHES or category == "Cf":  # zero-width and bidi controls carry no identity
            value = ""
        elif category[0] in "PSZ" or category == "Cc":
            value = " "
        else:
            value = char
        self[code] = value
        return value


_KEY_TABLE = _KeyTable()
for _code in range(128):  # pre-fill ASCII so the hot path never calls __missing__
    _KEY_TABLE.__missing__(_code)


def fold_letters(text: str) -> str:
    """Case-folded text with Latin diacritics and letters (ß, æ, ø, ł) reduced to ASCII, punctuation kept."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(_LATIN_LETTERS.get(char, char) for char in text) if not text.isascii() else text
    return unicodedata.normalize("NFKC", _LATIN_MARKS.sub("", text))


def fold(text: str | None) -> str:
    """The matching form of a text: case, accents and punctuation folded away, non-Latin letters kept."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().translate(_KEY_TABLE).split())
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold()).translate(_KEY_TABLE)
    # NFKC recomposes what the Latin-only mark stripping left alone (Cyrillic й, Greek ά, Hangul).
    text = unicodedata.normalize("NFKC", _LATIN_MARKS.sub("", text))
    return " ".join(text.split())


def clean_text(text: str | None, *, max_length: int | None = None) -> str:
    """The display form of a text: NFC, no control characters, single spaces, original case kept."""
    if not text:
        return ""
    # Controls go before NFC so "e<NUL><combining acute>" composes in one pass, keeping the result stable.
    text = _CONTROL_CHARS.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        text = text[: max(max_length, 0)].rstrip()
    return text
