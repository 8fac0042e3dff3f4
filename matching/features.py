"""Standardise: the compact form a record is compared in, and the blocking keys that find its candidates.

`features` turns a source record's standardised values (mdm/canonical.py) into a small dict of
match-ready values: folded names with legal forms split off and abbreviations expanded, E.164
phones, domains, postcodes, dates. It is stored per source record (MatchProfile) so candidates are
never re-standardised. `blocking_keys` lists the keys a record is filed under; a candidate shares
at least one. Keys are strings with a short prefix naming their kind, so one indexed column holds
them all and a too-common key ("nt:services") can be recognised and skipped.
"""

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import jellyfish
import phonenumbers

from mdm.standardisation import FREE_MAIL_DOMAINS, email_domain, fold, sku_key, split_legal_form

Features = dict[str, Any]

# Words that say what kind of organisation something is, not which one: never a blocking key alone.
_GENERIC_NAME_WORDS = frozenset(
    {
        "and",
        "und",
        "et",
        "de",
        "der",
        "die",
        "das",
        "the",
        "of",
        "la",
        "le",
        "les",
        "van",
        "von",
        "du",
        "del",
        "des",
        "y",
        "e",
        "di",
        "da",
        "group",
        "groupe",
        "gruppe",
        "holding",
        "holdings",
        "international",
        "company",
        "corporation",
        "services",
        "service",
        "solutions",
        "systems",
        "technologies",
        "technology",
        "industries",
        "trading",
        "global",
        "management",
        "consulting",
        "partners",
        "associates",
        "enterprises",
    }
)
_MAX_NAME_TOKENS = 6  # a name's first six words file it; the rest add nothing but index rows


def _phonetic(token: str) -> str:
    """A phonetic code of one word (Metaphone) for Latin script; other scripts key on the word itself."""
    if token.isascii() and token.isalpha():
        return jellyfish.metaphone(token) or token
    return token


# Postcodes written with the old European country prefix ("D-80331", "CH-8001", "I-20130") or as a US ZIP+4.
_POSTCODE_PREFIX = re.compile(r"^[A-Z]{1,2}-(?=\d)")
_ZIP_PLUS_FOUR = re.compile(r"^(\d{5})-?\d{4}$")


def _postcode(address: dict[str, Any]) -> str:
    """A postcode as compared: upper case without spaces, a country prefix dropped, a US ZIP+4 cut to its ZIP."""
    postcode = _POSTCODE_PREFIX.sub("", "".join((address.get("postcode") or "").upper().split()))
    if address.get("country") == "US" and (zip_code := _ZIP_PLUS_FOUR.match(postcode)):
        return zip_code.group(1)
    return postcode


# Words before a person's first name that are titles or forms of address, not names (folded, dots gone): "Dr. Hans",
# "Dipl.-Ing. Victor", "Mme Adrien", "Dott. Marco", "Ir. Jip". Dropped only while a name remains after them.
_TITLES = frozenset(
    {
        *("dr", "prof", "professor", "dipl", "ing", "mag", "phd", "mba", "msc", "bsc"),
        *("mr", "mrs", "ms", "miss", "mx", "sir", "dame", "lord", "lady", "rev"),
        *("herr", "frau", "hr", "fr", "mme", "mlle", "m", "monsieur", "madame", "mademoiselle"),
        *("dott", "dottssa", "dottoressa", "sig", "sigra", "signor", "signora", "avv", "arch", "geom", "rag"),
        *("ir", "drs", "dhr", "mevr", "sr", "sra", "srta", "don", "dona", "lic", "pan", "pani"),
    }
)
# Generational suffixes after a surname: kept apart, since "Thomas Garza Jr." and "Thomas Garza Sr." are two people.
_GENERATIONS = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}


