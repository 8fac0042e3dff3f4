"""Standardise: the compact form a record is compared in, and the blocking keys that find its candidates.

`features` turns a source record's standardised values (mdm/canonical.py) into a small dict of
match-ready values: folded names with legal forms split off and abbreviations expanded, E.164
phones, domains, postcodes, dates. It is stored per source record (MatchProfile) so candidates are
never re-standardised. `blocking_keys` lists the keys a record is filed under; a candidate shares
at least one. Keys are strings with a short prefix naming their kind, so one indexed column holds
them all and a too-common key ("nt:services") can be recognised and skipped.
"""

from collections.abc import Iterable
from typing import Any

import jellyfish

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


def _postcode(address: dict[str, Any]) -> str:
    return "".join((address.get("postcode") or "").upper().split())


def _located(values: dict[str, Any]) -> dict[str, Any]:
    """The first address that has a country (legal, then billing, then shipping), or the first address at all."""
    addresses = [values.get(kind) or {} for kind in ("legal_address", "billing_address", "shipping_address")]
    return next((address for address in addresses if address.get("country")), next(filter(None, addresses), {}))


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
        "phones": sorted(values.get("phones") or []),
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
    address = _located(values)
    return {
        "kind": "person",
        "first": first,
        "last": last,
        "dob": values.get("date_of_birth") or "",
        "nid": values.get("national_id") or "",
        "phones": sorted(values.get("phones") or []),
        "emails": sorted(values.get("emails") or []),
        "postcode": _postcode(address),
        "city": fold(address.get("city")),
        "street": fold(" ".join(filter(None, (address.get("line1"), address.get("line2"))))),
        "country": address.get("country") or "",
    }


def _product(values: dict[str, Any]) -> Features:
    return {
        "kind": "product",
        "gtin": values.get("gtin") or "",
        "sku": sku_key(values.get("sku") or ""),
        "name": fold(values.get("name")),
        "uom": values.get("unit_of_measure") or "",
        "category": fold(values.get("category")),
        "price": values.get("list_price") or "",
        "currency": values.get("currency") or "",
    }


# The attributes of each kind's match form (besides "kind"), in the order the forms above list them.
FIELDS: dict[str, tuple[str, ...]] = {
    "organisation": ("names", "forms", "tax", "phones", "domains", "postcode", "city", "street", "country"),
    "person": ("first", "last", "dob", "nid", "phones", "emails", "postcode", "city", "street", "country"),
    "product": ("gtin", "sku", "name", "uom", "category", "price", "currency"),
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


def blocking_keys(entity_type: str, found: Features) -> list[str]:
    """The keys a record is filed under; two records can be compared only if they share one."""
    keys: list[str] = []
    kind = found.get("kind")
    if kind == "organisation":
        keys += [f"tax:{tax}" for tax in found["tax"]]
        keys += [f"tel:{phone}" for phone in found["phones"]]
        keys += [f"dom:{domain}" for domain in found["domains"]]
        tokens = _name_tokens(found["names"])
        keys += [f"nt:{token}" for token in tokens]
        for name in found["names"]:
            words = [word for word in name.split() if word not in _GENERIC_NAME_WORDS] or name.split()
            if words:
                keys.append("nph:" + "".join(_phonetic(word) for word in words[:2]))
                if found["postcode"]:
                    keys.append(f"npc:{''.join(words)[:4]}:{found['postcode']}")
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
        keys += [f"tel:{phone}" for phone in found["phones"]]
        keys += [f"eml:{email}" for email in found["emails"]]
    elif kind == "product":
        if found["gtin"]:
            keys.append(f"gtin:{found['gtin']}")
        if found["sku"]:
            keys.append(f"sku:{found['sku']}")
        tokens = [token for token in found["name"].split()[:_MAX_NAME_TOKENS] if len(token) > 1]
        keys += [f"pt:{token}" for token in tokens]
        if tokens and found["uom"]:
            keys.append(f"pu:{tokens[0]}:{found['uom']}")
    return [key[:160] for key in dict.fromkeys(keys)]


def strong_keys(keys: Iterable[str]) -> list[str]:
    """The keys that identify on their own (tax ID, GTIN, SKU, national ID): also used to serialise writers."""
    return [key for key in keys if key.startswith(("tax:", "gtin:", "sku:", "nid:"))]
