"""Demo data: a seeded Salesforce and NetSuite landscape, loaded through the hub's own write path.

`demo_data_build` is pure and deterministic: the same seed and sizes give the same records, byte for
byte (timestamps included), so loading twice changes nothing.

What the landscape holds, on purpose:
- companies in both systems sharing a valid VAT number (formatted differently on each side), which
  link to one golden record; companies in only one system; Salesforce accounts in both systems that
  lack the VAT number (left for the matcher and the stewards);
- a few VAT numbers with a wrong check digit (kept and flagged) and a few records the contracts
  reject (an email that is not one, no name, an unknown country, a misspelt field);
- corporate groups: legal ownership in NetSuite (up to three levels), a flatter sales hierarchy in
  Salesforce, both through `parent_source_id`;
- products shared by GTIN and SKU (the SKU spelled differently in the CRM), ERP-only spare parts,
  CRM-only services, a few GTINs with a wrong check digit and a few rejected items.
"""

import datetime
import random
import secrets
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count
from django.utils import timezone
from stdnum import ean, luhn
from stdnum.at import uid as at_uid
from stdnum.be import vat as be_vat
from stdnum.dk import cvr as dk_cvr
from stdnum.es import cif as es_cif
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.iso7064 import mod_11_10
from stdnum.nl import btw as nl_btw
from stdnum.us import ein as us_ein

from mdm.context import acting
from mdm.hierarchies import valid_on
from mdm.ingest import REJECTED, ingest
from mdm.models import (
    ApiKey,
    Customer,
    EntityType,
    GoldenRecord,
    GoldenStatus,
    HierarchyEdge,
    Product,
    SourceRecord,
    System,
)
from mdm.services import api_key_create

DEFAULT_SEED = 20_240_611
DEFAULT_CUSTOMERS = 2_500
DEFAULT_PRODUCTS = 600
DEFAULT_STEWARD = "steward"
BATCH_SIZE = 500
# Demo API keys are found again by name, so a re-run knows they exist (their secrets are stored hashed).
DEMO_KEYS = (
    ("Demo read-only key (reporting)", None),
    ("Demo Salesforce integration key", "salesforce"),
    ("Demo NetSuite integration key", "netsuite"),
)
_EPOCH = datetime.datetime(2025, 1, 6, 8, 0, tzinfo=datetime.UTC)


# --- Countries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    area: str  # the national significant prefix of the city's phone numbers
    digits: int  # subscriber digits after the area code
    postcode: Callable[[random.Random], str]
    region: str = ""


@dataclass(frozen=True)
class _Country:
    code: str
    name: str  # as a CRM user types it
    local: str  # the country's own name, for group subsidiaries ("Rheinberg Deutschland GmbH")
    calling_code: str
    trunk: str
    tld: str
    weight: int
    legal_forms: tuple[tuple[str, int], ...]
    roots: tuple[str, ...]
    sectors: tuple[str, ...]
    sector_first: bool  # "Transports Loire SAS" rather than "Loire Transports SAS"
    streets: tuple[str, ...]
    street_format: str  # "{street} {number}" or "{number} {street}"
    cities: tuple[_City, ...]
    currency: str


def _digits(low: int, high: int, width: int) -> Callable[[random.Random], str]:
    return lambda rng: f"{rng.randint(low, high):0{width}d}"


def _uk_postcode(outward: str) -> Callable[[random.Random], str]:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return lambda rng: f"{outward}{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _nl_postcode(low: int, high: int) -> Callable[[random.Random], str]:
    letters = "ABCEGHJKLMNPRSTVWXZ"
    return lambda rng: f"{rng.randint(low, high)} {rng.choice(letters)}{rng.choice(letters)}"


def _se_postcode(low: int, high: int) -> Callable[[random.Random], str]:
    return lambda rng: (lambda n: f"{n // 100} {n % 100:02d}")(rng.randint(low, high))


