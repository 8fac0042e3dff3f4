"""Phone numbers in E.164, parsed and validated by Google's libphonenumber metadata."""

from dataclasses import dataclass

import phonenumbers

from mdm.standardisation.countries import country_code
from mdm.standardisation.errors import StandardisationError
from mdm.standardisation.text import clean_text


@dataclass(frozen=True)
class Phone:
    """A phone number as received, its E.164 form when it parses, and whether it is a real, dialable one."""

    e164: str | None
    valid: bool
    raw: str


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _region(default_country: str | None) -> str | None:
    """The region national numbers are read in; an unrecognised one means none, so only "+" numbers parse."""
    try:
        return country_code(default_country)
    except StandardisationError:
        return None


def normalise_phone(raw: str | None, *, default_country: str | None = None) -> Phone | None:
    """A phone number in E.164 ("+4930123456"), extension dropped; national forms read in default_country."""
    if raw is None:
        return None
    text = clean_text(raw)
    if not text:
        return None
    region = _region(default_country)
    candidates = [text]
    if text.startswith("00"):
        # "00" is the international prefix in most of the world, but not the region's own (US dials 011),
        # and with no region at all libphonenumber cannot read it; a "+" reading is the fallback.
        candidates.append("+" + text[2:])
    best = None
    for candidate in candidates:
        number = _parse(candidate, region)
        if number is not None and phonenumbers.is_valid_number(number):
            best = number
            break
        best = best or number
    if best is None:
        return Phone(e164=None, valid=False, raw=raw)
    return Phone(
        e164=phonenumbers.format_number(best, phonenumbers.PhoneNumberFormat.E164),
        valid=phonenumbers.is_valid_number(best),
        raw=raw,
    )