_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: a "+tag" dropped, and at Gmail dots ignored and googlemail.com as
    gmail.com ("j.smith+shop@googlemail.com" is "jsmith@gmail.com")."""
    local, _, domain = email.lower().rpartition("@")
    if not local:
        return email.lower()
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _without_titles(first: str) -> str:
    words = first.split()
    while len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    return " ".join(words)


def _without_generation(last: str) -> tuple[str, str]:
    words = last.split()
    if len(words) > 1 and words[-1] in _GENERATIONS:
        return " ".join(words[:-1]), _GENERATIONS[words[-1]]
    return last, ""


def _located(values: dict[str, Any]) -> dict[str, Any]:
    """The first address that has a country (legal, then billing, then shipping), or the first address at all."""
    addresses = [values.get(kind) or {} for kind in ("legal_address", "billing_address", "shipping_address")]
    return next((address for address in addresses if address.get("country")), next(filter(None, addresses), {}))


# A tax number as compared when its check digits fail or its prefix was left off: a leading two-letter country
# prefix dropped ("DE123456789" and "123456789" are one number; "ATU12345678" and "U12345678" too).
_TAX_PREFIX = re.compile(r"^[A-Z]{2}(?=[A-Z]?\d)")


def tax_number(value: str) -> str:
    """A tax ID's number without its country prefix, letters and digits only."""
    return _TAX_PREFIX.sub("", "".join(char for char in value.upper() if char.isalnum()))


@lru_cache(maxsize=65536)
def national_number(e164: str) -> str:
    """The national significant number of an E.164 phone ("+4930123456" -> "30123456")."""
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return e164.lstrip("+")


def _phone_numbers(values: dict[str, Any]) -> list[str]:
    """Every phone as its national significant digits: the valid ones (E.164) and those libphonenumber rejects
    (standardised values keep their digits apart), so "+49 30 123456" and an unverifiable "030 123456" agree."""
    numbers = {national_number(phone) for phone in values.get("phones") or []}
    numbers.update(values.get("unverified_phones") or [])
    return sorted(numbers)


def _organisation(values: dict[str, Any]) -> Features:
    names, forms = [], []
    for raw in (values.get("legal_name"), values.get("trade_name")):
        split = split_legal_form(raw) if raw else None
        if split and split.core_key and split.core_key not in names:
            names.append(split.core_key)
        if split and split.legal_form and split.legal_form not in forms:
            forms.append(split.legal_form)
    address = _located(values)
    domains = []
    if values.get("website"):
        domains.append(values["website"])
    for email in values.get("emails") or []:
        domain = email_domain(email)
        if domain and domain not in FREE_MAIL_DOMAINS and domain not in domains:
            domains.append(domain)
    return {
        "kind": "organisation",
        "names": names,
        "forms": forms,
        "tax": sorted(f"{tax['country']}:{tax['value']}" for tax in values.get("tax_ids") or [] if tax.get("valid")),
        # Every tax ID as a number, valid or not: one with a wrong check digit still agrees with itself.
        "taxnum": sorted({tax_number(tax["value"]) for tax in values.get("tax_ids") or [] if tax.get("value")}),
        "phones": sorted(values.get("phones") or []),
        "phonenums": _phone_numbers(values),
        "domains": sorted(domains),
        "postcode": _postcode(address),
        "city": fold(address.get("city")),
        "street": fold(address.get("line1")),
        "country": address.get("country") or "",
    }


