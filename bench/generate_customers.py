"""Seeded generator of realistic customer source records, written as CSV or JSONL, streamed (millions are fine).

Companies across DE, GB, FR, US, NL, AT, IT, ES and BE with their countries' legal forms, addresses,
national phone formats and, for about two thirds of them, VAT numbers (or a US EIN) with correct check
digits. About 10% of the records are duplicates of an earlier one: another source ID, a variant of
the name, the same tax ID (so the matcher links them); about 1% are invalid in ways the contract
rejects (unknown country, malformed email, no name, over-long postcode, unknown tax country). A few
percent carry soft problems the hub keeps but flags (a VAT number with a wrong check digit).

    python bench/generate_customers.py 100000 --format csv --out /tmp/customers.csv
    python bench/generate_customers.py 1000 --format jsonl --out - | head

Other benchmarks import `customers()` and `write_records()` from here.
"""

import argparse
import csv
import json
import random
import sys
import unicodedata
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from stdnum import luhn
from stdnum.at import uid as at_uid
from stdnum.es import cif as es_cif
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.iso7064 import mod_11_10
from stdnum.us import ein as us_ein

CSV_COLUMNS = (
    "source_id",
    "legal_name",
    "trade_name",
    "tax_id",
    "tax_country",
    "legal_address.line1",
    "legal_address.line2",
    "legal_address.postcode",
    "legal_address.city",
    "legal_address.region",
    "legal_address.country",
    "billing_address.line1",
    "billing_address.postcode",
    "billing_address.city",
    "billing_address.country",
    "phones",
    "emails",
    "website",
    "industry",
    "payment_terms",
    "updated_at",
)


@dataclass(frozen=True)
class Country:
    """How companies of one country look: legal forms, cities (name, postcode, region, dialling prefix), streets."""

    code: str
    names: tuple[str, ...]  # how sources spell the country: code, English, endonym
    forms: tuple[str, ...]
    form_variants: dict[str, tuple[str, ...]]
    cities: tuple[tuple[str, str, str, str], ...]
    streets: tuple[str, ...]
    number_first: bool
    words: tuple[str, ...]
    tld: str
    calling_code: str
    subscriber_digits: int