COUNTRIES: tuple[_Country, ...] = (
    _Country(
        "DE", "Germany", "Deutschland", "49", "0", "de", 24,
        (("GmbH", 70), ("AG", 10), ("GmbH & Co. KG", 15), ("KG", 5)),
        ("Rhein", "Alpen", "Nord", "Elb", "Hansa", "Isar", "Main", "Spree", "Weser", "Harz", "Taunus", "Boden",
         "Eifel", "Mosel", "Ostsee", "Saale", "Werra", "Donau"),
        ("Maschinenbau", "Logistik", "Elektrotechnik", "Lebensmittel", "Kunststofftechnik", "Metallbau",
         "Antriebstechnik", "Verpackung", "Medizintechnik", "Handel", "Stahlbau", "Automation"),
        False, ("Hauptstraße", "Industriestraße", "Am Hafen", "Bahnhofstraße", "Gewerbering", "Lindenallee"),
        "{street} {number}",
        (_City("Berlin", "30", 7, _digits(10115, 14199, 5)), _City("Hamburg", "40", 7, _digits(20095, 22769, 5)),
         _City("München", "89", 7, _digits(80331, 81929, 5)), _City("Köln", "221", 7, _digits(50667, 51149, 5)),
         _City("Frankfurt am Main", "69", 7, _digits(60306, 60599, 5)),
         _City("Stuttgart", "711", 7, _digits(70173, 70629, 5)),
         _City("Düsseldorf", "211", 7, _digits(40210, 40629, 5)),
         _City("Leipzig", "341", 7, _digits(4103, 4357, 5)), _City("Bremen", "421", 7, _digits(28195, 28779, 5))),
        "EUR",
    ),
    _Country(
        "GB", "United Kingdom", "UK", "44", "0", "co.uk", 15,
        (("Ltd", 80), ("PLC", 8), ("Limited", 12)),
        ("Thames", "Pennine", "Cotswold", "Mersey", "Severn", "Kingsbridge", "Ashford", "Hadley", "Brampton",
         "Whitmore", "Calder", "Tyne", "Avon", "Wessex", "Chiltern", "Fenland", "Solway", "Cheviot", "Mendip",
         "Ribble", "Medway", "Humber", "Trent", "Exmoor"),
        ("Engineering", "Logistics", "Foods", "Systems", "Packaging", "Components", "Supplies", "Technologies",
         "Fabrications", "Distribution"),
        False, ("High Street", "Station Road", "Riverside Way", "Mill Lane", "Church Street", "Victoria Road"),
        "{number} {street}",
        (_City("London", "20", 8, _uk_postcode("EC")), _City("Manchester", "161", 7, _uk_postcode("M")),
         _City("Birmingham", "121", 7, _uk_postcode("B")), _City("Leeds", "113", 7, _uk_postcode("LS")),
         _City("Glasgow", "141", 7, _uk_postcode("G")), _City("Bristol", "117", 7, _uk_postcode("BS"))),
        "GBP",
    ),
    _Country(
        "US", "United States", "USA", "1", "", "com", 15,
        (("Inc", 60), ("LLC", 30), ("Corp", 10)),
        ("Lakeside", "Summit", "Pioneer", "Redwood", "Granite", "Liberty", "Cascade", "Prairie", "Harbor", "Keystone",
         "Bayview", "Ironwood", "Silverline", "Frontier", "Evergreen", "Blue Ridge", "Northstar", "Sierra",
         "Clearwater", "Highland", "Copperfield", "Riverbend", "Westbrook", "Stonegate", "Meridian", "Oakridge"),
        ("Industries", "Manufacturing", "Logistics", "Foods", "Technologies", "Supply", "Fabrication", "Controls",
         "Materials", "Distribution", "Packaging", "Instruments", "Components", "Equipment"),
        False, ("Market Street", "Main Street", "Commerce Drive", "Industrial Parkway", "Lake Avenue", "Oak Street"),
        "{number} {street}",
        (_City("New York", "212", 7, _digits(10001, 10282, 5), "NY"),
         _City("Chicago", "312", 7, _digits(60601, 60661, 5), "IL"),
         _City("Houston", "713", 7, _digits(77001, 77099, 5), "TX"),
         _City("San Francisco", "415", 7, _digits(94102, 94134, 5), "CA"),
         _City("Boston", "617", 7, _digits(2108, 2137, 5), "MA"),
         _City("Atlanta", "404", 7, _digits(30301, 30350, 5), "GA"),
         _City("Seattle", "206", 7, _digits(98101, 98199, 5), "WA")),
        "USD",
    ),
    _Country(
        "FR", "France", "France", "33", "0", "fr", 12,
        (("SAS", 60), ("SA", 15), ("SARL", 25)),
        ("Loire", "Provence", "Atlantique", "Bretagne", "Rhône", "Garonne", "Vosges", "Alpes", "Normandie", "Seine",
         "Jura", "Dordogne", "Cévennes", "Vendée", "Morvan", "Ardèche", "Camargue", "Artois", "Picardie", "Savoie"),
        ("Transports", "Ateliers", "Industries", "Laboratoires", "Emballages", "Constructions", "Distribution",
         "Mécanique", "Équipements", "Outillage", "Plastiques", "Fonderies"),
        True, ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur", "rue du Port"),
        "{number} {street}",
        (_City("Paris", "1", 8, _digits(75001, 75020, 5)), _City("Lyon", "4", 8, _digits(69001, 69009, 5)),
         _City("Marseille", "4", 8, _digits(13001, 13016, 5)), _City("Toulouse", "5", 8, _digits(31000, 31500, 5)),
         _City("Lille", "3", 8, _digits(59000, 59800, 5)), _City("Nantes", "2", 8, _digits(44000, 44300, 5))),
        "EUR",
    ),
    _Country(
        "NL", "Netherlands", "Nederland", "31", "0", "nl", 8,
        (("BV", 85), ("NV", 15)),
        ("Delta", "Polder", "Zuider", "Oranje", "Maas", "IJssel", "Hollands", "Veluwe", "Waal", "Zeeland", "Brabant",
         "Twente", "Drenthe", "Friese", "Amstel", "Linge"),
        ("Techniek", "Logistiek", "Handel", "Voeding", "Installaties", "Verpakkingen", "Metaal", "Bouw", "Transport",
         "Elektro", "Systemen", "Groothandel"),
        False, ("Keizersgracht", "Industrieweg", "Havenstraat", "Stationsplein", "Kerkstraat"),
        "{street} {number}",
        (_City("Amsterdam", "20", 7, _nl_postcode(1011, 1109)), _City("Rotterdam", "10", 7, _nl_postcode(3011, 3089)),
         _City("Utrecht", "30", 7, _nl_postcode(3511, 3585)), _City("Eindhoven", "40", 7, _nl_postcode(5611, 5658))),
        "EUR",
    ),
    _Country(
        "IT", "Italy", "Italia", "39", "", "it", 7,
        (("Srl", 75), ("SpA", 25)),
        ("Lombarda", "Toscana", "Padana", "Ligure", "Veneta", "Alpina", "Tirrena", "Adriatica", "Emiliana", "Sabauda",
         "Friulana", "Umbra", "Sannita", "Dolomiti"),
        ("Meccanica", "Trasporti", "Alimentari", "Elettronica", "Imballaggi", "Forniture", "Plastica"),
        True, ("Via Roma", "Via Garibaldi", "Viale dell'Industria", "Corso Italia", "Via Dante"),
        "{street} {number}",
        (_City("Milano", "02", 8, _digits(20121, 20162, 5)), _City("Roma", "06", 8, _digits(118, 199, 5)),
         _City("Torino", "011", 7, _digits(10121, 10156, 5)), _City("Bologna", "051", 7, _digits(40121, 40141, 5))),
        "EUR",
    ),
    _Country(
        "ES", "Spain", "España", "34", "", "es", 6,
        (("SL", 75), ("SA", 25)),
        ("Ibérica", "Levante", "Cantábrica", "Mediterránea", "Castellana", "Andaluza", "Atlántica", "Gallega",
         "Navarra", "Aragonesa", "Riojana", "Extremeña"),
        ("Logística", "Alimentación", "Ingeniería", "Distribuciones", "Suministros", "Envases", "Metalurgia"),
        True, ("Calle Mayor", "Avenida de la Constitución", "Calle del Puerto", "Paseo de Gracia", "Calle Real"),
        "{street} {number}",
        (_City("Madrid", "91", 7, _digits(28001, 28055, 5)), _City("Barcelona", "93", 7, _digits(8001, 8042, 5)),
         _City("Valencia", "96", 7, _digits(46001, 46026, 5)), _City("Bilbao", "94", 7, _digits(48001, 48015, 5))),
        "EUR",
    ),
    _Country(
        "BE", "Belgium", "Belgium", "32", "0", "be", 4,
        (("NV", 45), ("BV", 40), ("SA", 15)),
        ("Schelde", "Ardennen", "Brabant", "Kempen", "Meuse", "Leie", "Zenne", "Dender", "Hageland", "Condroz",
         "Famenne", "Westhoek"),
        ("Logistics", "Techniek", "Industries", "Food", "Chemicals", "Trading"),
        False, ("Rue de la Loi", "Meir", "Kortrijksesteenweg", "Avenue Louise", "Veldstraat"),
        "{street} {number}",
        (_City("Brussel", "2", 7, _digits(1000, 1210, 4)), _City("Antwerpen", "3", 7, _digits(2000, 2660, 4)),
         _City("Gent", "9", 7, _digits(9000, 9052, 4)), _City("Liège", "4", 7, _digits(4000, 4032, 4))),
        "EUR",
    ),
    _Country(
        "AT", "Austria", "Austria", "43", "0", "at", 4,
        (("GmbH", 85), ("AG", 15)),
        ("Tauern", "Wachau", "Inntal", "Steirer", "Kärntner", "Donau", "Arlberg"),
        ("Maschinenbau", "Logistik", "Holztechnik", "Handel", "Elektro", "Lebensmittel"),
        False, ("Mariahilfer Straße", "Industriezeile", "Hauptplatz", "Bahnhofstraße", "Gewerbepark"),
        "{street} {number}",
        (_City("Wien", "1", 7, _digits(1010, 1230, 4)), _City("Graz", "316", 6, _digits(8010, 8055, 4)),
         _City("Linz", "732", 6, _digits(4020, 4040, 4)), _City("Salzburg", "662", 6, _digits(5020, 5026, 4))),
        "EUR",
    ),
    _Country(
        "SE", "Sweden", "Sverige", "46", "0", "se", 3,
        (("AB", 100),),
        ("Nordic", "Skandia", "Göta", "Mälar", "Norrland", "Vänern", "Kalmar"),
        ("Teknik", "Logistik", "Industri", "Verkstad", "Handel", "Trä"),
        False, ("Drottninggatan", "Storgatan", "Industrivägen", "Hamngatan", "Kungsgatan"),
        "{street} {number}",
        (_City("Stockholm", "8", 7, _se_postcode(11120, 11860)), _City("Göteborg", "31", 7, _se_postcode(41101, 41878)),
         _City("Malmö", "40", 6, _se_postcode(21110, 21845))),
        "SEK",
    ),
    _Country(
        "DK", "Denmark", "Danmark", "45", "", "dk", 2,
        (("A/S", 55), ("ApS", 45)),
        ("Jylland", "Øresund", "Fyn", "Limfjord", "Nordsø", "Kattegat"),
        ("Maskinfabrik", "Logistik", "Teknik", "Handel", "Fødevarer"),
        False, ("Strøget", "Vesterbrogade", "Industrivej", "Havnegade", "Nørregade"),
        "{street} {number}",
        (_City("København", "3", 7, _digits(1050, 2450, 4)), _City("Aarhus", "8", 7, _digits(8000, 8270, 4)),
         _City("Odense", "6", 7, _digits(5000, 5270, 4))),
        "DKK",
    ),
)  # fmt: skip
_BY_CODE = {country.code: country for country in COUNTRIES}
_FAMILY_NAMES = {
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter"),
    "AT": ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser", "Mayer"),
    "GB": ("Smith", "Taylor", "Brown", "Wilson", "Evans", "Thompson", "Roberts", "Walker", "Wright", "Hughes"),
    "US": ("Miller", "Johnson", "Anderson", "Carter", "Mitchell", "Parker", "Collins", "Morgan", "Bennett", "Hayes"),
    "FR": ("Martin", "Bernard", "Dubois", "Laurent", "Moreau", "Lefèvre", "Girard", "Fournier"),
    "NL": ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Mulder", "de Boer"),
    "IT": ("Rossi", "Bianchi", "Colombo", "Ferrari", "Romano", "Ricci", "Marino"),
    "ES": ("García", "Fernández", "López", "Martínez", "Sánchez", "Navarro", "Romero"),
    "BE": ("Peeters", "Janssens", "Maes", "Jacobs", "Dubois", "Lambert"),
    "SE": ("Lindqvist", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Berg"),
    "DK": ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen"),
}
_GROUP_HEAD_WORD = {"DE": "Holding", "AT": "Holding", "NL": "Groep", "FR": "Groupe", "IT": "Gruppo", "ES": "Grupo"}
_INDUSTRIES = (
    "Manufacturing", "Wholesale", "Retail", "Transportation", "Food & Beverage", "Construction", "Energy",
    "Healthcare", "Technology", "Chemicals", "Automotive",
)  # fmt: skip
_PAYMENT_TERMS = (("Net 30", 50), ("Net 45", 15), ("Net 60", 15), ("2% 10 Net 30", 10), ("Due on receipt", 10))


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


# --- Tax IDs: valid check digits computed with python-stdnum -------------------------------------------


def _complete(body: str, is_valid: Callable[[str], bool], width: int = 1) -> str | None:
    """The body with the first check digit(s) the scheme accepts, or None when no digit fits."""
    for check in range(10**width):
        candidate = f"{body}{check:0{width}d}"
        if is_valid(candidate):
            return candidate
    return None


def _vat_candidate(code: str, rng: random.Random) -> str | None:
    """A VAT number (US: an EIN) for a country, built with the scheme's check-digit algorithm."""
    if code == "DE":
        body = str(rng.randint(10_000_000, 99_999_999))
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    if code == "AT":
        body = f"U{rng.randint(1_000_000, 9_999_999)}"
        return f"AT{body}{at_uid.calc_check_digit(body)}"
    if code == "FR":
        siren_body = str(rng.randint(30_000_000, 89_999_999))
        siren = siren_body + luhn.calc_check_digit(siren_body)
        return f"FR{int(siren + '12') % 97:02d}{siren}"  # the key stdnum.fr.tva checks
    if code == "IT":
        body = f"{rng.randint(1_000_000, 9_999_999)}{rng.randint(1, 100):03d}"
        return f"IT{body}{luhn.calc_check_digit(body)}"
    if code == "ES":
        body = f"B{rng.randint(10_000_000, 99_999_999) // 10}"
        return f"ES{body}{es_cif.calc_check_digits(body)[0]}"
    if code == "SE":
        body = f"556{rng.randint(100_000, 999_999)}"
        return f"SE{body}{luhn.calc_check_digit(body)}01"
    if code == "BE":
        number = _complete(f"0{rng.randint(2_000_000, 9_999_999)}", be_vat.is_valid, width=2)
        return f"BE{number}" if number else None
    if code == "NL":
        number = _complete(str(rng.randint(10_000_000, 99_999_999)), lambda n: nl_btw.is_valid(n + "B01"))
        return f"NL{number}B01" if number else None
    if code == "DK":
        number = _complete(str(rng.randint(1_000_000, 9_999_999)), dk_cvr.is_valid)
        return f"DK{number}" if number else None
    if code == "GB":
        number = _complete(str(rng.randint(1_000_000, 9_999_999)), gb_vat.is_valid, width=2)
        return f"GB{number}" if number else None
    if code == "US":
        prefix = rng.choice(("10", "12", "20", "26", "27", "30", "33", "45", "46", "47", "81", "82", "83", "84"))
        return f"{prefix}-{rng.randint(1_000_000, 9_999_999)}"
    raise ValueError(f"no VAT generator for {code}")


def tax_id_is_valid(code: str, value: str) -> bool:
    """python-stdnum's verdict on a demo VAT number (an EIN for the US)."""
    if code == "US":
        return us_ein.is_valid(value)
    return gb_vat.is_valid(value) if code == "GB" else eu_vat.is_valid(value)


def _break_check_digit(code: str, value: str) -> str:
    """The same number with a wrong last digit, as a typo in the ERP would have it (US: an unassigned prefix)."""
    if code == "US":
        return f"07{value[2:]}"
    for step in range(1, 10):
        broken = value[:-1] + str((int(value[-1]) + step) % 10)
        if not tax_id_is_valid(code, broken):
            return broken
    raise ValueError(f"cannot break {value}")  # every scheme above rejects some last digit


def _sf_vat_spelling(rng: random.Random, country: _Country, vat: str) -> dict[str, str]:
    """How a sales rep types the VAT number into a custom field: spaced, lower case, or without prefix."""
    if country.code == "US":
        return {"value": vat, "country": "US"}
    style = rng.randrange(4)
    if style == 0:
        return {"value": vat}
    if style == 1:
        return {"value": f"{vat[:2]} {' '.join(vat[2 + i : 5 + i] for i in range(0, len(vat) - 2, 3))}"}
    if style == 2:
        return {"value": vat.lower()}
    return {"value": vat[2:], "country": country.code}


# --- Salesforce and NetSuite identifiers ----------------------------------------------------------------

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce ID: key prefix, pod, counter in base 62, and the case-safe suffix."""
    body = ""
    for _ in range(5):
        number, digit = divmod(number, 62)
        body = _BASE62[digit] + body
    short = f"{prefix}5g00000{body}"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(short[chunk * 5 : chunk * 5 + 5]) if char.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return short + suffix


def _timestamp(rng: random.Random) -> str:
    moment = _EPOCH + datetime.timedelta(minutes=rng.randint(0, 300 * 24 * 60))
    return moment.isoformat().replace("+00:00", "Z")


# --- Companies ------------------------------------------------------------------------------------------


@dataclass
class _Company:
    index: int
    country: _Country
    core: str
    legal_form: str
    vat: str
    city: _City
    street: str
    postcode: str
    phone_area: str
    phone_number: str
    domain: str
    industry: str
    in_erp: bool = True
    in_crm: bool = True
    invalid_vat: bool = False
    crm_without_vat: bool = False
    parent: int | None = None
    erp_id: str = ""
    crm_id: str = ""

    @property
    def legal_name(self) -> str:
        return f"{self.core} {self.legal_form}"


@dataclass
class DemoData:
    """Source records per system code, as each system would send them, in load order."""

    customers: dict[str, list[dict[str, Any]]]
    products: dict[str, list[dict[str, Any]]]


class _CompanyFactory:
    """Draws companies one at a time from one random stream, never repeating a name or VAT number."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = set()
        self.vats: set[str] = set()
        self.domains: set[str] = set()

    def country(self) -> _Country:
        return self.rng.choices(COUNTRIES, weights=[country.weight for country in COUNTRIES])[0]

    def claim(self, name: str) -> bool:
        """Take a name if no other company has it."""
        if name in self.names:
            return False
        self.names.add(name)
        return True

    def core_name(self, country: _Country) -> tuple[str, str]:
        """A new company name and its distinctive root ("Rheinberg Maschinenbau", "Rheinberg")."""
        rng = self.rng
        for attempt in range(40):
            if rng.random() < 0.3:
                root = rng.choice(_FAMILY_NAMES[country.code])
            else:
                root = rng.choice(country.roots)
                if country.code in ("DE", "AT") and rng.random() < 0.4:
                    root += rng.choice(("berg", "tal", "feld", "stein", "bach", "wald"))
            sector = rng.choice(country.sectors)
            name = f"{sector} {root}" if country.sector_first else f"{root} {sector}"
            if attempt >= 20:
                name = f"{name} {rng.choice(country.cities).name}"
            if self.claim(name):
                return name, root
        raise RuntimeError("ran out of demo company names")  # pragma: no cover: 40 draws from hundreds

    def vat(self, country: _Country) -> str:
        while True:
            value = _vat_candidate(country.code, self.rng)
            if value and value not in self.vats and tax_id_is_valid(country.code, value):
                self.vats.add(value)
                return value

    def phone(self, country: _Country, city: _City) -> str:
        rng = self.rng
        for _ in range(50):
            first = rng.randint(2, 9)
            number = f"{first}{rng.randint(0, 10 ** (city.digits - 1) - 1):0{city.digits - 1}d}"
            if country.code == "US" and number[:3] == "555":
                continue
            parsed = phonenumbers.parse(f"+{country.calling_code}{city.area}{number}")
            if phonenumbers.is_valid_number(parsed):
                return number
        raise RuntimeError(f"no valid phone number for {city.name}")  # pragma: no cover

    def domain(self, country: _Country, core: str) -> str:
        slug = "".join(char if char.isalnum() else "-" for char in _ascii(core).lower()).strip("-")
        slug = "-".join(part for part in slug.split("-") if part)
        domain = f"{slug}.{country.tld}"
        if domain in self.domains:
            domain = f"{slug}-{country.code.lower()}{len(self.domains)}.{country.tld}"
        self.domains.add(domain)
        return domain

    def member_name(self, root: str, country: _Country, head_country: _Country) -> str:
        """A subsidiary's name: the group's root with the country ("Rheinberg France") or a line of business."""
        if country is not head_country and self.claim(f"{root} {country.local}"):
            return f"{root} {country.local}"
        for sector in self.rng.sample(country.sectors, len(country.sectors)):
            name = f"{sector} {root}" if country.sector_first else f"{root} {sector}"
            if self.claim(name):
                return name
        return self.core_name(country)[0]

    def make(self, index: int, country: _Country, core: str) -> _Company:
        rng = self.rng
        city = rng.choice(country.cities)
        return _Company(
            index=index,
            country=country,
            core=core,
            legal_form=_weighted(rng, country.legal_forms),
            vat=self.vat(country),
            city=city,
            street=country.street_format.format(street=rng.choice(country.streets), number=rng.randint(1, 180)),
            postcode=city.postcode(rng),
            phone_area=city.area,
            phone_number=self.phone(country, city),
            domain=self.domain(country, core),
            industry=rng.choice(_INDUSTRIES),
        )


def _ascii(text: str) -> str:
    replaced = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("&", "and")
    return unicodedata.normalize("NFKD", replaced).encode("ascii", "ignore").decode()


def _companies(rng: random.Random, count: int) -> list[_Company]:
    """Standalone companies and corporate groups (head, optional regional holding, subsidiaries)."""
    factory = _CompanyFactory(rng)
    companies: list[_Company] = []
    while len(companies) < count:
        head_country = factory.country()
        group_size = rng.randint(3, 7) if (not companies or rng.random() < 0.08) else 1
        group_size = min(group_size, count - len(companies))
        core, root = factory.core_name(head_country)
        if group_size == 1:
            companies.append(factory.make(len(companies), head_country, core))
            continue
        head_word = _GROUP_HEAD_WORD.get(head_country.code, "Group")
        head_core = f"{head_word} {root}" if head_country.sector_first else f"{root} {head_word}"
        if not factory.claim(head_core):
            head_core = core
        head = factory.make(len(companies), head_country, head_core)
        companies.append(head)
        holding = head
        for position in range(1, group_size):
            country = head_country if rng.random() < 0.4 else factory.country()
            name = factory.member_name(root, country, head_country)
            member = factory.make(len(companies), country, name)
            # The second member is a regional holding that owns the later members of its country.
            member.parent = holding.index if (holding is not head and country is holding.country) else head.index
            if position == 1 and group_size >= 4:
                holding = member
            companies.append(member)
    _assign_presence(rng, companies)
    return companies


def _assign_presence(rng: random.Random, companies: list[_Company]) -> None:
    """Which system knows each company: both (most), ERP only, CRM only; plus deliberate defects."""
    parents = {company.parent for company in companies if company.parent is not None}
    standalone = 0
    for company in companies:
        draw = rng.random()
        in_group = company.parent is not None or company.index in parents
        if company.parent is not None and draw < 0.15:
            company.in_crm = False  # a legal entity sales never deals with directly
        elif in_group or draw < 0.58:
            company.in_erp = company.in_crm = True
            company.crm_without_vat = rng.random() < 0.12
        elif draw < 0.82:
            company.in_crm = False
        else:
            company.in_erp = False
        if not in_group:
            standalone += 1
            if standalone % 40 == 5:
                # A typo in the VAT number: kept and flagged, in one system only so the demo stays readable.
                company.invalid_vat = True
                company.in_crm = standalone % 80 == 45
                company.in_erp = not company.in_crm


def _assign_ids(rng: random.Random, companies: list[_Company]) -> None:
    erp_next, crm_next = 1_000 + rng.randint(0, 400), rng.randint(40_000, 90_000)
    for company in companies:
        if company.in_erp:
            erp_next += rng.randint(1, 12)
            company.erp_id = str(erp_next)
        if company.in_crm:
            crm_next += rng.randint(1, 40)
            company.crm_id = salesforce_id("001", crm_next)


def _nearest(companies: list[_Company], company: _Company, present: Callable[[_Company], bool]) -> _Company | None:
    parent = companies[company.parent] if company.parent is not None else None
    while parent is not None and not present(parent):
        parent = companies[parent.parent] if parent.parent is not None else None
    return parent


def _erp_customer(rng: random.Random, companies: list[_Company], company: _Company) -> dict[str, Any]:
    country = company.country
    legal_form = company.legal_form
    vat = _break_check_digit(country.code, company.vat) if company.invalid_vat else company.vat
    record: dict[str, Any] = {
        "source_id": company.erp_id,
        "updated_at": _timestamp(rng),
        "legal_name": f"{company.core} {legal_form}",
        "tax_ids": [{"value": vat, "country": country.code}],
        "legal_address": {
            "line1": company.street,
            "city": company.city.name,
            "postcode": company.postcode,
            "country": country.code,
        },
        "emails": [f"{rng.choice(('invoices', 'accounts.payable', 'finance', 'billing'))}@{company.domain}"],
        "payment_terms": _weighted(rng, _PAYMENT_TERMS),
        "status": "blocked" if rng.random() < 0.02 else ("inactive" if rng.random() < 0.04 else "active"),
    }
    if country.code == "US":
        record["legal_address"]["region"] = company.city.region
    if rng.random() < 0.5:
        record["phones"] = [f"+{country.calling_code} {company.phone_area} {company.phone_number}"]
    parent = _nearest(companies, company, lambda c: c.in_erp)
    if parent is not None:
        record["parent_source_id"] = parent.erp_id
    return record


def _crm_customer(rng: random.Random, companies: list[_Company], company: _Company) -> dict[str, Any]:
    country = company.country
    trade_name = company.core if rng.random() < 0.8 else company.legal_name
    local_phone = f"{country.trunk}{company.phone_area} {company.phone_number}"
    if country.code == "US":
        number = company.phone_number
        local_phone = f"({company.phone_area}) {number[:3]}-{number[3:]}"
    record: dict[str, Any] = {
        "source_id": company.crm_id,
        "updated_at": _timestamp(rng),
        "trade_name": trade_name,
        "billing_address": {
            "line1": company.street,
            "city": company.city.name,
            "postcode": company.postcode,
            "country": country.name,
        },
        "phones": [local_phone],
        "website": rng.choice((f"https://www.{company.domain}", f"www.{company.domain}", f"http://{company.domain}/")),
        "industry": company.industry,
    }
    if country.code == "US":
        record["billing_address"]["region"] = company.city.region
    if not company.crm_without_vat and (company.in_erp or company.invalid_vat or rng.random() < 0.7):
        vat = _break_check_digit(country.code, company.vat) if company.invalid_vat else company.vat
        record["tax_ids"] = [_sf_vat_spelling(rng, country, vat)]
    if rng.random() < 0.6:
        record["emails"] = [f"{rng.choice(('info', 'sales', 'purchasing', 'contact'))}@{company.domain}"]
    if not company.in_erp:
        record["status"] = "prospect" if rng.random() < 0.5 else "active"
    parent = companies[company.parent] if company.parent is not None else None
    while parent is not None and parent.parent is not None:
        parent = companies[parent.parent]  # sales rolls every account up to the group's top account
    if parent is not None and not parent.in_crm:
        parent = _nearest(companies, company, lambda c: c.in_crm)
    if parent is not None:
        record["parent_source_id"] = parent.crm_id
    return record


def _rejected_customers(count: int) -> dict[str, list[dict[str, Any]]]:
    """Records the contracts refuse: what a careless integration or a manual export sends."""
    erp: list[dict[str, Any]] = []
    crm: list[dict[str, Any]] = []
    for number in range(count):
        erp_id, crm_id = str(900_000 + number), salesforce_id("001", 900_000 + number)
        kind = number % 3
        if kind == 0:
            erp.append({"source_id": erp_id, "legal_name": "", "payment_terms": "Net 30"})
            crm.append(
                {"source_id": crm_id, "trade_name": f"Lead {number} (web form)", "emails": ["sales(at)example.com"]}
            )
        elif kind == 1:
            erp.append(
                {
                    "source_id": erp_id,
                    "legal_name": f"Atlantis Trading {number} Ltd",
                    "legal_address": {"line1": "1 Harbour Road", "city": "Poseidonia", "country": "Atlantis"},
                }
            )
            crm.append({"source_id": crm_id, "trade_name": f"Import row {number}", "phone": "+49 30 1234567"})
        else:
            erp.append({"source_id": erp_id, "legal_name": f"Vat Field Typo {number} GmbH", "vat_number": "DE1"})
            crm.append({"source_id": crm_id, "trade_name": "", "website": f"www.unnamed-{number}.example"})
    return {"netsuite": erp, "salesforce": crm}


def _customers(rng: random.Random, count: int) -> dict[str, list[dict[str, Any]]]:
    companies = _companies(rng, count)
    _assign_ids(rng, companies)
    erp = [_erp_customer(rng, companies, company) for company in companies if company.in_erp]
    crm = [_crm_customer(rng, companies, company) for company in companies if company.in_crm]
    rejected = _rejected_customers(max(3, count // 100))
    return {"netsuite": erp + rejected["netsuite"], "salesforce": crm + rejected["salesforce"]}


# --- Products -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Category:
    name: str
    code: str
    make: Callable[[random.Random], tuple[str, str, str, float]]  # name, description, ERP unit, base price


def _fastener(rng: random.Random) -> tuple[str, str, str, float]:
    size, length = rng.choice((6, 8, 10, 12, 16)), rng.choice((20, 30, 40, 50, 60, 80))
    finish, pack = (
        rng.choice(("zinc plated", "stainless A2", "stainless A4", "hot-dip galvanised")),
        rng.choice((50, 100, 200)),
    )
    kind = rng.choice(("Hex bolt", "Socket cap screw", "Threaded rod", "Hex nut", "Washer"))
    name = f"{kind} M{size} x {length} mm, {finish}, {pack} pack"
    return name, f"{kind} to DIN/ISO, M{size}, {finish}.", "box", 0.04 * size * pack / 10


def _hand_tool(rng: random.Random) -> tuple[str, str, str, float]:
    options = (
        (f"Combination spanner {rng.randint(6, 32)} mm", "Chrome vanadium steel, satin finish.", "pcs", 9.5),
        (f"Screwdriver set, {rng.choice((6, 8, 10, 12))} pieces", "Slotted and Phillips, 2-component grip.", "set", 24),
        (f"Claw hammer {rng.choice((300, 450, 600))} g", "Fibreglass handle, forged head.", "pcs", 18),
        (f"Torque wrench {rng.choice((5, 20, 40))}-{rng.choice((60, 200, 340))} Nm", "Calibrated, ±4 %.", "pcs", 129),
    )
    return rng.choice(options)


def _power_tool(rng: random.Random) -> tuple[str, str, str, float]:
    volts, amp_hours = rng.choice((12, 18, 36)), rng.choice((2, 4, 5))
    options = (
        (f"Cordless drill {volts} V, {amp_hours} Ah, 2 batteries", "Brushless motor, 2-speed gearbox.", "set", 189),
        (f"Angle grinder {rng.choice((115, 125, 230))} mm, {rng.choice((900, 2200))} W", "Restart lock.", "pcs", 99),
        (f"Impact driver {volts} V, body only", "1/4 inch hex chuck, 3 torque settings.", "pcs", 149),
    )  # fmt: skip
    return rng.choice(options)


def _safety(rng: random.Random) -> tuple[str, str, str, float]:
    options = (
        (f"Safety gloves, nitrile, size {rng.randint(7, 11)}, 12 pairs", "EN 388 4121, oil grip.", "pack", 21),
        (f"Hard hat EN 397, {rng.choice(('white', 'yellow', 'blue', 'red'))}", "6-point harness, vented.", "pcs", 14),
        (f"Safety goggles, {rng.choice(('clear', 'tinted', 'anti-fog'))}", "EN 166, polycarbonate lens.", "pcs", 7.9),
        (f"Ear defenders SNR {rng.choice((27, 31, 35))} dB", "Adjustable headband.", "pcs", 19),
    )
    return rng.choice(options)


def _electrical(rng: random.Random) -> tuple[str, str, str, float]:
    options = (
        (f"Cable NYM-J 3x{rng.choice((1.5, 2.5))} mm², {rng.choice((50, 100))} m roll", "PVC sheathed.", "roll", 69),
        (f"Circuit breaker B{rng.choice((10, 16, 20, 32))}, {rng.choice((1, 3))}-pole", "6 kA, DIN rail.", "pcs", 8.5),
        (f"LED panel {rng.choice((30, 40))} W, {rng.choice((3000, 4000))} K", "600 x 600 mm, UGR < 19.", "pcs", 45),
    )
    return rng.choice(options)


def _packaging(rng: random.Random) -> tuple[str, str, str, float]:
    options = (
        (f"Stretch film {rng.choice((17, 20, 23))} µm, 500 mm x 300 m", "Cast film, hand roll.", "roll", 12),
        (
            f"Cardboard box {rng.choice((300, 400, 500))}x{rng.choice((200, 300))}x{rng.choice((150, 200))} mm, 25pk",
            "Double wall, brown.",
            "pack",
            31,
        ),
        (f"Packing tape {rng.choice((48, 50))} mm x 66 m, {rng.choice(('brown', 'clear'))}", "Low noise.", "pcs", 2.4),
    )
    return rng.choice(options)


def _lubricant(rng: random.Random) -> tuple[str, str, str, float]:
    options = (
        (f"Hydraulic oil HLP {rng.choice((32, 46, 68))}, {rng.choice((5, 20))} l", "Mineral, DIN 51524-2.", "pcs", 64),
        ("Multi-purpose grease, 400 g cartridge", "Lithium soap, NLGI 2.", "pcs", 6.2),
        (f"Cutting oil, {rng.choice((1, 5))} l canister", "Water-miscible emulsion concentrate.", "pcs", 22),
    )
    return rng.choice(options)


CATEGORIES = (
    _Category("Fasteners", "FAS", _fastener),
    _Category("Hand Tools", "HTL", _hand_tool),
    _Category("Power Tools", "PTL", _power_tool),
    _Category("Safety Equipment", "SAF", _safety),
    _Category("Electrical", "ELE", _electrical),
    _Category("Packaging", "PAC", _packaging),
    _Category("Lubricants", "LUB", _lubricant),
)
_SERVICES = (
    ("Onboarding workshop", "day", 1200),
    ("Tool calibration service", "pcs", 45),
    ("Extended warranty, 3 years", "year", 89),
    ("Vendor-managed inventory, monthly fee", "month", 450),
)
_CRM_UNIT = {"pcs": "each", "box": "box", "set": "set", "pack": "pack", "roll": "roll"}
_GS1_PREFIXES = ("4260123", "4260481", "4260777", "4251234")


def _products(rng: random.Random, count: int) -> dict[str, list[dict[str, Any]]]:
    """Items mastered in the ERP and sold through the CRM, matched by GTIN and SKU."""
    erp: list[dict[str, Any]] = []
    crm: list[dict[str, Any]] = []
    names: set[str] = set()
    erp_next, crm_next = 200 + rng.randint(0, 50), rng.randint(20_000, 60_000)
    item_numbers = dict.fromkeys((category.code for category in CATEGORIES), 10_000)
    for index in range(count):
        draw = rng.random()
        service = draw >= 0.93
        crm_id = erp_id = ""
        crm_next += rng.randint(1, 30)
        erp_next += rng.randint(1, 6)
        price: float
        if service:
            title, unit, price = rng.choice(_SERVICES)
            name = f"{title}" if title not in names else f"{title} ({index})"
            category, sku, gtin, description = "Services", f"SRV-{index:05d}", "", f"{title}, billed per {unit}."
        else:
            category_spec = rng.choice(CATEGORIES)
            name, description, unit, price = category_spec.make(rng)
            if name in names:
                name = f"{name} ({rng.choice(('new', 'value', 'pro', 'XL'))})"
            item_numbers[category_spec.code] += rng.randint(1, 9)
            category, sku = category_spec.name, f"{category_spec.code}-{item_numbers[category_spec.code]}"
            body = f"{rng.choice(_GS1_PREFIXES)}{index:05d}"
            gtin = body + ean.calc_check_digit(body)
            if index % 97 == 13:
                gtin = gtin[:-1] + str((int(gtin[-1]) + 3) % 10)  # a wrong check digit: kept and flagged
        names.add(name)
        price_text = f"{max(price * rng.uniform(0.8, 1.3), 0.5):.2f}"
        in_erp, in_crm = not service, service or draw < 0.72
        if in_erp:
            erp_id = str(erp_next)
            record: dict[str, Any] = {
                "source_id": erp_id,
                "updated_at": _timestamp(rng),
                "sku": sku,
                "gtin": gtin,
                "name": name,
                "description": description,
                "unit_of_measure": unit,
                "category": category,
                "list_price": price_text,
                "currency": "EUR",
                "status": "discontinued" if rng.random() < 0.03 else "active",
            }
            erp.append({key: value for key, value in record.items() if value != ""})
        if in_crm:
            crm_id = salesforce_id("01t", crm_next)
            crm_sku = (
                sku if rng.random() < 0.5 else rng.choice((sku.lower(), sku.replace("-", " "), sku.replace("-", "")))
            )
            record = {
                "source_id": crm_id,
                "updated_at": _timestamp(rng),
                "sku": crm_sku,
                "name": name.replace(", ", " - ", 1) if rng.random() < 0.5 else name,
                "description": f"{description} {rng.choice(_MARKETING)}",
                "unit_of_measure": _CRM_UNIT.get(unit, unit),
                "category": category,
                "list_price": price_text,
                "currency": "EUR",
            }
            if gtin and rng.random() < 0.6:
                record["gtin"] = gtin
            crm.append(record)
    for number in range(max(2, count // 100)):
        erp_id, crm_id = str(800_000 + number), salesforce_id("01t", 800_000 + number)
        erp.append({"source_id": erp_id, "sku": f"XXX-{number}", "name": "Sample bucket", "unit_of_measure": "bucket"})
        crm.append({"source_id": crm_id, "name": f"Promo bundle {number}", "list_price": f"{19 + number}.00"})
    return {"netsuite": erp, "salesforce": crm}


_MARKETING = (
    "Trusted by maintenance teams across Europe.",
    "Ships within 24 hours from our central warehouse.",
    "Volume discounts available on request.",
    "Part of our professional range.",
)


def demo_data_build(
    *, customers: int = DEFAULT_CUSTOMERS, products: int = DEFAULT_PRODUCTS, seed: int = DEFAULT_SEED
) -> DemoData:
    """The demo landscape as Salesforce and NetSuite would send it: same seed and sizes, same records."""
    return DemoData(
        customers=_customers(random.Random(f"{seed}:customers"), customers),
        products=_products(random.Random(f"{seed}:products"), products),
    )


# --- Loading --------------------------------------------------------------------------------------------


@dataclass
class Rejection:
    """A record the hub refused, with the reasons it answered."""

    system: str
    entity_type: str
    source_id: str | None
    reasons: list[str]


@dataclass
class DemoLoadReport:
    """Per system and entity type: how many records were created, updated, unchanged or rejected."""

    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    flagged: dict[tuple[str, str], int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(counts["created"] + counts["updated"] for counts in self.counts.values())


def demo_data_load(*, data: DemoData, reason: str = "demo data load") -> DemoLoadReport:
    """Send the demo records through `ingest`, as each system, in batches: ERP first, parents before children."""
    report = DemoLoadReport()
    batch_size = min(BATCH_SIZE, settings.MDM_INGEST_MAX_BATCH)
    for entity_type, per_system in ((EntityType.CUSTOMER, data.customers), (EntityType.PRODUCT, data.products)):
        for code in ("netsuite", "salesforce"):
            system = System.objects.get(code=code)
            counts = dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
            flagged = 0
            records = per_system.get(code, [])
            for start in range(0, len(records), batch_size):
                result = ingest(
                    system=system,
                    entity_type=entity_type,
                    records=records[start : start + batch_size],
                    actor=system.service_user,
                    reason=reason,
                )
                for status, number in result.counts.items():
                    counts[status] += number
                for outcome in result.outcomes:
                    if outcome.status == REJECTED:
                        reasons = [f"{error.field}: {error.message}" for error in outcome.errors]
                        report.rejections.append(Rejection(code, entity_type, outcome.source_id, reasons))
                    elif outcome.issues:
                        flagged += 1
            report.counts[(code, str(entity_type))] = counts
            report.flagged[(code, str(entity_type))] = flagged
    return report


@dataclass(frozen=True)
class HubFigures:
    """What the hub holds after a load: golden records, source records, hierarchy edges, quality flags."""

    golden: dict[str, int]
    sources: dict[str, int]
    edges: dict[str, int]
    flagged_golden: dict[str, int]


def demo_hub_figures() -> HubFigures:
    """Counts for the load summary (selectors over the store)."""
    golden = dict(
        GoldenRecord.objects.filter(status=GoldenStatus.ACTIVE)
        .values_list("entity_type")
        .annotate(n=Count("pk"))
        .values_list("entity_type", "n")
    )
    sources = dict(
        SourceRecord.objects.values_list("entity_type").annotate(n=Count("pk")).values_list("entity_type", "n")
    )
    edges = dict(
        HierarchyEdge.objects.filter(valid_on(timezone.localdate()))
        .values_list("hierarchy__code")
        .annotate(n=Count("pk"))
        .values_list("hierarchy__code", "n")
    )
    flagged = {
        "customer": Customer.objects.exclude(quality_flags=[]).count(),
        "product": Product.objects.exclude(quality_flags=[]).count(),
    }
    return HubFigures(golden=golden, sources=sources, edges=edges, flagged_golden=flagged)


# --- Steward login and API keys ---------------------------------------------------------------------------


def demo_steward_ensure(
    *, username: str = DEFAULT_STEWARD, password: str | None = None, reset_password: bool = False
) -> tuple[User, str | None]:
    """The demo data steward (superuser and staff); returns the password only when it was set now."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None and not reset_password and password is None:
        return user, None
    password = password or secrets.token_urlsafe(12)
    if user is None:
        user = User.objects.create_superuser(username=username, email="", password=password)
    else:
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
    return user, password


@dataclass(frozen=True)
class IssuedKey:
    """A demo API key: the secret only when it was issued by this run (it is stored hashed)."""

    name: str
    scope: str
    prefix: str
    secret: str | None


def demo_api_keys_ensure(*, created_by: User | None, new_keys: bool = False) -> list[IssuedKey]:
    """The demo's read, Salesforce and NetSuite keys: issued once; `new_keys` revokes them and issues new ones."""
    issued = []
    for name, system_code in DEMO_KEYS:
        system = System.objects.get(code=system_code) if system_code else None
        current = [key for key in ApiKey.objects.filter(name=name, revoked_at__isnull=True) if key.is_usable]
        if current and not new_keys:
            key = current[-1]
            issued.append(IssuedKey(name, key.scope_label(), key.prefix, None))
            continue
        with acting(created_by, "demo keys re-issued"):
            for old in current:
                old.revoked_at = timezone.now()
                old.save(update_fields=["revoked_at"])
        key, secret = api_key_create(name=name, created_by=created_by, can_read=True, write_system=system)
        issued.append(IssuedKey(name, key.scope_label(), key.prefix, secret))
    return issued
