"""Tax and company registration numbers, compacted and checked with python-stdnum.

An invalid number is still a fact about the source record, so it comes back flagged with the reason,
never raised and never dropped.
"""

import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, cast

from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.util import get_cc_module

from mdm.standardisation.countries import country_code
from mdm.standardisation.errors import StandardisationError

# stdnum accepts Greece as "GR" but VIES and invoices use "EL"; Northern Ireland trades in the EU as "XI".
_EU_VAT_PREFIXES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES) | {"EL"}
_COUNTRY_BY_PREFIX = {"EL": "GR", "XI": "GB"}
_VAT_PREFIX_BY_COUNTRY = {"GR": "EL"}
_EU_COUNTRIES = frozenset(_COUNTRY_BY_PREFIX.get(prefix, prefix) for prefix in _EU_VAT_PREFIXES) - {"GB"}
# Countries whose VAT numbers carry a letter prefix; only for these does a prefix in the value override
# the record's country (a Swiss company's German VAT number). Elsewhere, leading letters are part of the
# number itself (a Mexican RFC starts with the company's initials).
_PREFIXED_COUNTRIES = _EU_COUNTRIES | {"GB", "CH", "NO"}
_PREFIXES = _EU_VAT_PREFIXES | {"GB", "CH", "NO"}
# One scheme per country where the country has several numbers; elsewhere stdnum's own 'vat' or 'tin'.
_SCHEME_BY_COUNTRY = {
    "US": "us.ein",
    "GB": "gb.vat",
    "AU": "au.abn",
    "CA": "ca.bn",
    "IN": "in_.gstin",
    "BR": "br.cnpj",
    "JP": "jp.cn",
}
_SWISS_VAT_SUFFIX = re.compile(r"(MWST|TVA|IVA|TPV)$")
# Tax IDs are letters and digits in every scheme, so everything else (spaces, dots, dashes, slashes,
# stray combining marks) is formatting.
_SEPARATORS = re.compile(r"[\W_]+")
_REASONS = {
    stdnum_errors.InvalidChecksum: "invalid checksum",
    stdnum_errors.InvalidLength: "invalid length",
    stdnum_errors.InvalidFormat: "invalid format",
    stdnum_errors.InvalidComponent: "invalid component",
}


@dataclass(frozen=True)
class TaxId:
    """A tax or registration number: compact form, issuing country, and the stdnum scheme that checked it."""

    value: str
    country: str | None
    scheme: str
    valid: bool
    error: str


def _compact(raw: str) -> str:
    """Letters and digits only, upper case: the form kept even when no scheme can check it."""
    if raw.isascii():
        return _SEPARATORS.sub("", raw).upper()
    # Upper-casing and NFKC each can undo the other ("ü¯" -> "Ü" + macron -> "Ǖ"); a few rounds reach
    # the fixed point, which keeps validate_tax_id stable on its own output.
    value = raw
    for _ in range(4):
        previous, value = value, _SEPARATORS.sub("", unicodedata.normalize("NFKC", value).upper())
        if value == previous:
            break
    return value


@lru_cache(maxsize=512)
def _module(scheme: str) -> ModuleType:
    """The stdnum module that checks a scheme ("eu.vat" -> stdnum.eu.vat)."""
    return importlib.import_module(f"stdnum.{scheme}")


@lru_cache(maxsize=512)
def _generic_scheme(country: str) -> str | None:
    """stdnum's VAT module for a country, else its TIN module, as a scheme name like "mx.rfc"."""
    module = get_cc_module(country, "vat") or get_cc_module(country, "tin")
    return cast(Any, module).__name__.removeprefix("stdnum.") if module else None


def _scheme(country: str, value: str) -> str | None:
    """The scheme a country's number is checked against; the value picks between a country's numbers."""
    if country in _EU_COUNTRIES or (country == "GB" and value[:2] == "XI"):
        return "eu.vat"
    if country == "CH":
        return "ch.vat" if _SWISS_VAT_SUFFIX.search(value) else "ch.uid"
    if country == "NO":
        return "no.mva" if value.endswith("MVA") else "no.orgnr"
    return _SCHEME_BY_COUNTRY.get(country) or _generic_scheme(country)


def _prepare(scheme: str, country: str, value: str) -> str:
    """The value as the scheme's validator expects it: with or without the country prefix."""
    if scheme == "eu.vat" and value[:2] not in _EU_VAT_PREFIXES:
        return _VAT_PREFIX_BY_COUNTRY.get(country, country) + value
    if scheme == "no.orgnr" and value.startswith("NO") and value[2:].isdigit():
        return value[2:]
    return value


def _finish(scheme: str, compact: str) -> str:
    """The stored form: VAT numbers keep their country prefix even where stdnum's compact() strips it."""
    if scheme == "eu.vat" and compact.startswith("GR"):
        return "EL" + compact[2:]
    if scheme in ("gb.vat", "no.mva"):
        prefix = scheme[:2].upper()
        return compact if compact.startswith(prefix) else prefix + compact
    return compact


def _check(scheme: str, country: str, value: str) -> TaxId:
    """A number checked against one scheme, with stdnum's reason turned into a short error."""
    module = _module(scheme)
    prepared = _prepare(scheme, country, value)
    try:
        # A valid number takes stdnum's compact form. An invalid one keeps ours: stdnum's compact() is not
        # always stable on bad input (nl.btw zero-pads "0" further on every pass).
        compact, error = module.validate(prepared), ""
    except stdnum_errors.ValidationError as exc:
        compact = prepared
        error = next((reason for kind, reason in _REASONS.items() if isinstance(exc, kind)), str(exc))
    except (ValueError, TypeError, IndexError, KeyError):
        # A few validators call int() or index tables on characters their format check let through.
        compact, error = prepared, "invalid format"
    if scheme == "eu.vat":
        country = _COUNTRY_BY_PREFIX.get(compact[:2], compact[:2])
    return TaxId(
        value=_finish(scheme, compact),
        country=country,
        scheme=scheme.replace("in_.", "in."),
        valid=not error,
        error=error,
    )


def validate_tax_id(raw: str | None, *, country: str | None = None) -> TaxId | None:
    """Check a tax or registration number for a country; a VAT prefix in the value wins over the country."""
    if raw is None:
        return None
    value = _compact(raw)
    if not value:
        return None
    try:
        cc = country_code(country)
    except StandardisationError as exc:
        return TaxId(value=value, country=None, scheme="unknown", valid=False, error=str(exc))
    prefix = value[:2]
    if (cc is None or cc in _PREFIXED_COUNTRIES) and prefix in _PREFIXES:
        cc = _COUNTRY_BY_PREFIX.get(prefix, prefix)
    if cc is None:
        return TaxId(value=value, country=None, scheme="unknown", valid=False, error="no country and no VAT prefix")
    scheme = _scheme(cc, value)
    if scheme is None:
        error = f"no validator for country {cc}"
        return TaxId(value=value, country=cc, scheme="unknown", valid=False, error=error)
    return _check(scheme, cc, value)
