"""Phone numbers in E.164, parsed and validated by Google's libphonenumber metadata."""

from dataclasses import dataclass

import phonenumbers

from mdm.standardisation.countries import country_code
from mdm.standardisation.errors import StandardisationError
from mdm.standardisation.text import clean_text


@dataclass(frozen=True)
class Phone:
    """A phone number as received, its E.164 form when it can be one, and whether it is a real, dialable one."""

    e164: str | None
    valid: bool
    raw: str
    # The national significant number's digits, also of a number libphonenumber rejects or cannot place (no
    # country to read it in): what a rejected number is still compared by. None for junk ("n/a", "000000").
    digits: str | None = None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """libphonenumber's reading of a number, or None when it is not one."""
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber | None) -> str | None:
    """The E.164 rendering of a parsed number."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number is not None else None


def _region(default_country: str | None) -> str | None:
    """The region national numbers are read in; an unrecognised one means none, so only "+" numbers parse."""
    try:
        return country_code(default_country)
    except StandardisationError:
        return None


# Fewer digits than this, once the trunk prefix's zeros are gone, identify nothing ("0", "tbd", a truncated number).
_MIN_DIGITS = 6


def _national_digits(number: phonenumbers.PhoneNumber | None, text: str) -> str | None:
    """The national significant digits of a parsed number, else the text's digits without leading zeros."""
    digits = str(number.national_number) if number is not None and number.national_number else ""
    if not digits:
        digits = "".join(char for char in text if char.isdigit()).lstrip("0")
    return digits if len(digits) >= _MIN_DIGITS and len(set(digits)) > 1 else None


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
    best, valid = None, False
    for candidate in candidates:
        number = _parse(candidate, region)
        if number is not None and phonenumbers.is_valid_number(number):
            best, valid = number, True
            break
        best = best or number
    # A number of impossible length for its country is no phone number. Nor is an invalid one whose
    # E.164 rendering does not survive a second parse ("000000" in DE -> "+4900000" -> "+490000").
    digits = _national_digits(best, text.split("ext")[0].split("x")[0])
    if best is None or not phonenumbers.is_possible_number(best):
        return Phone(e164=None, valid=False, raw=raw, digits=digits)
    e164 = _e164(best)
    if not valid and (e164 is None or _e164(_parse(e164, None)) != e164):
        return Phone(e164=None, valid=False, raw=raw, digits=digits)
    return Phone(e164=e164, valid=valid, raw=raw, digits=digits)
