"""Product standardisers: GTIN check digits, SKU keys, units of measure and currencies."""

from functools import lru_cache

import pycountry
from stdnum import ean

from mdm.standardisation.errors import StandardisationError

# UN/ECE Recommendation 20 codes for the units products are commonly sold in, with the spellings
# source systems use for them. Unknown units are refused rather than guessed.
_UNITS: dict[str, tuple[str, ...]] = {
    "EA": ("ea", "each", "pc", "pcs", "piece", "pieces", "pce", "unit", "units", "stk", "st"),
    "SET": ("set", "sets"),
    "PR": ("pr", "pair", "pairs"),
    "DZN": ("dzn", "dozen", "dz"),
    "BX": ("bx", "box", "boxes"),
    "CT": ("ct", "carton", "cartons", "ctn"),
    "PK": ("pk", "pack", "packs", "package"),
    "PF": ("pf", "pallet", "pallets", "plt"),
    "RL": ("rl", "roll", "rolls"),
    "KGM": ("kgm", "kg", "kilogram", "kilograms", "kilo"),
    "GRM": ("grm", "g", "gram", "grams"),
    "TNE": ("tne", "t", "tonne", "tonnes", "ton"),
    "LBR": ("lbr", "lb", "lbs", "pound", "pounds"),
    "LTR": ("ltr", "l", "litre", "litres", "liter", "liters"),
    "MLT": ("mlt", "ml", "millilitre", "milliliter"),
    "MTR": ("mtr", "m", "metre", "meter", "metres", "meters"),
    "CMT": ("cmt", "cm", "centimetre", "centimeter"),
    "MTK": ("mtk", "m2", "sqm", "square metre"),
    "MTQ": ("mtq", "m3", "cbm", "cubic metre"),
    "HUR": ("hur", "h", "hr", "hour", "hours"),
    "DAY": ("day", "days", "d"),
    "MON": ("mon", "month", "months"),
    "ANN": ("ann", "year", "years", "yr"),
    "LS": ("ls", "lump sum"),
}
_UNIT_LOOKUP = {alias: code for code, aliases in _UNITS.items() for alias in (*aliases, code.lower())}


def unit_of_measure(value: str) -> str:
    """The UN/ECE Rec 20 code of a unit of measure ("pcs" -> "EA", "kg" -> "KGM")."""
    code = _UNIT_LOOKUP.get(value.strip().lower().rstrip("."))
    if code is None:
        raise StandardisationError(f"unknown unit of measure '{value}'; use a UN/ECE Rec 20 code such as EA or KGM")
    return code


@lru_cache(maxsize=512)
def currency_code(value: str) -> str:
    """An ISO 4217 currency code ("eur" -> "EUR")."""
    code = value.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise StandardisationError(f"unknown currency '{value}'; use an ISO 4217 code such as EUR")
    return code


def gtin_is_valid(gtin: str) -> bool:
    """Whether a GTIN-8/12/13/14 has a correct check digit."""
    return bool(gtin) and ean.is_valid(gtin)


def sku_key(sku: str) -> str:
    """A SKU as a key: upper case, without spaces, dots, dashes or slashes ("ab-12.3" -> "AB123")."""
    return "".join(char for char in sku.upper() if char.isalnum())
