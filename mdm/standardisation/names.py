"""Organisation names: the trailing legal form split off, and a matching key for what is left."""

import re
from dataclasses import dataclass
from functools import lru_cache

from mdm.standardisation.legal_forms import LEGAL_FORMS
from mdm.standardisation.text import clean_text, fold, fold_letters

_TOKEN = re.compile(r"[^\s,]+")
# Inside a legal form dots and brackets are noise ("S.A.S.", "UG (haftungsbeschränkt)"); "/" is not ("A/S").
_FORM_NOISE = str.maketrans({".": None, "(": None, ")": None, "'": None, "&": "and", "+": "and"})
# "Smith & Co" is a name, not "Smith &" trading as a company.
_CONNECTORS = frozenset({"and", "und", "et"})
# Spelled-out legal forms run to seven tokens ("S. de R. L. de C. V."); the key-length check stops sooner.
_MAX_FORM_TOKENS = 12
# Abbreviations expanded inside the core, so "Acme Intl Mfg" and "Acme International Manufacturing" key alike.
_ABBREVIATIONS = {
    "intl": "international",
    "mfg": "manufacturing",
    "mfrs": "manufacturers",
    "svc": "services",
    "svcs": "services",
    "corp": "corporation",
    "co": "company",
    "bros": "brothers",
    "natl": "national",
    "assn": "association",
    "assoc": "associates",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "mgmt": "management",
}


@lru_cache(maxsize=1 << 16)
def _form_key(token: str) -> str:
    """One token in legal-form matching form; tokens repeat ("Ltd", "GmbH"), hence the cache."""
    return fold_letters(token).translate(_FORM_NOISE)


def _spelling_keys(spelling: str) -> set[str]:
    """Match keys of one table spelling, each word that is itself a form standing for all its spellings."""
    keys = {""}
    for word in _TOKEN.findall(spelling):
        options = (word, *LEGAL_FORMS.get(word, ()))
        keys = {key + _spelling_key(option) for key in keys for option in options}
    return keys


def _spelling_key(spelling: str) -> str:
    """The match key of one spelling taken literally, as a name's tail is."""
    return "".join(_form_key(token) for token in _TOKEN.findall(spelling))


def _index() -> tuple[dict[str, str], frozenset[str]]:
    """Canonical form by match key, and the keys whose own spelling opens with a lone initial ("S de RL")."""
    forms: dict[str, str] = {}
    lone_initial: set[str] = set()
    for canonical, variants in LEGAL_FORMS.items():
        for spelling in (canonical, *variants):
            for key in _spelling_keys(spelling):
                if forms.setdefault(key, canonical) != canonical:  # the table is data; refuse it loudly
                    raise ValueError(f"legal-form spelling {spelling!r} also matches {forms[key]!r}")
            words = [_form_key(token) for token in _TOKEN.findall(spelling)]
            if len(words) > 1 and len(words[0]) == 1 and len(words[1]) > 1:
                lone_initial.update(_spelling_keys(spelling))
    return forms, frozenset(lone_initial)


_FORM_BY_KEY, _LONE_INITIAL_KEYS = _index()
_LONGEST_FORM_KEY = max(map(len, _FORM_BY_KEY))


@dataclass(frozen=True)
class LegalName:
    """An organisation name split into its core and its canonical legal form, with the core's matching key."""

    core: str
    legal_form: str
    core_key: str


def _core_key(folded_core: str) -> str:
    """The core's matching key: folded, abbreviations expanded, a leading "The" dropped, word order kept."""
    words = [_ABBREVIATIONS.get(word, word) for word in folded_core.split()]
    if len(words) > 1 and words[0] == "the":
        del words[0]
    return " ".join(words)


def split_legal_form(name: str | None) -> LegalName:
    """Split a trailing legal form ("Inc", "GmbH & Co KG") off an organisation name; longest match wins."""
    text = clean_text(name)
    tokens = list(_TOKEN.finditer(text))
    core, legal_form, folded_core = text, "", None
    key = following = ""
    # Grow the suffix one token at a time from the end; at least one token must stay behind as the core.
    for size in range(1, min(len(tokens) - 1, _MAX_FORM_TOKENS) + 1):
        first = _form_key(tokens[-size].group())
        key = first + key
        if len(key) > _LONGEST_FORM_KEY:
            break
        canonical = _FORM_BY_KEY.get(key)
        # Keys ignore spaces so that "S. A. S." is "SAS", but a lone letter before a form is an initial of
        # the name, not of the form: "Team A SA" is an SA, not an ASA.
        lone_initial = len(first) == 1 and len(following) > 1 and key not in _LONE_INITIAL_KEYS
        following = first
        if canonical is None or lone_initial or _form_key(tokens[-size - 1].group()) in _CONNECTORS:
            continue
        candidate = text[: tokens[-size].start()].rstrip(" ,")
        if folded := fold(candidate):  # a core of only punctuation is no name; keep the suffix in it
            core, legal_form, folded_core = candidate, canonical, folded
    core_key = _core_key(fold(core) if folded_core is None else folded_core)
    return LegalName(core=core, legal_form=legal_form, core_key=core_key)