COUNTRIES = (
    Country(
        "DE",
        ("DE", "Germany", "Deutschland"),
        ("GmbH", "AG", "GmbH & Co. KG", "KG", "UG (haftungsbeschränkt)", "SE"),
        {"GmbH": ("G.m.b.H.", "Gesellschaft mit beschränkter Haftung", "Gmbh"), "AG": ("Aktiengesellschaft",)},
        (
            ("Berlin", "10115", "", "030"),
            ("München", "80331", "Bayern", "089"),
            ("Hamburg", "20095", "", "040"),
            ("Köln", "50667", "Nordrhein-Westfalen", "0221"),
            ("Frankfurt am Main", "60311", "Hessen", "069"),
            ("Stuttgart", "70173", "Baden-Württemberg", "0711"),
            ("Düsseldorf", "40213", "Nordrhein-Westfalen", "0211"),
            ("Leipzig", "04109", "Sachsen", "0341"),
        ),
        ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Schillerstraße", "Gartenweg", "Am Hafen", "Lindenallee"),
        False,
        ("Nordwind", "Rhein", "Alpen", "Müller", "Schmidt", "Weber", "Becker", "Hoffmann", "Sonnen", "Berg", "Elbe"),
        "de",
        "49",
        7,
    ),
    Country(
        "GB",
        ("GB", "United Kingdom", "UK"),
        ("Ltd", "Limited", "PLC", "LLP"),
        {"Ltd": ("Limited", "LTD."), "PLC": ("Public Limited Company", "plc")},
        (
            ("London", "EC1A 1BB", "", "020"),
            ("Manchester", "M1 1AE", "", "0161"),
            ("Birmingham", "B1 1BB", "", "0121"),
            ("Leeds", "LS1 4AP", "", "0113"),
            ("Edinburgh", "EH1 1YZ", "Scotland", "0131"),
            ("Bristol", "BS1 4DJ", "", "0117"),
        ),
        ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Queen Street"),
        True,
        ("Albion", "Thames", "Pennine", "Harrison", "Clarke", "Wright", "Crown", "Oak", "Kingsway", "Brook"),
        "co.uk",
        "44",
        7,
    ),
    Country(
        "FR",
        ("FR", "France"),
        ("SAS", "SARL", "SA", "EURL", "SASU"),
        {"SARL": ("S.A.R.L.", "Société à Responsabilité Limitée"), "SAS": ("S.A.S.",)},
        (
            ("Paris", "75001", "Île-de-France", "01"),
            ("Lyon", "69001", "Auvergne-Rhône-Alpes", "04"),
            ("Marseille", "13001", "Provence-Alpes-Côte d'Azur", "04"),
            ("Toulouse", "31000", "Occitanie", "05"),
            ("Lille", "59000", "Hauts-de-France", "03"),
            ("Nantes", "44000", "Pays de la Loire", "02"),
        ),
        ("rue de la République", "avenue Victor Hugo", "boulevard Haussmann", "rue du Port", "place de la Gare"),
        True,
        ("Lumière", "Dubois", "Lefèvre", "Garonne", "Provence", "Atlantique", "Moreau", "Soleil", "Étoile"),
        "fr",
        "33",
        8,
    ),
    Country(
        "US",
        ("US", "United States", "USA"),
        ("Inc.", "LLC", "Corp.", "Corporation", "Co."),
        {"Inc.": ("Incorporated", "INC"), "Corp.": ("Corporation",)},
        (
            ("New York", "10001", "NY", "212"),
            ("Chicago", "60601", "IL", "312"),
            ("Austin", "78701", "TX", "512"),
            ("Seattle", "98101", "WA", "206"),
            ("Boston", "02108", "MA", "617"),
            ("Denver", "80202", "CO", "303"),
        ),
        ("Main Street", "Market Street", "Broadway", "Oak Avenue", "Park Avenue", "Elm Street"),
        True,
        ("Liberty", "Summit", "Pioneer", "Johnson", "Miller", "Pacific", "Lakeside", "Granite", "Evergreen"),
        "com",
        "1",
        7,
    ),
    Country(
        "NL",
        ("NL", "Netherlands", "Nederland"),
        ("B.V.", "N.V."),
        {"B.V.": ("BV", "Besloten Vennootschap")},
        (
            ("Amsterdam", "1012 AB", "Noord-Holland", "020"),
            ("Rotterdam", "3011 AA", "Zuid-Holland", "010"),
            ("Utrecht", "3511 AX", "Utrecht", "030"),
            ("Eindhoven", "5611 AA", "Noord-Brabant", "040"),
        ),
        ("Keizersgracht", "Stationsplein", "Kerkstraat", "Dorpsstraat", "Havenweg"),
        False,
        ("Oranje", "Delta", "Van Dijk", "De Vries", "Polder", "Molen", "Zeeland", "Jansen"),
        "nl",
        "31",
        7,
    ),
    Country(
        "AT",
        ("AT", "Austria", "Österreich"),
        ("GmbH", "AG", "KG"),
        {"GmbH": ("Ges.m.b.H.", "GesmbH")},
        (
            ("Wien", "1010", "Wien", "01"),
            ("Graz", "8010", "Steiermark", "0316"),
            ("Linz", "4020", "Oberösterreich", "0732"),
        ),
        ("Ringstraße", "Mariahilfer Straße", "Hauptplatz", "Kärntner Straße"),
        False,
        ("Donau", "Tirol", "Gruber", "Huber", "Wagner", "Alpin", "Kaiser"),
        "at",
        "43",
        7,
    ),
    Country(
        "IT",
        ("IT", "Italy", "Italia"),
        ("S.r.l.", "S.p.A."),
        {"S.r.l.": ("SRL", "Società a Responsabilità Limitata"), "S.p.A.": ("SpA",)},
        (("Milano", "20121", "MI", "02"), ("Roma", "00184", "RM", "06"), ("Torino", "10121", "TO", "011")),
        ("Via Roma", "Corso Italia", "Via Garibaldi", "Piazza Duomo"),
        False,
        ("Bianchi", "Rossi", "Ferrari", "Adriatica", "Toscana", "Lombarda", "Colombo"),
        "it",
        "39",
        7,
    ),
    Country(
        "ES",
        ("ES", "Spain", "España"),
        ("S.L.", "S.A."),
        {"S.L.": ("SL", "Sociedad Limitada"), "S.A.": ("Sociedad Anónima",)},
        (
            ("Madrid", "28001", "Madrid", "91"),
            ("Barcelona", "08001", "Cataluña", "93"),
            ("Valencia", "46001", "", "96"),
        ),
        ("Calle Mayor", "Gran Vía", "Avenida de la Constitución", "Calle del Sol"),
        False,
        ("Ibérica", "García", "Martínez", "Mediterráneo", "Castilla", "López", "Sol"),
        "es",
        "34",
        7,
    ),
    Country(
        "BE",
        ("BE", "Belgium", "Belgique"),
        ("NV", "BV", "SA", "SRL"),
        {"NV": ("N.V.", "Naamloze Vennootschap")},
        (("Bruxelles", "1000", "", "02"), ("Antwerpen", "2000", "", "03"), ("Gent", "9000", "", "09")),
        ("Rue Neuve", "Meir", "Veldstraat", "Avenue Louise"),
        False,
        ("Peeters", "Janssens", "Schelde", "Ardennes", "Brabant", "Maes", "Flandria"),
        "be",
        "32",
        7,
    ),
)
_BY_CODE = {country.code: country for country in COUNTRIES}
_WEIGHTS = (26, 18, 14, 14, 10, 6, 5, 4, 3)
TRADES = (
    ("Logistik", "Logistics", "Logistique"),
    ("Maschinenbau", "Engineering", "Ingénierie"),
    ("Handel", "Trading", "Commerce"),
    ("Software", "Software", "Informatique"),
    ("Bau", "Construction", "Construction"),
    ("Medizintechnik", "Medical", "Médical"),
    ("Elektro", "Electrics", "Électricité"),
    ("Consulting", "Consulting", "Conseil"),
    ("Foods", "Foods", "Alimentaire"),
    ("Textil", "Textiles", "Textile"),
)
INDUSTRIES = ("Wholesale", "Manufacturing", "Retail", "Software", "Construction", "Healthcare", "Logistics", "Food")
TERMS = ("NET30", "NET60", "NET14", "Due on receipt", "")
US_EIN_PREFIXES = ("10", "12", "20", "27", "35", "45", "46", "51", "52", "61", "80", "81", "84", "86", "94", "98")
INVALID_KINDS = ("unknown_country", "bad_email", "no_name", "long_postcode", "unknown_tax_country")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def vat_number(rng: random.Random, country: str) -> str:
    """A VAT number (US: an EIN) with correct check digits, verified with python-stdnum."""
    while True:
        if country == "DE":
            body = rng.choice("123456789") + _digits(rng, 7)
            number = f"DE{body}{mod_11_10.calc_check_digit(body)}"
        elif country == "FR":
            siren = rng.choice("123456789") + _digits(rng, 7)
            siren += luhn.calc_check_digit(siren)
            number = f"FR{int(siren + '12') % 97:02d}{siren}"
        elif country == "GB":
            body = rng.choice("123456789") + _digits(rng, 6)
            total = sum(weight * int(digit) for weight, digit in zip((8, 7, 6, 5, 4, 3, 2), body, strict=True))
            number = f"GB{body}{-total % 97:02d}"
        elif country == "NL":
            body = rng.choice("123456789") + _digits(rng, 7)
            check = sum((9 - index) * int(digit) for index, digit in enumerate(body)) % 11
            if check == 10:
                continue
            number = f"NL{body}{check}B01"
        elif country == "AT":
            body = _digits(rng, 7)
            number = f"ATU{body}{at_uid.calc_check_digit('U' + body)}"
        elif country == "IT":
            body = rng.choice("0123") + _digits(rng, 9)
            number = f"IT{body}{luhn.calc_check_digit(body)}"
        elif country == "ES":
            body = rng.choice("ABB") + _digits(rng, 7)
            number = f"ES{body}{es_cif.calc_check_digits(body)[0]}"
        elif country == "BE":
            body = "0" + rng.choice("123456789") + _digits(rng, 6)
            number = f"BE{body}{97 - int(body) % 97:02d}"
        else:
            number = f"{rng.choice(US_EIN_PREFIXES)}-{_digits(rng, 7)}"
            if us_ein.is_valid(number):
                return number
            continue
        if (gb_vat if country == "GB" else eu_vat).is_valid(number):  # the UK left the EU VAT area
            return number