def _person(values: dict[str, Any]) -> Features:
    first, last = fold(values.get("first_name")), fold(values.get("last_name"))
    if not (first or last):
        parts = fold(values.get("legal_name")).split()
        first, last = (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", " ".join(parts))
    first = _without_titles(first)
    last, generation = _without_generation(last)
    address = _located(values)
    return {
        "kind": "person",
        "first": first,
        "last": last,
        "gen": generation,
        "dob": values.get("date_of_birth") or "",
        "nid": values.get("national_id") or "",
        "phones": sorted(values.get("phones") or []),
        "phonenums": _phone_numbers(values),
        "emails": sorted({mailbox(email) for email in values.get("emails") or []}),
        "postcode": _postcode(address),
        "city": fold(address.get("city")),
        "street": fold(" ".join(filter(None, (address.get("line1"), address.get("line2"))))),
        "country": address.get("country") or "",
    }


# Zeros that pad a SKU's number ("CAB013422" is "CAB13422"); the number alone survives a dropped prefix or an
# added suffix ("17928", "SCR-17928-BX").
_SKU_PADDING = re.compile(r"(?<![0-9])0+(?=[0-9])")
_SKU_NUMBER = re.compile(r"[0-9]+")


def sku_forms(sku: str) -> tuple[str, str]:
    """A SKU's key without zero padding, and its longest number (without padding; "" when shorter than 4)."""
    key = _SKU_PADDING.sub("", sku_key(sku))
    number = max(_SKU_NUMBER.findall(key), key=len, default="")
    return key, number if len(number) >= 4 else ""


def _product(values: dict[str, Any]) -> Features:
    sku, number = sku_forms(values.get("sku") or "")
    return {
        "kind": "product",
        "gtin": values.get("gtin") or "",
        "sku": sku,
        "skunum": number,
        "name": fold(values.get("name")),
        "uom": values.get("unit_of_measure") or "",
        "category": fold(values.get("category")),
        "price": values.get("list_price") or "",
        "currency": values.get("currency") or "",
    }


# The attributes of each kind's match form (besides "kind"), in the order the forms above list them.
# Attributes that hold lists (a record may have several phones, names, tax IDs); the others hold one string.
LIST_FIELDS = frozenset({"names", "forms", "tax", "taxnum", "phones", "phonenums", "domains", "emails"})

FIELDS: dict[str, tuple[str, ...]] = {
    "organisation": (
        "names",
        "forms",
        "tax",
        "taxnum",
        "phones",
        "phonenums",
        "domains",
        "postcode",
        "city",
        "street",
        "country",
    ),
    "person": (
        "first",
        "last",
        "gen",
        "dob",
        "nid",
        "phones",
        "phonenums",
        "emails",
        "postcode",
        "city",
        "street",
        "country",
    ),
    "product": ("gtin", "sku", "skunum", "name", "uom", "category", "price", "currency"),
}


def features(entity_type: str, values: dict[str, Any]) -> Features:
    """The match form of one record's standardised values."""
    if entity_type == "product":
        return _product(values)
    if values.get("kind") == "person":
        return _person(values)
    return _organisation(values)


def _name_tokens(names: Iterable[str]) -> list[str]:
    tokens: list[str] = []
    for name in names:
        for token in name.split()[:_MAX_NAME_TOKENS]:
            if len(token) > 1 and token not in _GENERIC_NAME_WORDS and token not in tokens:
                tokens.append(token)
    return tokens


def deletion_variants(word: str, length: int = 7) -> list[str]:
    """A word's first `length` letters and each of their one-letter deletions: two words one typo apart (a letter
    changed, added, dropped or two swapped) within those letters share at least one variant; a typo after them
    leaves the stem itself shared. Short words are their own only variant."""
    stem = word[:length]
    if len(stem) < 4:
        return [stem] if stem else []
    return list(dict.fromkeys([stem, *(stem[:index] + stem[index + 1 :] for index in range(len(stem)))]))


_HOUSE_NUMBER = re.compile(r"\d+")


def _street_key(street: str) -> str:
    """A street as a key: its house number and the first four letters of its first word of three or more
    ("7 chapel road" -> "7chap", "kriemhild heuser strasse 4" -> "4krie"); "" without a number."""
    number = _HOUSE_NUMBER.search(street)
    word = next((word for word in street.split() if word.isalpha() and len(word) >= 3), "")
    return f"{number.group()}{word[:4]}" if number and word else ""


def blocking_keys(entity_type: str, found: Features) -> list[str]:
    """The keys a record is filed under; two records can be compared only if they share one."""
    keys: list[str] = []
    kind = found.get("kind")
    if kind == "organisation":
        keys += [f"tax:{tax}" for tax in found["tax"]]
        keys += [f"tel:{phone}" for phone in found.get("phonenums") or ()]
        keys += [f"dom:{domain}" for domain in found["domains"]]
        tokens = _name_tokens(found["names"])
        keys += [f"nt:{token}" for token in tokens]
        keys += [f"txn:{number}" for number in found.get("taxnum") or () if len(number) >= 6]
        for name in found["names"]:
            words = [word for word in name.split() if word not in _GENERIC_NAME_WORDS] or name.split()
            if words:
                keys.append("nph:" + "".join(_phonetic(word) for word in words[:2]))
                if found["postcode"]:
                    keys.append(f"npc:{''.join(words)[:4]}:{found['postcode']}")
                # One typo in the distinctive word still shares one of these (within its country).
                keys += [f"nd:{found['country']}:{variant}" for variant in deletion_variants(words[0])]
        if found["postcode"] and (street := _street_key(found["street"])):
            keys.append(f"sp:{found['postcode']}:{street}")
        if not keys and found["names"]:
            keys.append(f"nx:{found['names'][0]}")  # a name of generic words only still finds its twins
    elif kind == "person":
        first, last = found["first"], found["last"]
        if found["nid"]:
            keys.append(f"nid:{found['nid']}")
        if found["dob"]:
            keys.append(f"dob:{found['dob']}")
        if last:
            keys.append(f"pph:{_phonetic(last.split()[-1])}:{first[:1]}")
            keys.append(f"psn:{last}")
        if first and found["postcode"]:
            keys.append(f"ppc:{found['postcode']}:{first[:1]}")
            # Composite keys stay rare at millions of records, when a surname or a postcode alone is too common.
            keys.append(f"pfp:{first}:{found['postcode']}")
        if first and found["dob"]:
            keys.append(f"pfd:{first}:{found['dob'][:4]}")
        if last and found["dob"]:
            keys.append(f"psy:{last}:{found['dob'][:4]}")
        if found["postcode"]:
            if street := _street_key(found["street"]):
                keys.append(f"pad:{found['postcode']}:{street}")  # the household: survives typos in both names
            if last:
                keys += [f"pld:{found['postcode']}:{variant}" for variant in deletion_variants(last.split()[-1], 6)]
        keys += [f"tel:{phone}" for phone in found.get("phonenums") or ()]
        keys += [f"eml:{email}" for email in found["emails"]]
    elif kind == "product":
        if found["gtin"]:
            keys.append(f"gtin:{found['gtin']}")
        if found["gtin"]:
            keys.append(f"gti:{found['gtin'][1:13]}")  # the item reference: the case GTIN-14, a wrong check digit
        if found["sku"]:
            keys.append(f"sku:{found['sku']}")
        if found.get("skunum"):
            keys.append(f"skn:{found['skunum']}")
        tokens = [token for token in found["name"].split()[:_MAX_NAME_TOKENS] if len(token) > 1]
        keys += [f"pt:{token}" for token in tokens]
        if tokens and found["uom"]:
            keys.append(f"pu:{tokens[0]}:{found['uom']}")
    return [key[:160] for key in dict.fromkeys(keys)]


# Key prefixes of identifiers: sharing one says much more than sharing a word (engine.key_weight).
IDENTIFIER_KEY_PREFIXES = ("tax:", "txn:", "gtin:", "gti:", "sku:", "skn:", "nid:", "tel:", "eml:", "dom:")


def strong_keys(keys: Iterable[str]) -> list[str]:
    """The keys that identify on their own (tax ID, GTIN, SKU, national ID): also used to serialise writers."""
    return [key for key in keys if key.startswith(("tax:", "gtin:", "sku:", "nid:"))]
