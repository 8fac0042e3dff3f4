"""Countries as ISO 3166-1 alpha-2 codes, from codes, official names and the colloquial names sources use."""

from functools import lru_cache
from typing import Any, cast

import pycountry

from mdm.standardisation.errors import StandardisationError, quoted
from mdm.standardisation.text import clean_text, fold

# Names pycountry does not know: colloquial English, endonyms common in European ERPs, and former names.
_ALIASES = {
    "GB": ("UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"),
    "US": ("America", "United States", "U.S.", "U.S.A."),
    "DE": ("Deutschland", "Federal Republic of Germany", "BRD"),
    "AT": ("Österreich",),
    "CH": ("Schweiz", "Suisse", "Svizzera", "Switzerland"),
    "NL": ("Holland", "Nederland"),
    "BE": ("België", "Belgique", "Belgien"),
    "ES": ("España",),
    "IT": ("Italia",),
    "SE": ("Sverige",),
    "NO": ("Norge",),
    "DK": ("Danmark",),
    "FI": ("Suomi",),
    "PL": ("Polska",),
    "CZ": ("Česko", "Czech Republic"),
    "HU": ("Magyarország",),
    "GR": ("Hellas", "Ellada"),
    "BR": ("Brasil",),
    "JP": ("Nippon", "Nihon"),
    "RU": ("Russia",),
    "KR": ("South Korea", "Republic of Korea"),
    "KP": ("North Korea",),
    "TR": ("Turkey",),
    "CI": ("Ivory Coast",),
    "CV": ("Cape Verde",),
    "SZ": ("Swaziland",),
    "MM": ("Burma",),
    "MK": ("Macedonia",),
    "VA": ("Vatican", "Vatican City"),
    "PS": ("Palestine",),
    "CD": ("DR Congo", "DRC", "Congo-Kinshasa", "Democratic Republic of Congo"),
    "CG": ("Congo-Brazzaville", "Republic of Congo"),
    "AE": ("UAE", "U.A.E.", "Emirates"),
    "TL": ("East Timor",),
}
# Fuzzy search matches substrings, so short inputs ("an") hit many countries; below this length it is skipped.
_MIN_FUZZY_LENGTH = 4


def _key(value: str) -> str:
    """A country name's lookup key: folded, a leading "the" dropped, spaces removed ("U.S.A." -> "usa")."""
    words = fold(value).split()
    if len(words) > 1 and words[0] == "the":
        del words[0]
    return "".join(words)


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Every code and name pycountry knows, plus the aliases, keyed by ``_key``; built on first use."""
    index: dict[str, str] = {}
    for alpha_2, names in _ALIASES.items():
        index.update(dict.fromkeys(map(_key, names), alpha_2))
    for country in pycountry.countries:
        for attribute in ("common_name", "official_name", "name", "alpha_3", "numeric"):
            if name := getattr(country, attribute, None):
                index[_key(name)] = country.alpha_2
    for country in pycountry.countries:  # last, so an alpha-2 code is never shadowed by a name
        index[_key(country.alpha_2)] = country.alpha_2
    return index


def _fuzzy(value: str) -> str | None:
    """pycountry's fuzzy search, trusted only when it points at exactly one country."""
    if len(value) < _MIN_FUZZY_LENGTH:
        return None
    try:
        found = {cast(Any, country).alpha_2 for country in pycountry.countries.search_fuzzy(value)}
    except LookupError:
        return None
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=4096)
def _resolve(value: str) -> str | None:
    """The alpha-2 code for a non-empty value, or None; misses are cached too, since unknowns repeat."""
    key = _key(value)
    if key.isdigit():
        key = key.zfill(3)  # ISO numeric codes are three digits: "76" is Brazil's "076"
    return _index().get(key) or _fuzzy(clean_text(value))


def country_code(value: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country given as a code, a name or a common alias."""
    if value is None or not value.strip():
        return None
    code = _resolve(value)
    if code is None:
        raise StandardisationError(f"unknown country {quoted(value.strip())}")
    return code