def _break_check_digit(number: str) -> str:
    """The number with one digit of its body changed: every scheme here catches that (US EINs have no check)."""
    return number[:4] + str((int(number[4]) + 1) % 10) + number[5:] if number[4].isdigit() else number


def _phone(rng: random.Random, country: Country, prefix: str, international: bool) -> str:
    subscriber = rng.choice("23456789") + _digits(rng, country.subscriber_digits - 1)
    if country.code == "US":
        return (
            f"+1 {prefix} {subscriber[:3]} {subscriber[3:]}"
            if international
            else f"({prefix}) {subscriber[:3]}-{subscriber[3:]}"
        )
    if country.code == "FR":
        local = prefix + subscriber
        pairs = " ".join(local[i : i + 2] for i in range(0, len(local), 2))
        return f"+33 {pairs[1:]}" if international else pairs
    if international:
        return f"+{country.calling_code} {prefix.lstrip('0')} {subscriber}"
    return f"{prefix} {subscriber}"


@lru_cache(maxsize=1024)
def _slug(text: str) -> str:
    """A word as it appears in a domain name: lower case, accents dropped."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(char for char in folded if char.isascii() and char.isalnum()) or "firma"


def _company(rng: random.Random, number: int, source_prefix: str, when: datetime) -> dict[str, Any]:
    country = rng.choices(COUNTRIES, weights=_WEIGHTS)[0]
    trade = rng.choice(TRADES)
    trade_word = trade[0] if country.code in ("DE", "AT") else trade[2] if country.code == "FR" else trade[1]
    first, second = rng.sample(country.words, 2)
    style = rng.random()
    core = (
        f"{first} {trade_word}" if style < 0.6 else f"{first} & {second}" if style < 0.8 else f"{first}{second.lower()}"
    )
    form = rng.choice(country.forms)
    city, postcode, region, area = rng.choice(country.cities)
    street = rng.choice(country.streets)
    house = str(rng.randint(1, 250))
    address: dict[str, Any] = {
        "line1": f"{house} {street}" if country.number_first else f"{street} {house}",
        "postcode": postcode,
        "city": city,
        "country": rng.choice(country.names),
    }
    if region:
        address["region"] = region
    if rng.random() < 0.1:
        address["line2"] = rng.choice(("Building B", "2nd floor", "c/o Accounts", "Unit 4"))
    domain = f"{_slug(first)}-{_slug(trade_word)}.{country.tld}"
    record: dict[str, Any] = {
        "source_id": f"{source_prefix}{number:07d}",
        "legal_name": f"{core} {form}",
    }
    if rng.random() < 0.3:
        record["trade_name"] = core
    if rng.random() < 0.67:
        record["tax_ids"] = [{"value": vat_number(rng, country.code), "country": country.code}]
    record["legal_address"] = address
    if rng.random() < 0.2:
        record["billing_address"] = {
            "line1": f"PO Box {rng.randint(100, 9999)}",
            "postcode": postcode,
            "city": city,
            "country": country.code,
        }
    record["phones"] = [_phone(rng, country, area, rng.random() < 0.3)]
    if rng.random() < 0.25:
        record["phones"].append(_phone(rng, country, area, False))
    record["emails"] = [f"{rng.choice(('info', 'sales', 'accounts', 'office'))}@{domain}"]
    if rng.random() < 0.7:
        record["website"] = rng.choice((f"https://www.{domain}", f"www.{domain}", f"http://{domain}/"))
    record["industry"] = rng.choice(INDUSTRIES)
    if terms := rng.choice(TERMS):
        record["payment_terms"] = terms
    record["updated_at"] = when.isoformat().replace("+00:00", "Z")
    return record


def _duplicate(rng: random.Random, original: dict[str, Any], number: int, source_prefix: str) -> dict[str, Any]:
    """Another system's (or a careless user's) copy of a company: a variant name, the same tax ID."""
    record = json.loads(json.dumps(original))
    record["source_id"] = f"{source_prefix}{number:07d}"
    name = record["legal_name"]
    country = _BY_CODE[record["tax_ids"][0]["country"]]
    variant = rng.random()
    for form, spellings in country.form_variants.items():
        if name.endswith(" " + form) and variant < 0.5:
            name = name[: -len(form)] + rng.choice(spellings)
            break
    else:
        name = name.upper() if variant < 0.7 else name.replace(" & ", " and ")
    record["legal_name"] = name
    value = record["tax_ids"][0]["value"]
    if rng.random() < 0.3 and len(value) > 8:
        record["tax_ids"][0]["value"] = f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}"
    if rng.random() < 0.5:
        record.pop("website", None)
    if rng.random() < 0.3:
        record.pop("trade_name", None)
    return record


def _invalidate(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    kind = rng.choice(INVALID_KINDS)
    if kind == "unknown_country":
        record["legal_address"]["country"] = rng.choice(("Atlantis", "Narnia", "XX"))
    elif kind == "bad_email":
        record["emails"] = [record["emails"][0].replace("@", " at ")]
    elif kind == "no_name":
        record.pop("legal_name")
        record.pop("trade_name", None)
    elif kind == "long_postcode":
        record["legal_address"]["postcode"] = "PLEASE-SEE-ATTACHED-LETTER-" + _digits(rng, 6)
    else:
        record["tax_ids"] = [{"value": record.get("tax_ids", [{"value": "123456789"}])[0]["value"], "country": "Mars"}]
    return record


def customers(
    count: int,
    *,
    seed: int = 42,
    source_prefix: str = "ERP-",
    duplicate_rate: float = 0.10,
    invalid_rate: float = 0.01,
    bad_vat_rate: float = 0.02,
) -> Iterator[dict[str, Any]]:
    """`count` customer records in contract shape, the same ones for the same seed; memory stays flat."""
    rng = random.Random(seed)
    originals: deque[dict[str, Any]] = deque(maxlen=5000)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for number in range(1, count + 1):
        when = start + timedelta(seconds=rng.randint(0, 60 * 60 * 24 * 700))
        if originals and rng.random() < duplicate_rate:
            record = _duplicate(rng, rng.choice(originals), number, source_prefix)
            record["updated_at"] = when.isoformat().replace("+00:00", "Z")
        else:
            record = _company(rng, number, source_prefix, when)
            if "tax_ids" in record:
                originals.append(record)
                if rng.random() < bad_vat_rate:
                    record = json.loads(json.dumps(record))
                    record["tax_ids"][0]["value"] = _break_check_digit(record["tax_ids"][0]["value"])
        if rng.random() < invalid_rate:
            record = _invalidate(rng, json.loads(json.dumps(record)))
        yield record


def csv_row(record: dict[str, Any]) -> list[str]:
    """A contract record flattened to CSV_COLUMNS (dotted nested fields, ';'-joined lists, tax_id/tax_country)."""
    flat: dict[str, str] = {}
    for key, value in record.items():
        if key == "tax_ids":
            if value:
                flat["tax_id"] = value[0]["value"]
                flat["tax_country"] = value[0].get("country", "")
        elif isinstance(value, dict):
            for inner, text in value.items():
                flat[f"{key}.{inner}"] = text
        elif isinstance(value, list):
            flat[key] = ";".join(value)
        else:
            flat[key] = str(value)
    return [flat.get(column, "") for column in CSV_COLUMNS]


def write_records(records: Iterator[dict[str, Any]], stream: IO[str], fmt: str) -> int:
    """Write records as CSV (with CSV_COLUMNS as header) or JSONL; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in records:
            writer.writerow(csv_row(record))
            count += 1
    else:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_file(path: str | Path, count: int, fmt: str, *, seed: int = 42, source_prefix: str = "ERP-") -> int:
    """Generate `count` customers into a file; returns how many were written."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        return write_records(customers(count, seed=seed, source_prefix=source_prefix), stream, fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, help="how many records")
    parser.add_argument("--format", dest="fmt", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--out", default="-", help="file to write, - for stdout (default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--source-prefix", default="ERP-", help="prefix of the generated source IDs")
    args = parser.parse_args()
    if args.out == "-":
        write_records(customers(args.count, seed=args.seed, source_prefix=args.source_prefix), sys.stdout, args.fmt)
    else:
        written = write_file(args.out, args.count, args.fmt, seed=args.seed, source_prefix=args.source_prefix)
        print(f"{written:,} records written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
