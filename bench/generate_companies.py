"""Seeded generator of B2B company records as a CRM (Salesforce) and an ERP (NetSuite) hold them, with ground truth.

For benchmarking entity resolution (the hub's matcher, Splink) at 10,000 to 1,000,000 source records. Streams:
memory stays flat whatever the count, and the same seed and count give the same records in the same order.

Data model
----------
A *company* is one true legal entity (its ID, e.g. ``C0000123``, is the ground truth). It has a country (DE, GB,
FR, US, NL, AT, IT, ES, BE, SE, CH, FI), a name core ("Nordwind Logistik") and a legal form ("GmbH"), a brand or
trade name ("Nordwind", "NWL"), a VAT number with correct check digits (US: an EIN; ~7% of companies, 40% in the
US, have none on file), a head office (street, house number, a postcode plausible for the city), usually a billing
address equal to it (else a PO box or an accounts office) and sometimes a separate warehouse, a main phone in the
city's area code (sometimes a second line or a mobile), a web domain (or a free-mail address for small firms), an
industry and payment terms.

Each company has 1 to 4 source records (55% one, 28% two, 12% three, 5% four). Records of one company usually sit
in both systems (CRM + ERP), sometimes twice in one system (a second CRM account opened by another rep). Singletons
sit in either system. Records are shuffled through a bounded buffer so that records of one company are spread over
a few thousand positions, not adjacent.

What each system holds
----------------------
* NetSuite (ERP, legal and financial truth): the legal name (often upper case, umlauts spelled out), the tax ID
  (~88%), the legal address, often a billing address, payment terms, a status, an accounts-payable email; rarely a
  website, a phone or an industry.
* Salesforce (CRM, commercial truth): the trade name or brand (~80%), sometimes the legal name (~45%), the billing
  (and shipping) address, a phone in any format, a website, an industry from the CRM picklist, sales or contact
  emails; rarely a tax ID.

Variation between records of one company
----------------------------------------
Legal vs trade name; legal-form spellings (Inc / Inc. / Incorporated, Ltd / Limited, GmbH / G.m.b.H., S.A.S. / SAS,
B.V. / BV, S.p.A. / SpA, S.L. / SL, AB / Aktiebolag, Oy / OY ...), the form written before the name (FR, SE), an
older legal form (BVBA -> BV, GmbH -> AG); abbreviations (International / Intl, Manufacturing / Mfg, Services /
Svcs, Corporation / Corp, Company / Co, Technologies / Tech, & / and / und / et ...); typos (one substitution by a
neighbouring key, deletion, doubled letter or transposition); case (ERP upper case), word order, transliterated
umlauts and accents (Müller / Mueller / Muller); phone formats (national, +country, +country (0), 00country, with
spaces, dashes, slashes or dots); address formats (Straße / Str. / Strasse, Street / St, rue / r., Via / V., Calle /
C/ ...), postcode formats (EC1A1BB, 1012AB, D-10115, ZIP+4), city exonyms (München / Munich, Wien / Vienna) and
country spellings; tax-ID formats (DE 123 456 789, without the country prefix, CHE-123.456.789 MWST); missing fields;
a website in one system only; a stale address or phone in one system (the company moved).

Deliberate faults, kept few: ~1.5% of tax IDs have a mistyped digit (most then fail their check digit), ~1.5% of
phones have a digit missing (a third of those still look valid: German numbers vary in length), ~5% of names
have a typo.

Hard negatives (different companies that look alike)
----------------------------------------------------
* Common name words drawn from skewed distributions: "Global", "International", "Nordic", "Services",
  "Solutions", and family names (Müller, Schmidt, Smith, Jones, Martin, Rossi, García, Andersson ...).
* Brand families (~9% of the groups generated, ~20% of companies):
  - the same brand in two or three countries as separate legal entities ("Vantora GmbH" in DE, "Vantora Ltd" in
    GB): own tax IDs, addresses and phones, sometimes one shared .com website;
  - a parent and its subsidiaries in one country ("Acme Holding GmbH", "Acme Logistik GmbH", "Acme Deutschland
    GmbH"): often the same city, sometimes the same address, website or switchboard, and for ~15% of them the
    same VAT number (a VAT group, as in the UK and NL: one number for several companies);
  - branches or franchisees in the same city ("Schmidt Logistik GmbH" twice, "Schmidt Logistik Nord GmbH").
* Non-Latin names (~3.5% of companies, ~2.5% of records: Cyrillic, Greek, Chinese, Japanese), each record in the
  native script or in its transliteration; very short names (~1.3% of companies: "Q", "K2", "HX") that collide
  across companies.

Every record passes the CustomerV1 contract (``mdm.contracts.validate_record("customer", record)``).

Usage
-----
    .venv/bin/python bench/generate_companies.py 100000 --out /tmp/companies.jsonl --truth /tmp/truth.csv
    .venv/bin/python bench/generate_companies.py 10000 --flat-csv /tmp/companies.csv --seed 7

``--out``: JSONL, one ``{"system": ..., "record": {...}}`` per line (no truth in it; ``-`` for stdout);
``--truth``: CSV ``system,source_id,entity``; ``--flat-csv``: one row per record with the columns of
``FLAT_COLUMNS`` (``unique_id`` = ``<system>:<source_id>``, the true ``entity``; ``country`` and ``tax_country`` as
ISO codes, as both systems' country picklists store them; everything else as the record holds it) for
bench/splink_run.py. A summary goes to stderr. Other scripts import ``companies()``, ``FLAT_COLUMNS`` and
``flat_row()``.
"""

import argparse
import csv
import json
import random
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from stdnum import luhn
from stdnum.ch import uid as ch_uid

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench scripts import each other by name

from generate_customers import vat_number as _vat_with_check_digits  # DE GB FR NL AT IT ES BE, US EINs

SYSTEMS = ("salesforce", "netsuite")
LANGUAGES = ("en", "de", "fr", "nl", "it", "es", "sv", "fi")
SHUFFLE_BUFFER = 4096  # records are emitted in random order from a window this big
FLAT_COLUMNS = (
    "unique_id",
    "system",
    "entity",
    "legal_name",
    "trade_name",
    "name",
    "tax_id",
    "tax_country",
    "country",
    "city",
    "postcode",
    "street",
    "phone",
    "email",
    "website",
    "industry",
)


# --- Reference data ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A legal form: its spellings (the usual one first), how common it is, whether it is also written first."""

    variants: tuple[str, ...]
    weight: int
    prefix: bool = False


@dataclass(frozen=True)
class City:
    """A city: its spellings (local first), postcode patterns ('#' digit, '@' letter), region, dialling area.

    ``area`` is the area code without the trunk prefix, ``digits`` the subscriber number's length and ``first`` the
    subscriber's possible first digits: chosen so that libphonenumber accepts the numbers.
    """

    names: tuple[str, ...]
    postcodes: tuple[str, ...]
    region: str
    area: str
    digits: int
    first: str = "23456789"
    language: str = ""  # when not the country's (Genève in CH, Liège in BE)


@dataclass(frozen=True)
class Country:
    """How companies of one country look: legal forms, cities, streets, names, phone plan, web domain."""

    code: str
    names: tuple[str, ...]  # spellings of the country: ISO code, English, endonym
    weight: int
    language: str
    calling: str
    trunk: str  # the national trunk prefix; "" where the area code is dialled as it is (IT, ES, US)
    forms: tuple[Form, ...]
    cities: tuple[City, ...]
    streets: dict[str, tuple[str, ...]]  # by language
    families: tuple[str, ...]  # commonest first: drawn with a skewed distribution
    firsts: tuple[str, ...]
    words: tuple[str, ...]
    tld: str
    mobiles: tuple[tuple[str, int, str], ...]  # (prefix, digits, first digits)
    po_box: str
    label: str  # how a subsidiary names the country ("Acme Deutschland")


def _forms(*forms: tuple[tuple[str, ...], int] | tuple[tuple[str, ...], int, bool]) -> tuple[Form, ...]:
    return tuple(Form(*form) for form in forms)


# fmt: off
COUNTRIES = (
    Country(
        code="DE", names=("DE", "Germany", "Deutschland"), weight=22, language="de", calling="49", trunk="0",
        forms=_forms(
            (("GmbH", "G.m.b.H.", "Gmbh", "GMBH", "Gesellschaft mit beschränkter Haftung", "mbH"), 60),
            (("AG", "A.G.", "Aktiengesellschaft"), 9),
            (("GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG", "GmbH + Co. KG"), 15),
            (("KG", "K.G."), 4),
            (("e.K.", "e. K.", "eK"), 5),
            (("UG (haftungsbeschränkt)", "UG", "UG (haftungsbeschraenkt)"), 5),
            (("SE",), 2),
        ),
        cities=(
            City(("Berlin",), ("10###", "12###", "13###"), "Berlin", "30", 8),
            City(("München", "Muenchen", "Munich"), ("80###", "81###"), "Bayern", "89", 8),
            City(("Hamburg",), ("20###", "22###"), "Hamburg", "40", 8),
            City(("Köln", "Koeln", "Cologne"), ("50###", "51###"), "Nordrhein-Westfalen", "221", 7),
            City(("Frankfurt am Main", "Frankfurt", "Frankfurt a. M."), ("60###", "65###"), "Hessen", "69", 8),
            City(("Stuttgart",), ("70###",), "Baden-Württemberg", "711", 7),
            City(("Düsseldorf", "Duesseldorf"), ("40###",), "Nordrhein-Westfalen", "211", 7),
            City(("Leipzig",), ("04###",), "Sachsen", "341", 7),
            City(("Dresden",), ("01###",), "Sachsen", "351", 7),
            City(("Hannover", "Hanover"), ("30###",), "Niedersachsen", "511", 7),
            City(("Nürnberg", "Nuernberg", "Nuremberg"), ("90###",), "Bayern", "911", 7),
            City(("Bremen",), ("28###",), "Bremen", "421", 7),
            City(("Dortmund",), ("44###",), "Nordrhein-Westfalen", "231", 7),
            City(("Essen",), ("45###",), "Nordrhein-Westfalen", "201", 7),
        ),
        streets={
            "de": ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Schillerstraße", "Goethestraße", "Gartenstraße",
                "Friedrichstraße", "Lindenallee", "Am Hafen", "Marktplatz", "Mühlenweg", "Dorfstraße", "Rheinstraße",
                "Kirchplatz", "Gewerbering"),
        },
        families=("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
            "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
            "Braun", "Krüger", "Hartmann", "Lange", "Krause", "Lehmann", "Köhler", "Maier"),
        firsts=("Hans", "Peter", "Klaus", "Stefan", "Thomas", "Andrea", "Sabine", "Jürgen", "Monika", "Frank"),
        words=("Nordwind", "Rhein", "Alpen", "Elbe", "Sonnen", "Spree", "Harz", "Eiche", "Falke", "Adler", "Kristall",
            "Stern", "Isar", "Weser", "Ostsee", "Nordlicht", "Hanse", "Bavaria", "Saxonia", "Westfalia", "Taunus",
            "Brocken"),
        tld="de", mobiles=(("151", 8, "23456789"), ("160", 7, "23456789"), ("171", 7, "23456789")),
        po_box="Postfach {n}", label="Deutschland",
    ),
    Country(
        code="GB", names=("GB", "United Kingdom", "UK", "Great Britain"), weight=15, language="en", calling="44",
        trunk="0",
        forms=_forms(
            (("Ltd", "Ltd.", "Limited", "LTD"), 75),
            (("PLC", "plc", "Public Limited Company", "P.L.C."), 12),
            (("LLP", "L.L.P."), 8),
        ),
        cities=(
            City(("London",), ("EC1A #@@", "EC2M #@@", "W1# #@@", "SE1 #@@", "N1 #@@", "E1# #@@", "WC2H #@@"),
                 "Greater London", "20", 8, "378"),
            City(("Manchester",), ("M# #@@", "M1# #@@"), "Greater Manchester", "161", 7),
            City(("Birmingham",), ("B# #@@", "B1# #@@"), "West Midlands", "121", 7, "234567"),
            City(("Leeds",), ("LS# #@@", "LS1# #@@"), "West Yorkshire", "113", 7, "23458"),
            City(("Glasgow",), ("G# #@@", "G4# #@@"), "Scotland", "141", 7),
            City(("Edinburgh",), ("EH# #@@", "EH1# #@@"), "Scotland", "131", 7, "2345678"),
            City(("Bristol",), ("BS# #@@", "BS1# #@@"), "", "117", 7, "2349"),
            City(("Liverpool",), ("L# #@@", "L1# #@@"), "Merseyside", "151", 7),
        ),
        streets={
            "en": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Queen Street",
                "King Street", "Park Road", "London Road", "Castle Street", "Bridge Street", "Manor Road"),
        },
        families=("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
            "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Clarke", "Harrison", "Cooper",
            "Turner"),
        firsts=("James", "John", "David", "Sarah", "Emma", "Paul", "Mark", "Helen", "Richard", "Claire"),
        words=("Albion", "Thames", "Pennine", "Crown", "Oak", "Kingsway", "Severn", "Cotswold", "Highland", "Windsor",
            "Mercia", "Wessex", "Anchor", "Beacon", "Meridian", "Lion", "Britannia", "Avon"),
        tld="co.uk", mobiles=(("7911", 6, "23"), ("7700", 6, "178"), ("7400", 6, "123")), po_box="PO Box {n}",
        label="UK",
    ),
    Country(
        code="FR", names=("FR", "France"), weight=12, language="fr", calling="33", trunk="0",
        forms=_forms(
            (("SAS", "S.A.S.", "S.A.S", "Sas"), 40, True),
            (("SARL", "S.A.R.L.", "Sarl", "S.à r.l."), 30, True),
            (("SA", "S.A."), 15, True),
            (("EURL", "E.U.R.L."), 8),
            (("SASU", "S.A.S.U."), 7),
        ),
        cities=(
            City(("Paris",), ("750##",), "Île-de-France", "1", 8),
            City(("Lyon",), ("6900#",), "Auvergne-Rhône-Alpes", "4", 8),
            City(("Marseille",), ("130##",), "Provence-Alpes-Côte d'Azur", "4", 8),
            City(("Toulouse",), ("310##",), "Occitanie", "5", 8, "12345678"),
            City(("Lille",), ("590##",), "Hauts-de-France", "3", 8),
            City(("Nantes",), ("440##",), "Pays de la Loire", "2", 8, "2345789"),
            City(("Bordeaux",), ("330##",), "Nouvelle-Aquitaine", "5", 8, "12345678"),
            City(("Strasbourg",), ("670##",), "Grand Est", "3", 8),
        ),
        streets={
            "fr": ("rue de la République", "avenue Victor Hugo", "boulevard Haussmann", "rue du Port",
                "place de la Gare", "rue Nationale", "avenue Jean Jaurès", "rue de Paris", "boulevard Voltaire",
                "rue Pasteur", "chemin des Vignes", "rue de l'Industrie"),
        },
        families=("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
            "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert",
            "Fontaine"),
        firsts=("Jean", "Pierre", "Marie", "Sophie", "Nicolas", "Julien", "Isabelle", "François", "Céline", "Luc"),
        words=("Lumière", "Garonne", "Provence", "Atlantique", "Soleil", "Étoile", "Loire", "Azur", "Mistral",
            "Horizon", "Bretagne", "Alsace", "Riviera", "Occitane", "Normandie"),
        tld="fr", mobiles=(("6", 8, "12345678"), ("7", 8, "345678")), po_box="BP {n}", label="France",
    ),
    Country(
        code="US", names=("US", "United States", "USA", "U.S.A."), weight=14, language="en", calling="1", trunk="",
        forms=_forms(
            (("Inc.", "Inc", "Incorporated", "INC"), 45),
            (("LLC", "L.L.C.", "Llc"), 35),
            (("Corp.", "Corp", "Corporation"), 12),
            (("Co.", "Co", "Company"), 8),
        ),
        cities=(
            City(("New York", "New York City", "NYC"), ("100##", "101##"), "NY", "212", 7),
            City(("Chicago",), ("606##",), "IL", "312", 7),
            City(("Austin",), ("787##",), "TX", "512", 7),
            City(("Seattle",), ("981##",), "WA", "206", 7),
            City(("Boston",), ("021##",), "MA", "617", 7),
            City(("Denver",), ("802##",), "CO", "303", 7),
            City(("San Francisco",), ("941##",), "CA", "415", 7),
            City(("Los Angeles",), ("900##",), "CA", "213", 7),
            City(("Miami",), ("331##",), "FL", "305", 7),
            City(("Atlanta",), ("303##",), "GA", "404", 7),
            City(("Houston",), ("770##",), "TX", "713", 7),
            City(("Dallas",), ("752##",), "TX", "214", 7),
        ),
        streets={
            "en": ("Main Street", "Market Street", "Broadway", "Oak Avenue", "Park Avenue", "Elm Street", "Maple Drive",
                "Washington Boulevard", "Lake Street", "Commerce Drive", "Industrial Parkway", "Sunset Boulevard"),
        },
        families=("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia", "Rodriguez", "Wilson",
            "Martinez", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "Harris",
            "Clark", "Lewis"),
        firsts=("Michael", "Robert", "Jennifer", "Linda", "William", "Susan", "Daniel", "Karen", "Brian", "Lisa"),
        words=("Liberty", "Summit", "Pioneer", "Pacific", "Lakeside", "Granite", "Evergreen", "Eagle", "Frontier",
            "Keystone", "Redwood", "Patriot", "Heartland", "Golden Gate", "Lone Star", "Cascade"),
        tld="com", mobiles=(), po_box="PO Box {n}", label="USA",
    ),
    Country(
        code="NL", names=("NL", "Netherlands", "Nederland", "Holland"), weight=8, language="nl", calling="31",
        trunk="0",
        forms=_forms(
            (("B.V.", "BV", "B.V", "Besloten Vennootschap"), 85),
            (("N.V.", "NV"), 10),
            (("V.O.F.", "VOF"), 5),
        ),
        cities=(
            City(("Amsterdam",), ("10## @@",), "Noord-Holland", "20", 7),
            City(("Rotterdam",), ("30## @@",), "Zuid-Holland", "10", 7),
            City(("Utrecht",), ("35## @@",), "Utrecht", "30", 7),
            City(("Eindhoven",), ("56## @@",), "Noord-Brabant", "40", 7),
            City(("Den Haag", "'s-Gravenhage", "The Hague"), ("25## @@",), "Zuid-Holland", "70", 7),
            City(("Groningen",), ("97## @@",), "Groningen", "50", 7),
        ),
        streets={
            "nl": ("Keizersgracht", "Stationsplein", "Kerkstraat", "Dorpsstraat", "Havenweg", "Hoofdstraat", "Molenweg",
                "Marktplein", "Industrieweg", "Schoolstraat", "Julianalaan", "Beatrixlaan"),
        },
        families=("De Jong", "Jansen", "De Vries", "Van den Berg", "Van Dijk", "Bakker", "Janssen", "Visser", "Smit",
            "Meijer", "De Boer", "Mulder", "De Groot", "Bos", "Vos", "Peters", "Hendriks", "Dekker"),
        firsts=("Jan", "Pieter", "Kees", "Anne", "Sanne", "Thijs", "Eva", "Daan", "Lotte", "Bram"),
        words=("Oranje", "Delta", "Polder", "Molen", "Zeeland", "Tulp", "Noordzee", "Rijn", "Hollandia", "Dijk",
            "Waddenzee", "Maas", "Frisia", "Kompas"),
        tld="nl", mobiles=(("6", 8, "12345"),), po_box="Postbus {n}", label="Nederland",
    ),
    Country(
        code="AT", names=("AT", "Austria", "Österreich"), weight=4, language="de", calling="43", trunk="0",
        forms=_forms(
            (("GmbH", "Ges.m.b.H.", "GesmbH", "Gesellschaft m.b.H."), 70),
            (("AG", "Aktiengesellschaft"), 10),
            (("KG", "K.G."), 10),
            (("e.U.", "eU"), 10),
        ),
        cities=(
            City(("Wien", "Vienna"), ("1##0",), "Wien", "1", 7),
            City(("Graz",), ("80##",), "Steiermark", "316", 6),
            City(("Linz",), ("40##",), "Oberösterreich", "732", 6),
            City(("Salzburg",), ("50##",), "Salzburg", "662", 6),
            City(("Innsbruck",), ("60##",), "Tirol", "512", 6),
        ),
        streets={
            "de": ("Ringstraße", "Mariahilfer Straße", "Hauptplatz", "Kärntner Straße", "Bahnhofstraße",
                "Industriestraße", "Landstraßer Hauptstraße", "Wiener Straße", "Gewerbepark"),
        },
        families=("Gruber", "Huber", "Bauer", "Wagner", "Müller", "Pichler", "Steiner", "Moser", "Mayer", "Hofer",
            "Leitner", "Berger", "Fuchs", "Eder"),
        firsts=("Franz", "Josef", "Maria", "Johann", "Elisabeth", "Karl", "Anna", "Wolfgang"),
        words=("Donau", "Tirol", "Alpin", "Kaiser", "Edelweiss", "Wachau", "Tauern", "Kärnten", "Danubia"),
        tld="at", mobiles=(("664", 7, "23456789"), ("660", 7, "23456789")), po_box="Postfach {n}", label="Austria",
    ),
    Country(
        code="IT", names=("IT", "Italy", "Italia"), weight=7, language="it", calling="39", trunk="",
        forms=_forms(
            (("S.r.l.", "SRL", "Srl", "S.R.L.", "s.r.l."), 70),
            (("S.p.A.", "SpA", "S.P.A.", "Società per Azioni"), 20),
            (("S.n.c.", "Snc"), 10),
        ),
        cities=(
            City(("Milano", "Milan"), ("201##",), "MI", "02", 8),
            City(("Roma", "Rome"), ("001##",), "RM", "06", 8),
            City(("Torino", "Turin"), ("101##",), "TO", "011", 7),
            City(("Napoli", "Naples"), ("801##",), "NA", "081", 7),
            City(("Bologna",), ("401##",), "BO", "051", 7),
            City(("Firenze", "Florence"), ("501##",), "FI", "055", 7),
        ),
        streets={
            "it": ("Via Roma", "Corso Italia", "Via Garibaldi", "Piazza Duomo", "Via Mazzini", "Via Dante",
                "Viale Europa", "Via Verdi", "Corso Vittorio Emanuele", "Via dell'Industria"),
        },
        families=("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
            "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Lombardi"),
        firsts=("Marco", "Giuseppe", "Luca", "Francesca", "Giulia", "Paolo", "Alessandro", "Chiara"),
        words=("Adriatica", "Toscana", "Lombarda", "Italica", "Vesuvio", "Tirrena", "Aurora", "Etna", "Dolomiti"),
        tld="it", mobiles=(("347", 7, "0123456789"), ("333", 7, "0123456789")), po_box="Casella Postale {n}",
        label="Italia",
    ),
    Country(
        code="ES", names=("ES", "Spain", "España"), weight=6, language="es", calling="34", trunk="",
        forms=_forms(
            (("S.L.", "SL", "S.L", "Sociedad Limitada"), 70),
            (("S.A.", "SA", "Sociedad Anónima"), 25),
            (("S.L.U.", "SLU"), 5),
        ),
        cities=(
            City(("Madrid",), ("280##",), "Madrid", "91", 7),
            City(("Barcelona",), ("080##",), "Cataluña", "93", 7),
            City(("Valencia",), ("460##",), "Valencia", "96", 7),
            City(("Sevilla", "Seville"), ("410##",), "Andalucía", "95", 7),
            City(("Bilbao",), ("480##",), "Bizkaia", "94", 7),
            City(("Zaragoza",), ("500##",), "Aragón", "976", 6),
        ),
        streets={
            "es": ("Calle Mayor", "Gran Vía", "Avenida de la Constitución", "Calle del Sol", "Calle Real",
                "Paseo de la Castellana", "Avenida Diagonal", "Plaza Mayor", "Calle de Alcalá", "Calle Industria"),
        },
        families=("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
            "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Álvarez", "Muñoz"),
        firsts=("Antonio", "José", "Manuel", "Carmen", "Laura", "Javier", "Lucía", "Pablo"),
        words=("Ibérica", "Mediterráneo", "Castilla", "Sol", "Levante", "Cantábrica", "Hispania", "Andaluza", "Tajo"),
        tld="es", mobiles=(("6", 8, "0123456789"),), po_box="Apartado {n}", label="España",
    ),
    Country(
        code="BE", names=("BE", "Belgium", "België", "Belgique"), weight=4, language="nl", calling="32", trunk="0",
        forms=_forms(
            (("NV", "N.V.", "Naamloze Vennootschap"), 30),
            (("BV", "B.V.", "BVBA"), 40),
            (("SA", "S.A."), 15),
            (("SRL", "S.R.L.", "SPRL"), 15),
        ),
        cities=(
            City(("Bruxelles", "Brussel", "Brussels"), ("1##0",), "", "2", 7, "2345678", "fr"),
            City(("Antwerpen", "Anvers", "Antwerp"), ("20#0",), "", "3", 7, "2345678"),
            City(("Gent", "Gand", "Ghent"), ("90#0",), "", "9", 7, "234"),
            City(("Liège", "Luik", "Liege"), ("40#0",), "", "4", 7, "23", "fr"),
            City(("Brugge", "Bruges"), ("8##0",), "", "50", 6, "2345678"),
            City(("Leuven", "Louvain"), ("30#0",), "", "16", 6, "2345678"),
        ),
        streets={
            "nl": ("Meir", "Veldstraat", "Kerkstraat", "Stationsstraat", "Nieuwstraat", "Bondgenotenlaan",
                "Grote Markt", "Industrielaan"),
            "fr": ("Rue Neuve", "Avenue Louise", "Rue de la Loi", "Chaussée de Wavre", "Boulevard Anspach",
                "Rue Royale", "Avenue de Tervueren"),
        },
        families=("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
            "De Smet", "Dubois", "Lambert", "Dupont"),
        firsts=("Luc", "Marc", "Els", "An", "Koen", "Sophie", "Pieter", "Nathalie"),
        words=("Schelde", "Ardennes", "Brabant", "Flandria", "Belgica", "Meuse", "Kempen", "Atomium"),
        tld="be", mobiles=(("47", 7, "0123456789"), ("49", 7, "0123456789")), po_box="Postbus {n}", label="Belgium",
    ),
    Country(
        code="SE", names=("SE", "Sweden", "Sverige"), weight=4, language="sv", calling="46", trunk="0",
        forms=_forms(
            (("AB", "Aktiebolag", "A.B.", "Aktiebolaget"), 90, True),
            (("HB", "Handelsbolag"), 10),
        ),
        cities=(
            City(("Stockholm",), ("11# ##",), "", "8", 7),
            City(("Göteborg", "Goteborg", "Gothenburg"), ("41# ##",), "", "31", 7),
            City(("Malmö", "Malmo"), ("21# ##",), "", "40", 7),
            City(("Uppsala",), ("75# ##",), "", "18", 6),
            City(("Linköping", "Linkoping"), ("58# ##",), "", "13", 6),
        ),
        streets={
            "sv": ("Drottninggatan", "Storgatan", "Kungsgatan", "Sveavägen", "Industrivägen", "Hamngatan",
                "Järnvägsgatan", "Vasagatan", "Kyrkogatan"),
        },
        families=("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
            "Svensson", "Gustafsson", "Pettersson", "Lindberg", "Lindström", "Berg"),
        firsts=("Erik", "Lars", "Anna", "Karin", "Johan", "Maria", "Anders", "Eva"),
        words=("Nordic", "Svea", "Vasa", "Norrland", "Göta", "Skandia", "Polaris", "Viking", "Mälar"),
        tld="se", mobiles=(("70", 7, "23456789"), ("73", 7, "23456789")), po_box="Box {n}", label="Sverige",
    ),
    Country(
        code="CH", names=("CH", "Switzerland", "Schweiz", "Suisse"), weight=3, language="de", calling="41", trunk="0",
        forms=_forms(
            (("AG", "Aktiengesellschaft"), 50),
            (("GmbH",), 30),
            (("SA", "S.A.", "société anonyme"), 15),
            (("Sàrl", "SARL", "S.à r.l."), 5),
        ),
        cities=(
            City(("Zürich", "Zurich", "Zuerich"), ("80##",), "ZH", "44", 7),
            City(("Genève", "Geneva", "Genf"), ("12##",), "GE", "22", 7, "23456789", "fr"),
            City(("Basel", "Bâle"), ("40##",), "BS", "61", 7),
            City(("Bern", "Berne"), ("30##",), "BE", "31", 7),
            City(("Lausanne",), ("10##",), "VD", "21", 7, "23456789", "fr"),
            City(("Luzern", "Lucerne"), ("60##",), "LU", "41", 7),
        ),
        streets={
            "de": ("Bahnhofstrasse", "Seestrasse", "Industriestrasse", "Hauptstrasse", "Dorfstrasse", "Poststrasse",
                "Bahnhofplatz", "Zürcherstrasse"),
            "fr": ("Rue du Rhône", "Avenue de la Gare", "Chemin des Vignes", "Rue de Lausanne", "Route de Genève",
                "Place du Marché"),
        },
        families=("Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Steiner", "Baumann", "Frei", "Favre"),
        firsts=("Urs", "Beat", "Daniel", "Ursula", "Andreas", "Monika", "Martin", "Claudia"),
        words=("Helvetia", "Alpina", "Matterhorn", "Rigi", "Jura", "Léman", "Säntis", "Gotthard"),
        tld="ch", mobiles=(("79", 7, "23456789"), ("76", 7, "23456789")), po_box="Postfach {n}", label="Schweiz",
    ),
    Country(
        code="FI", names=("FI", "Finland", "Suomi"), weight=1, language="fi", calling="358", trunk="0",
        forms=_forms(
            (("Oy", "OY", "Osakeyhtiö", "Ltd"), 85),
            (("Oyj", "OYJ"), 10),
            (("Ky",), 5),
        ),
        cities=(
            City(("Helsinki", "Helsingfors"), ("001#0",), "", "9", 7, "2345678"),
            City(("Tampere", "Tammerfors"), ("331#0",), "", "3", 7),
            City(("Turku", "Åbo"), ("201#0",), "", "2", 7),
            City(("Espoo", "Esbo"), ("021#0",), "", "9", 7, "2345678"),
        ),
        streets={
            "fi": ("Mannerheimintie", "Aleksanterinkatu", "Hämeenkatu", "Teollisuuskatu", "Asemakatu", "Satamakatu",
                "Kauppakatu", "Rantatie"),
        },
        families=("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen"),
        firsts=("Juha", "Mikko", "Anna", "Sari", "Timo", "Tiina", "Jari", "Päivi"),
        words=("Pohjola", "Sampo", "Lappi", "Saimaa", "Kaleva", "Aurora", "Sisu", "Nordic"),
        tld="fi", mobiles=(("40", 7, "0123456789"), ("50", 7, "0123456789")), po_box="PL {n}", label="Finland",
    ),
)
# fmt: on


_BY_CODE = {country.code: country for country in COUNTRIES}
_COUNTRY_WEIGHTS = tuple(country.weight for country in COUNTRIES)
_COUNTRY_CODES = {spelling.casefold(): country.code for country in COUNTRIES for spelling in country.names}

# Trades: a key, the word in each of LANGUAGES, the CRM's industry picklist value, the ERP's category.
TRADES = (
    ("logistics", "Logistics", "Logistik", "Logistique", "Logistiek", "Logistica", "Logística", "Logistik",
     "Logistiikka", "Transportation", "Logistics"),
    ("engineering", "Engineering", "Maschinenbau", "Ingénierie", "Techniek", "Ingegneria", "Ingeniería", "Teknik",
     "Konepaja", "Machinery", "Industrial Machinery"),
    ("trading", "Trading", "Handel", "Commerce", "Handel", "Commercio", "Comercial", "Handel", "Kauppa", "Wholesale",
     "Wholesale Trade"),
    ("software", "Software", "Software", "Informatique", "Software", "Informatica", "Informática", "Data",
     "Ohjelmistot", "Technology", "IT Services"),
    ("construction", "Construction", "Bau", "Construction", "Bouw", "Costruzioni", "Construcciones", "Bygg",
     "Rakennus", "Construction", "Construction"),
    ("medical", "Medical", "Medizintechnik", "Médical", "Medisch", "Medicale", "Médica", "Medicin", "Lääketekniikka",
     "Healthcare", "Medical Devices"),
    ("electrics", "Electrics", "Elektro", "Électricité", "Elektro", "Elettrica", "Eléctrica", "El", "Sähkö",
     "Electronics", "Electrical Equipment"),
    ("consulting", "Consulting", "Beratung", "Conseil", "Advies", "Consulenza", "Consultoría", "Konsult",
     "Konsultointi", "Consulting", "Professional Services"),
    ("foods", "Foods", "Lebensmittel", "Alimentaire", "Voeding", "Alimentari", "Alimentación", "Livsmedel",
     "Elintarvike", "Food & Beverage", "Food"),
    ("textiles", "Textiles", "Textil", "Textile", "Textiel", "Tessile", "Textil", "Textil", "Tekstiili", "Apparel",
     "Textiles"),
    ("manufacturing", "Manufacturing", "Fertigung", "Fabrication", "Productie", "Manifattura", "Fabricación",
     "Tillverkning", "Valmistus", "Manufacturing", "Manufacturing"),
    ("services", "Services", "Service", "Services", "Diensten", "Servizi", "Servicios", "Tjänster", "Palvelut",
     "Business Services", "Services"),
    ("technologies", "Technologies", "Technologie", "Technologies", "Technologie", "Tecnologie", "Tecnologías",
     "Teknologi", "Teknologia", "Technology", "Technology"),
    ("industries", "Industries", "Industrie", "Industries", "Industrie", "Industrie", "Industrias", "Industri",
     "Teollisuus", "Manufacturing", "Industrial"),
    ("transport", "Transport", "Spedition", "Transports", "Transport", "Trasporti", "Transportes", "Transport",
     "Kuljetus", "Transportation", "Freight"),
    ("chemicals", "Chemicals", "Chemie", "Chimie", "Chemie", "Chimica", "Química", "Kemi", "Kemia", "Chemicals",
     "Chemicals"),
    ("automotive", "Automotive", "Fahrzeugtechnik", "Automobile", "Automotive", "Automotive", "Automoción", "Fordon",
     "Autotekniikka", "Automotive", "Automotive"),
    ("energy", "Energy", "Energie", "Énergie", "Energie", "Energia", "Energía", "Energi", "Energia", "Energy",
     "Energy"),
    ("packaging", "Packaging", "Verpackung", "Emballage", "Verpakking", "Imballaggi", "Embalajes", "Förpackning",
     "Pakkaus", "Manufacturing", "Packaging"),
    ("metal", "Metalworks", "Metallbau", "Métallurgie", "Metaal", "Metalli", "Metales", "Metall", "Metalli",
     "Manufacturing", "Metals"),
    ("print", "Printing", "Druck", "Imprimerie", "Drukkerij", "Stampa", "Artes Gráficas", "Tryck", "Paino", "Media",
     "Printing"),
    ("furniture", "Furniture", "Möbel", "Meubles", "Meubelen", "Mobili", "Muebles", "Möbler", "Huonekalu", "Retail",
     "Furniture"),
    ("pharma", "Pharma", "Pharma", "Pharma", "Pharma", "Farmaceutici", "Farma", "Pharma", "Lääke", "Healthcare",
     "Pharmaceuticals"),
    ("plastics", "Plastics", "Kunststofftechnik", "Plastiques", "Kunststoffen", "Plastica", "Plásticos", "Plast",
     "Muovi", "Manufacturing", "Plastics"),
    ("security", "Security", "Sicherheitstechnik", "Sécurité", "Beveiliging", "Sicurezza", "Seguridad", "Säkerhet",
     "Turvallisuus", "Security", "Security Services"),
    ("media", "Media", "Medien", "Médias", "Media", "Media", "Medios", "Media", "Media", "Media", "Media"),
)  # fmt: skip
_REAL_ESTATE = {"en": "Real Estate", "de": "Immobilien", "fr": "Immobilier", "nl": "Vastgoed", "it": "Immobiliare",
                "es": "Inmobiliaria", "sv": "Fastigheter", "fi": "Kiinteistöt"}  # fmt: skip
_PARENT_WORDS = {"en": ("Holding", "Holdings", "Group"), "de": ("Holding", "Gruppe", "Beteiligungs"),
                 "fr": ("Holding", "Groupe"), "nl": ("Holding", "Groep"), "it": ("Holding", "Gruppo"),
                 "es": ("Holding", "Grupo"), "sv": ("Holding", "Gruppen"), "fi": ("Holding", "Konserni")}  # fmt: skip
_PREFIXED_GROUP_WORDS = ("Groupe", "Gruppo", "Grupo")  # written before the brand
_COMPASS = {"en": ("North", "South", "East", "West", "Central"), "de": ("Nord", "Süd", "Ost", "West", "Mitte"),
            "fr": ("Nord", "Sud", "Est", "Ouest", "Centre"), "nl": ("Noord", "Zuid", "Oost", "West", "Centrum"),
            "it": ("Nord", "Sud", "Est", "Ovest", "Centro"), "es": ("Norte", "Sur", "Este", "Oeste", "Centro"),
            "sv": ("Norr", "Söder", "Öst", "Väst", "City"),
            "fi": ("Pohjoinen", "Etelä", "Itä", "Länsi", "Keskusta")}  # fmt: skip
_AND = {"en": "and", "de": "und", "fr": "et", "nl": "en", "it": "e", "es": "y", "sv": "och", "fi": "ja"}
_AND_WORDS = frozenset(_AND.values())
# Words that tempt every data-entry clerk to abbreviate: full form -> the short forms seen in the wild.
_ABBREVIATIONS = {
    "International": ("Intl", "Intl.", "Int'l"),
    "Manufacturing": ("Mfg", "Mfg."),
    "Services": ("Svcs", "Svcs.", "Serv."),
    "Corporation": ("Corp", "Corp."),
    "Company": ("Co", "Co."),
    "Technologies": ("Tech", "Techs"),
    "Technology": ("Tech",),
    "Industries": ("Ind.", "Inds"),
    "Brothers": ("Bros", "Bros."),
    "Associates": ("Assoc.", "Assocs"),
    "Engineering": ("Eng.", "Engg"),
    "Systems": ("Sys.",),
    "Maschinenbau": ("Masch.-Bau", "Maschb."),
    "Gesellschaft": ("Ges.",),
    "Internationale": ("Int.",),
    "Holding": ("Hldg",),
}
# Common English name words: hard negatives, commonest first.
_ADJECTIVES = ("Global", "International", "Nordic", "European", "Euro", "United", "General", "Universal", "Premier",
               "Advanced", "Allied", "Central", "Atlantic", "Continental", "Modern", "Smart", "Digital", "First",
               "Prime", "Royal", "National", "Integrated", "Strategic", "Alpine", "Baltic", "Northern",
               "Western")  # fmt: skip
_NOUNS = ("Solutions", "Services", "Systems", "Group", "Partners", "Consulting", "Technologies", "Industries",
          "Enterprises", "Associates", "Company", "Corporation", "Brothers", "Trading", "Ventures", "Networks",
          "Resources", "Products", "Supplies")  # fmt: skip
# Coined brand names: prefix + optional middle + suffix ("Vantora", "Kelatronic").
_COIN_PREFIXES = ("Vant", "Kel", "Nor", "Tri", "Alt", "Pro", "Inter", "Neo", "Omni", "Quant", "Sol", "Terra", "Aqua",
                  "Bio", "Geo", "Medi", "Agri", "Auto", "Data", "Info", "Logi", "Metal", "Multi", "Opti", "Poly",
                  "Tele", "Uni", "Vita", "Xen", "Zen", "Kar", "Lum", "Mar", "Ro", "Sa", "Ve", "Da", "Fer", "Cor",
                  "Hel", "Ar", "Bel", "Cal", "Dex", "Ev", "Fin", "Gal", "Hy", "Jun", "Kor", "Lex", "Mon", "Nex", "Ox",
                  "Pax", "Rex", "Syn", "Tor", "Ul", "Vox", "Wex", "Zar")  # fmt: skip
_COIN_MIDDLES = ("", "", "", "a", "e", "i", "o", "an", "el", "or", "ix", "ul", "ar", "en", "is")
_COIN_SUFFIXES = ("tec", "tronic", "lux", "nova", "vision", "max", "plan", "soft", "line", "ware", "form", "sys",
                  "gen", "ix", "ex", "on", "ana", "ora", "ium", "ics", "ia", "io", "us", "ent", "is", "ando", "eon",
                  "ity", "ta", "go", "mo", "ra", "va", "ker", "dal", "ton", "ville", "point", "wave")  # fmt: skip
# Non-Latin names: (native, transliteration); a brand word and a trade word each, CJK written without spaces.
_SCRIPTS = (
    (
        (("Восток", "Vostok"), ("Север", "Sever"), ("Сибирь", "Sibir"), ("Волга", "Volga"), ("Урал", "Ural"),
         ("Звезда", "Zvezda"), ("Нева", "Neva"), ("Алмаз", "Almaz"), ("Балтика", "Baltika"), ("Прогресс", "Progress")),
        (("Торг", "Torg"), ("Строй", "Stroy"), ("Техно", "Tekhno"), ("Энерго", "Energo"), ("Металл", "Metall"),  # noqa: RUF001
         ("Импорт", "Import")),
        " ",
    ),
    (
        (("Όλυμπος", "Olympos"), ("Αθηνά", "Athina"), ("Ερμής", "Ermis"), ("Αιγαίο", "Aigaio"), ("Κρήτη", "Kriti"),
         ("Ήλιος", "Ilios"), ("Νίκη", "Niki"), ("Μακεδονία", "Makedonia"), ("Αστέρας", "Asteras")),
        (("Εμπορική", "Emporiki"), ("Τεχνική", "Techniki"), ("Ελληνική", "Elliniki"), ("Τρόφιμα", "Trofima")),
        " ",
    ),
    (
        (("华强", "Huaqiang"), ("长城", "Changcheng"), ("东方", "Dongfang"), ("金龙", "Jinlong"), ("海天", "Haitian"),
         ("新华", "Xinhua"), ("光明", "Guangming"), ("天马", "Tianma"), ("中联", "Zhonglian")),
        (("科技", "Keji"), ("贸易", "Maoyi"), ("电子", "Dianzi"), ("物流", "Wuliu"), ("机械", "Jixie")),
        "",
    ),
    (
        (("山田", "Yamada"), ("東京", "Tokyo"), ("富士", "Fuji"), ("大和", "Yamato"), ("日本", "Nihon"),
         ("中村", "Nakamura"), ("高橋", "Takahashi")),
        (("製作所", "Seisakusho"), ("商事", "Shoji"), ("工業", "Kogyo"), ("精機", "Seiki"), ("電機", "Denki")),
        "",
    ),
)  # fmt: skip
_SHORT_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"
_WORD_ENDINGS = ("tec", "form", "line", "star", "pro", "net", "max", "plan", "werk", "tronic")
_SONS = {"en": "Sons", "de": "Söhne", "fr": "Fils", "nl": "Zonen", "it": "Figli", "es": "Hijos", "sv": "Söner",
         "fi": "Pojat"}  # fmt: skip
_LEGAL_FORM_WORDS = frozenset(
    variant.replace(".", "").replace(" ", "").casefold()
    for country in COUNTRIES
    for form in country.forms
    for variant in form.variants
) | {"ab", "ag", "sa", "bv", "nv", "kg", "oy", "se", "co", "ek", "hb", "ky", "ug", "eu"}
_STREET_ABBREVIATIONS = {
    "de": (("straße", ("str.", "strasse", "str")), ("Straße", ("Str.", "Strasse")), ("strasse", ("str.",)),
           ("Strasse", ("Str.",)), ("platz", ("pl.", "platz")), ("allee", ("allee", "al."))),
    "en": (("Street", ("St", "St.")), ("Road", ("Rd", "Rd.")), ("Avenue", ("Ave", "Ave.", "Av.")), ("Lane", ("Ln",)),
           ("Boulevard", ("Blvd", "Blvd.")), ("Drive", ("Dr", "Dr.")), ("Parkway", ("Pkwy",))),
    "fr": (("rue", ("r.",)), ("avenue", ("av.", "ave")), ("boulevard", ("bd", "boul.")), ("place", ("pl.",)),
           ("chemin", ("ch.",)), ("Rue", ("R.",)), ("Avenue", ("Av.",)), ("Chaussée", ("Chée",)),
           ("Boulevard", ("Bd",)), ("Route", ("Rte",))),
    "nl": (("straat", ("str.",)), ("laan", ("ln.",)), ("plein", ("pl.",))),
    "it": (("Via", ("V.",)), ("Corso", ("C.so",)), ("Piazza", ("P.zza", "P.za")), ("Viale", ("V.le",))),
    "es": (("Calle", ("C/", "C.")), ("Avenida", ("Avda.", "Av.")), ("Plaza", ("Pza.", "Pl.")), ("Paseo", ("Pº",))),
    "sv": (("gatan", ("g.", "gt")), ("vägen", ("v.",))),
    "fi": (("katu", ("k.",)), ("tie", ("t.",))),
}  # fmt: skip
_UNITS = {"en": ("Suite {n}", "Unit {n}", "Floor {n}"), "de": ("{n}. OG", "Haus {n}"), "fr": ("Bâtiment {n}",),
          "nl": ("Unit {n}",), "it": ("Scala {n}",), "es": ("Planta {n}",), "sv": ("Plan {n}",),
          "fi": ("{n}. krs",)}  # fmt: skip
_CONTACT_LOCALS = ("info", "info", "sales", "contact", "office", "hello", "service")
_ACCOUNTING_LOCALS = {
    "en": ("accounts", "ap", "invoices", "finance", "accounts.payable"),
    "de": ("buchhaltung", "rechnung", "rechnungen", "finanzen"),
    "fr": ("comptabilite", "factures", "compta"),
    "nl": ("administratie", "facturen", "crediteuren"),
    "it": ("amministrazione", "contabilita", "fatture"),
    "es": ("contabilidad", "facturas", "administracion"),
    "sv": ("ekonomi", "faktura", "redovisning"),
    "fi": ("laskut", "talous", "kirjanpito"),
}
_FREE_MAIL = {"DE": ("gmx.de", "web.de", "t-online.de"), "GB": ("btinternet.com", "hotmail.co.uk"),
              "FR": ("orange.fr", "wanadoo.fr"), "US": ("gmail.com", "yahoo.com"), "NL": ("ziggo.nl", "kpnmail.nl"),
              "AT": ("gmx.at", "aon.at"), "IT": ("libero.it", "virgilio.it"), "ES": ("telefonica.net", "gmail.com"),
              "BE": ("telenet.be", "skynet.be"), "SE": ("telia.com", "gmail.com"), "CH": ("bluewin.ch", "gmx.ch"),
              "FI": ("luukku.com", "gmail.com")}  # fmt: skip
_TERMS = ("Net 30", "Net 30", "Net 30", "Net 60", "Net 14", "Net 45", "2% 10 Net 30", "Due on receipt", "Net 90")
_KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok", "o": "ipl",
    "p": "ol", "a": "qsz", "s": "adw", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy", "j": "hku", "k": "jli",
    "l": "ko", "z": "xa", "x": "zcs", "c": "xvd", "v": "cbf", "b": "vng", "n": "bmh", "m": "nj",
}  # fmt: skip
_DIGRAPHS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_SF_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SF_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _skewed(items: tuple[str, ...]) -> tuple[float, ...]:
    """Cumulative weights 1/sqrt(rank): the first items of a list come up several times as often as the last."""
    total, cumulative = 0.0, []
    for rank in range(1, len(items) + 1):
        total += rank**-0.5
        cumulative.append(total)
    return tuple(cumulative)


_SKEW: dict[tuple[str, ...], tuple[float, ...]] = {}


def _pick_skewed(rng: random.Random, items: tuple[str, ...]) -> str:
    weights = _SKEW.get(items)
    if weights is None:
        weights = _SKEW[items] = _skewed(items)
    return rng.choices(items, cum_weights=weights)[0]


# --- Small helpers ----------------------------------------------------------------------------------------------------


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def _pattern(rng: random.Random, pattern: str) -> str:
    """A postcode from a pattern: '#' a digit, '@' a letter used in postcodes."""
    return "".join(
        rng.choice("0123456789") if char == "#" else rng.choice("ABDEFGHJLNPRSTUWXZ") if char == "@" else char
        for char in pattern
    )


@lru_cache(maxsize=4096)
def ascii_fold(text: str) -> str:
    """Accents dropped (Müller -> Muller, García -> Garcia), ß -> ss; other scripts left as they are."""
    text = text.replace("ß", "ss").replace("æ", "ae").replace("Æ", "AE").replace("ø", "o").replace("Ø", "O")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@lru_cache(maxsize=8192)
def _slug(text: str) -> str:
    """A name as it appears in a domain or an email address: lower case ASCII letters and digits."""
    return "".join(char for char in ascii_fold(text.translate(_DIGRAPHS)).lower() if char.isascii() and char.isalnum())


def _typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a neighbouring key, a dropped or doubled character, or two characters swapped."""
    if len(text) < 4:
        return text
    index = rng.randrange(1, len(text) - 1)
    char, kind = text[index], rng.random()
    if kind < 0.3 and char.lower() in _KEYBOARD:
        slip = rng.choice(_KEYBOARD[char.lower()])
        return text[:index] + (slip.upper() if char.isupper() else slip) + text[index + 1 :]
    if kind < 0.55:
        return text[:index] + text[index + 1 :]
    if kind < 0.75:
        return text[:index] + char + text[index:]
    return text[:index] + text[index + 1] + char + text[index + 2 :]


def vat_number(rng: random.Random, country: str) -> str:
    """A VAT number (US: an EIN) with correct check digits: generate_customers' schemes plus SE, CH and FI."""
    while True:
        if country == "SE":
            body = "55" + rng.choice("6789") + _digits(rng, 6)
            return f"SE{body}{luhn.calc_check_digit(body)}01"
        if country == "CH":
            body = rng.choice("123456789") + _digits(rng, 7)
            check = ch_uid.calc_check_digit(body)
            if check != "10":
                return f"CHE{body}{check}"
        elif country == "FI":
            body = rng.choice("0123") + _digits(rng, 6)
            check = -sum(weight * int(digit) for weight, digit in zip((7, 9, 10, 5, 8, 4, 2), body, strict=True)) % 11
            if check != 10:
                return f"FI{body}{check}"
        else:
            return _vat_with_check_digits(rng, country)


def salesforce_id(number: int) -> str:
    """An 18-character Salesforce Account ID ("001" key prefix), with its case-safe checksum suffix."""
    digits = []
    for _ in range(10):
        number, remainder = divmod(number, 62)
        digits.append(_SF_ALPHABET[remainder])
    base = "0015g" + "".join(reversed(digits))
    suffix = "".join(
        _SF_SUFFIX[sum(1 << bit for bit, char in enumerate(base[start : start + 5]) if "A" <= char <= "Z")]
        for start in (0, 5, 10)
    )
    return base + suffix


# --- Companies --------------------------------------------------------------------------------------------------------


@dataclass
class Site:
    """A place: a street address, or a PO box."""

    city: City
    postcode: str
    street: str = ""
    house: str = ""
    po_box: str = ""
    unit: str = ""


@dataclass
class Company:
    """One true legal entity, from which its source records are rendered."""

    entity: str
    country: Country
    language: str
    core: str  # the name without legal form, in Latin script ("Nordwind Logistik")
    brand: str  # what sales people call it ("Nordwind")
    form: Form
    head_office: Site
    trade: tuple[str, ...]
    billing: Site | None = None  # None: the head office
    warehouse: Site | None = None
    phone: tuple[str, str] = ("", "")  # (area, subscriber)
    phone2: tuple[str, str] | None = None
    domain: str = ""
    free_mail: str = ""
    tax_id: str = ""
    terms: str = "Net 30"
    status: str = "active"
    native: tuple[str, str] | None = None  # (core, brand) in the native script
    old_form: Form | None = None  # an older legal form one system still holds
    old_site: Site | None = None  # an address before a move, kept by one system
    old_phone: tuple[str, str] | None = None
    people: tuple[str, ...] = field(default_factory=tuple)  # contact email local parts


def _site(rng: random.Random, country: Country, city: City | None = None) -> Site:
    city = city or rng.choice(country.cities)
    streets = country.streets.get(city.language or country.language) or next(iter(country.streets.values()))
    roll = rng.random()
    house = str(rng.randint(1, 180))
    if roll < 0.08:
        house += rng.choice("abc")
    elif roll < 0.12:
        house += f"-{int(house) + 2}"
    unit = ""
    if rng.random() < 0.06:
        language = city.language or country.language
        unit = rng.choice(_UNITS[language]).format(n=rng.randint(1, 12))
    return Site(city, _pattern(rng, rng.choice(city.postcodes)), rng.choice(streets), house, unit=unit)


def _subscriber(rng: random.Random, length: int, first: str) -> str:
    return rng.choice(first) + _digits(rng, length - 1)


def _city_phone(rng: random.Random, city: City) -> tuple[str, str]:
    return city.area, _subscriber(rng, city.digits, city.first)


def _second_phone(rng: random.Random, country: Country, city: City) -> tuple[str, str]:
    if country.mobiles and rng.random() < 0.6:
        prefix, length, first = rng.choice(country.mobiles)
        return prefix, _subscriber(rng, length, first)
    return _city_phone(rng, city)


def _trade_word(trade: tuple[str, ...], language: str) -> str:
    return trade[1 + LANGUAGES.index(language)]


def _name(rng: random.Random, country: Country, language: str, city: City) -> tuple[str, str, tuple[str, ...]]:
    """A company name core, its brand, and its trade, in one of several common patterns."""
    trade = rng.choice(TRADES)
    word_language = "en" if country.language == "en" or rng.random() < 0.3 else language
    trade_word = _trade_word(trade, word_language)
    roll = rng.random()
    if roll < 0.14:  # Nordwind Logistik, Rheintec Bau
        word = rng.choice(country.words)
        if rng.random() < 0.5:
            word += rng.choice(_WORD_ENDINGS)
        core = f"{word} {trade_word}"
        return core, word if rng.random() < 0.4 else core, trade
    if roll < 0.23:  # Schmidt Logistik
        family = _pick_skewed(rng, country.families)
        core = f"{family} {trade_word}"
        return core, core if rng.random() < 0.8 else family, trade
    if roll < 0.26:  # Müller & Söhne (Bau)
        family = _pick_skewed(rng, country.families)
        core = f"{family} & {_SONS[language]}"
        return (f"{core} {trade_word}" if rng.random() < 0.8 else core), core, trade
    if roll < 0.31:  # Müller & Schmidt (Logistik)
        first, second = _pick_skewed(rng, country.families), _pick_skewed(rng, country.families)
        if first == second:
            second = rng.choice(country.families)
        pair = f"{first} & {second}"
        return (f"{pair} {trade_word}" if rng.random() < 0.7 else pair), pair, trade
    if roll < 0.71:  # Vantora (Logistics / Solutions)
        coined = rng.choice(_COIN_PREFIXES) + rng.choice(_COIN_MIDDLES) + rng.choice(_COIN_SUFFIXES)
        coined = coined[0] + coined[1:].lower()
        tail = rng.random()
        if tail < 0.4:
            return f"{coined} {trade_word}", coined, trade
        if tail < 0.6:
            return f"{coined} {_pick_skewed(rng, _NOUNS)}", coined, trade
        return coined, coined, trade
    if roll < 0.79:  # Global Logistics Solutions
        adjective = _pick_skewed(rng, _ADJECTIVES)
        english = _trade_word(trade, "en")
        core = f"{adjective} {english}"
        if rng.random() < 0.5:
            core += " " + _pick_skewed(rng, _NOUNS)
        return core, core, trade
    if roll < 0.85:  # KTM Logistik
        letters = "".join(rng.choice(_SHORT_ALPHABET) for _ in range(rng.choice((2, 3, 3, 4))))
        return f"{letters} {trade_word}", letters, trade
    if roll < 0.91:  # Hans Müller Elektro
        family = _pick_skewed(rng, country.families)
        core = f"{rng.choice(country.firsts)} {family} {trade_word}"
        return core, core, trade
    if roll < 0.97:  # Smith Brothers, Schmidt Group, Müller Consulting
        family = _pick_skewed(rng, country.families)
        core = f"{family} {_pick_skewed(rng, _NOUNS)}"
        return core, core if rng.random() < 0.95 else family, trade
    core = f"{city.names[0]} {trade_word}"  # Berlin Logistik
    return core, core, trade


def _domain(rng: random.Random, country: Country, city: City, brand: str, core: str) -> str:
    """A web domain made of the brand or the name; often with a town, a number or a word to tell it apart."""
    words = [_slug(word) for word in (brand if rng.random() < 0.5 else core).split() if _slug(word)]
    words = [word for word in words if word not in _AND_WORDS] or ["firma"]
    stem = ("-" if rng.random() < 0.35 else "").join(words)
    if rng.random() < 0.45:
        suffix = rng.choice(
            (
                "-" + _slug(city.names[0]),
                "-" + _slug(city.names[0]),
                str(rng.randint(1, 99)),
                "24",
                "-online",
                "-group",
                "-direct",
                "-" + _slug(country.label),
                "-" + _slug(rng.choice(country.firsts)),
            )
        )
        if suffix.lstrip("-") not in stem:
            stem += suffix
    tld = country.tld
    if country.code != "US" and rng.random() < 0.3:
        tld = "com" if rng.random() < 0.8 else "eu"
    return f"{stem}.{tld}"


def _people(rng: random.Random, country: Country) -> tuple[str, ...]:
    people = []
    for _ in range(rng.randint(1, 3)):
        first, last = _slug(rng.choice(country.firsts)), _slug(_pick_skewed(rng, country.families))
        people.append(rng.choice((f"{first}.{last}", f"{first[0]}.{last}", f"{first[0]}{last}", first)))
    return tuple(people)


def _company(
    rng: random.Random,
    entity: str,
    country: Country | None = None,
    *,
    city: City | None = None,
    name: tuple[str, str, tuple[str, ...]] | None = None,
) -> Company:
    """A new company; `name` (core, brand, trade) and `city` are given for the members of a family."""
    country = country or rng.choices(COUNTRIES, weights=_COUNTRY_WEIGHTS)[0]
    city = city or rng.choice(country.cities)
    language = city.language or country.language
    core, brand, trade = name or _name(rng, country, language, city)
    form = rng.choices(country.forms, weights=[form.weight for form in country.forms])[0]
    company = Company(entity, country, language, core, brand, form, _site(rng, country, city), trade)
    roll = rng.random()
    if roll < 0.12:
        company.billing = Site(city, company.head_office.postcode, po_box=country.po_box.format(n=rng.randint(1, 9999)))
    elif roll < 0.2:
        company.billing = _site(rng, country)
    if rng.random() < 0.25:
        company.warehouse = _site(rng, country, city if rng.random() < 0.6 else None)
    company.phone = _city_phone(rng, city)
    if rng.random() < 0.3:
        company.phone2 = _second_phone(rng, country, city)
    if rng.random() < 0.07:
        company.free_mail = rng.choice(_FREE_MAIL[country.code])
        if rng.random() < 0.3:
            company.domain = _domain(rng, country, city, brand, core)
    else:
        company.domain = _domain(rng, country, city, brand, core)
    if rng.random() < (0.6 if country.code == "US" else 0.93):
        company.tax_id = vat_number(rng, country.code)
    company.terms = rng.choice(_TERMS)
    status = rng.random()
    company.status = "active" if status < 0.92 else "inactive" if status < 0.98 else "blocked"
    if rng.random() < 0.03 and len(country.forms) > 1:
        company.old_form = rng.choice([other for other in country.forms if other is not form])
    if rng.random() < 0.04:
        company.old_site = _site(rng, country, city if rng.random() < 0.5 else None)
        company.old_phone = _city_phone(rng, company.old_site.city)
    company.people = _people(rng, country)
    return company


def _native_company(rng: random.Random, entity: str) -> Company:
    """A company whose name is in Cyrillic, Greek, Chinese or Japanese script (with its transliteration)."""
    brands, trades, joiner = rng.choice(_SCRIPTS)
    (brand_native, brand_latin), (trade_native, trade_latin) = rng.choice(brands), rng.choice(trades)
    core_native, core_latin = f"{brand_native}{joiner}{trade_native}", f"{brand_latin} {trade_latin}"
    if rng.random() < 0.6:  # two brand words: 东方金龙电子, Dongfang Jinlong Dianzi
        second_native, second_latin = rng.choice(brands)
        if second_native != brand_native:
            core_native = f"{brand_native}{joiner}{second_native}{joiner}{trade_native}"
            core_latin = f"{brand_latin} {second_latin} {trade_latin}"
    company = _company(rng, entity, name=(core_latin, brand_latin, rng.choice(TRADES)))
    company.native = (core_native, brand_native)
    return company


def _short_company(rng: random.Random, entity: str) -> Company:
    """A company with a one- or two-character name ("Q GmbH", "K2 Ltd")."""
    while True:
        roll = rng.random()
        if roll < 0.3:
            short = rng.choice(_SHORT_ALPHABET)
        elif roll < 0.7:
            short = rng.choice(_SHORT_ALPHABET) + rng.choice(_SHORT_ALPHABET)
        elif roll < 0.9:
            short = rng.choice(_SHORT_ALPHABET) + rng.choice("123456789")
        else:
            short = rng.choice("123456789") + rng.choice(_SHORT_ALPHABET)
        if short.casefold() not in _LEGAL_FORM_WORDS:
            break
    return _company(rng, entity, name=(short, short, rng.choice(TRADES)))


# --- Families of look-alike companies (hard negatives) ------------------------------------------------------------


def _brand_abroad(rng: random.Random, first: Company, entities: Iterator[str]) -> list[Company]:
    """The same brand as separate legal entities in one or two other countries."""
    others = [country for country in COUNTRIES if country is not first.country]
    family = [first]
    shared_domain = first.domain if first.domain.endswith(".com") or rng.random() < 0.35 else ""
    for country in rng.sample(others, rng.choice((1, 1, 2))):
        city = rng.choice(country.cities)
        language = city.language or country.language
        roll = rng.random()
        if roll < 0.35:
            core = f"{first.brand} {country.label}"
        elif roll < 0.7 and first.core != first.brand:
            core = f"{first.brand} {_trade_word(first.trade, language)}"
        else:
            core = first.brand
        member = _company(rng, next(entities), country, city=city, name=(core, first.brand, first.trade))
        if member.domain and first.domain:  # acme.com for all, or acme.de and acme.co.uk
            member.domain = shared_domain or f"{first.domain.split('.', 1)[0]}.{country.tld}"
        family.append(member)
    return family


def _group(rng: random.Random, parent: Company, entities: Iterator[str]) -> list[Company]:
    """A parent ("Acme Holding") and subsidiaries ("Acme Logistik", "Acme Deutschland") in one country."""
    brand, language, country = parent.brand, parent.language, parent.country
    word = rng.choice(_PARENT_WORDS[language])
    parent.core = f"{word} {brand}" if word in _PREFIXED_GROUP_WORDS else f"{brand} {word}"
    family = [parent]
    suffixes: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        roll = rng.random()
        if roll < 0.25 and country.label not in suffixes:
            suffix = country.label
        elif roll < 0.35:
            suffix = _REAL_ESTATE[language]
        else:
            suffix = _trade_word(rng.choice(TRADES), language)
        if suffix in suffixes:
            continue
        suffixes.append(suffix)
        same_city = rng.random() < 0.7
        member = _company(
            rng,
            next(entities),
            country,
            city=parent.head_office.city if same_city else None,
            name=(f"{brand} {suffix}", brand, parent.trade),
        )
        if same_city and rng.random() < 0.4:
            member.head_office = parent.head_office  # the group's building
        if parent.domain and rng.random() < 0.5:
            member.domain = parent.domain
        if rng.random() < 0.2:
            member.phone = parent.phone  # the group's switchboard
        if parent.tax_id and rng.random() < 0.15:
            member.tax_id = parent.tax_id  # a VAT group: one number for several companies
        family.append(member)
    return family


def _branches(rng: random.Random, first: Company, entities: Iterator[str]) -> list[Company]:
    """Branches or franchisees in the same city, each its own legal entity: the same name or a qualified one."""
    family = [first]
    city = first.head_office.city
    for _ in range(rng.choice((1, 1, 2))):
        if rng.random() < 0.5:
            core = first.core
        elif rng.random() < 0.6:
            core = f"{first.core} {rng.choice(_COMPASS[first.language])}"
        else:
            core = f"{first.core} {city.names[0]}"
        member = _company(rng, next(entities), first.country, city=city, name=(core, first.brand, first.trade))
        if first.domain and rng.random() < 0.3:
            member.domain = first.domain  # one franchise website
        family.append(member)
    return family


def _family(rng: random.Random, entities: Iterator[str]) -> tuple[str, list[Company]]:
    """The next group of companies: most are alone; some come with look-alikes. Returns (kind, companies)."""
    roll = rng.random()
    if roll < 0.04:
        return "non_latin", [_native_company(rng, next(entities))]
    if roll < 0.055:
        return "short_name", [_short_company(rng, next(entities))]
    first = _company(rng, next(entities))
    roll = rng.random()
    if roll < 0.03:
        return "brand_abroad", _brand_abroad(rng, first, entities)
    if roll < 0.065:
        return "group", _group(rng, first, entities)
    if roll < 0.09:
        return "branches", _branches(rng, first, entities)
    return "single", [first]


# --- Rendering one source record --------------------------------------------------------------------------------------


def _vary_words(rng: random.Random, name: str, language: str, abbreviate: float) -> str:
    """Abbreviations (International -> Intl) and '&' <-> 'and', word by word."""
    words = name.split(" ")
    changed = False
    for index, word in enumerate(words):
        if word in _ABBREVIATIONS and rng.random() < abbreviate:
            words[index], changed = rng.choice(_ABBREVIATIONS[word]), True
        elif word == "&" and rng.random() < 0.25:
            words[index], changed = rng.choice((_AND[language], "and", "+")), True
        elif word in _AND_WORDS and rng.random() < 0.25:
            words[index], changed = "&", True
    return " ".join(words) if changed else name


def _reorder(rng: random.Random, core: str) -> str:
    """A changed word order: the two sides of '&' swapped, or the last word first."""
    if " & " in core:
        left, right = core.split(" & ", 1)
        return f"{right} & {left}"
    words = core.split(" ")
    if len(words) >= 2:
        return " ".join([words[-1], *words[:-1]])
    return core


def _spell(rng: random.Random, text: str, system: str, *, upper: float, fold: float, typo: float) -> str:
    """Transliterated accents, case and typos: what passes through data entry and old systems."""
    if rng.random() < fold and not text.isascii():
        text = text.translate(_DIGRAPHS) if rng.random() < 0.6 else ascii_fold(text)
    roll = rng.random()
    if roll < upper:
        text = text.upper()
    elif roll < upper + 0.02:
        text = text.lower()
    elif roll < upper + 0.04:
        text = text.title()
    if rng.random() < typo:
        text = _typo(rng, text)
        if rng.random() < 0.1:
            text = _typo(rng, text)
    return text


def _legal_name(rng: random.Random, company: Company, system: str) -> str:
    erp = system == "netsuite"
    core = company.native[0] if company.native and rng.random() < 0.7 else company.core
    form = company.old_form if company.old_form and rng.random() < 0.5 else company.form
    variant = form.variants[0] if rng.random() < (0.6 if erp else 0.5) else rng.choice(form.variants)
    if rng.random() < 0.04:
        core = _reorder(rng, core)
    core = _vary_words(rng, core, company.language, 0.3)
    if form.prefix and rng.random() < 0.3:
        name = f"{variant} {core}"
    elif company.country.code in ("US", "GB") and rng.random() < 0.2:
        name = f"{core}, {variant}"
    else:
        name = f"{core} {variant}"
    return _spell(rng, name, system, upper=0.2 if erp else 0.03, fold=0.35 if erp else 0.08, typo=0.04)


def _trade_name(rng: random.Random, company: Company, system: str) -> str:
    if company.native and rng.random() < 0.7:
        name = company.native[1] if rng.random() < 0.3 else company.native[0]
    else:
        roll = rng.random()
        if roll < 0.45:
            name = company.brand
        elif roll < 0.85:
            name = company.core
        elif roll < 0.93 and company.core.count(" ") >= 2:  # NWL for Nordwind Werkzeug Logistik
            name = "".join(word[0] for word in company.core.split() if word[0].isalnum()).upper()
            name = name if len(name) >= 2 and name.casefold() not in _LEGAL_FORM_WORDS else company.core
        elif company.head_office.city.names[0] not in company.brand:
            name = f"{company.brand} {company.head_office.city.names[0]}"
        else:
            name = company.brand
        name = _vary_words(rng, name, company.language, 0.3)
    return _spell(rng, name, system, upper=0.1 if system == "netsuite" else 0.03, fold=0.08, typo=0.05)


def _postcode(rng: random.Random, country: Country, postcode: str) -> str:
    roll = rng.random()
    if roll < 0.15 and " " in postcode:
        return postcode.replace(" ", "")
    if roll < 0.19 and country.code in ("DE", "AT", "CH", "BE", "SE", "FI", "FR"):
        prefix = {"DE": "D", "AT": "A", "CH": "CH", "BE": "B", "SE": "SE", "FI": "FI", "FR": "F"}[country.code]
        return f"{prefix}-{postcode}"
    if roll < 0.25 and country.code == "US":
        return f"{postcode}-{_digits(rng, 4)}"
    if roll < 0.27 and country.code == "NL":
        return postcode.lower()
    return postcode


def _street_line(rng: random.Random, country: Country, site: Site) -> str:
    street = site.street
    if rng.random() < 0.35:
        for long, shorts in _STREET_ABBREVIATIONS[site.city.language or country.language]:
            index = street.rfind(long)  # a word ending: "Landstraßer Hauptstraße" -> "Landstraßer Hauptstr."
            end = index + len(long)
            if index >= 0 and (end == len(street) or street[end] == " "):
                street = street[:index] + rng.choice(shorts) + street[end:]
                break
    if country.code in ("GB", "US", "FR"):
        return f"{site.house}, {street}" if rng.random() < 0.1 else f"{site.house} {street}"
    return f"{street}, {site.house}" if rng.random() < 0.05 else f"{street} {site.house}"


def _address(rng: random.Random, company: Company, site: Site, system: str) -> dict[str, str]:
    country = company.country
    erp = system == "netsuite"
    line1 = site.po_box or _street_line(rng, country, site)
    city = site.city.names[0] if rng.random() < 0.85 else rng.choice(site.city.names)
    if erp and rng.random() < 0.2:
        line1, city = line1.upper(), city.upper()
    address = {"line1": line1}
    if site.unit and rng.random() < 0.7:
        address["line2"] = site.unit
    address["city"] = city
    address["postcode"] = _postcode(rng, country, site.postcode)
    region_share = 0.95 if country.code == "US" else 0.4 if country.code in ("IT", "ES", "CH") else 0.12
    if site.city.region and rng.random() < region_share:
        address["region"] = site.city.region
    roll = rng.random()
    if roll < (0.95 if erp else 0.8):
        address["country"] = country.code
    elif roll < (0.98 if erp else 0.92):
        address["country"] = country.names[1]
    else:
        address["country"] = country.names[-1]
    return address


def _group_digits(rng: random.Random, digits: str, country: Country) -> str:
    roll = rng.random()
    if country.code in ("FR", "BE") or roll < 0.15:
        if len(digits) % 2:
            return digits[:3] + " " + " ".join(digits[i : i + 2] for i in range(3, len(digits), 2))
        return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    if roll < 0.55:
        return digits
    middle = len(digits) // 2 if len(digits) >= 7 else 3
    return f"{digits[:middle]} {digits[middle:]}"


def _phone_text(rng: random.Random, country: Country, number: tuple[str, str]) -> str:
    """A phone number as people type it: national or international, in the country's usual groupings."""
    area, subscriber = number
    if rng.random() < 0.015:  # a digit lost on the way
        drop = rng.randrange(len(subscriber))
        subscriber = subscriber[:drop] + subscriber[drop + 1 :]
    if country.code == "US":
        head, tail = subscriber[:3], subscriber[3:]
        return rng.choice(
            (
                f"({area}) {head}-{tail}",
                f"{area}-{head}-{tail}",
                f"{area}.{head}.{tail}",
                f"+1 {area} {head} {tail}",
                f"+1 ({area}) {head}-{tail}",
                f"1-{area}-{head}-{tail}",
                f"{area}{head}{tail}",
            )
        )
    grouped = _group_digits(rng, subscriber, country)
    if country.code == "FR" and rng.random() < 0.2:
        grouped = grouped.replace(" ", ".")
    roll = rng.random()
    national = country.trunk + area
    if roll < 0.5:
        separator = rng.choice((" ", " ", "-", "/")) if country.code in ("DE", "AT", "CH") else " "
        if country.code == "FR":
            separator = "." if "." in grouped else " "
        return f"{national}{separator}{grouped}"
    if roll < 0.58 and country.code in ("DE", "AT", "CH", "GB"):
        return f"({national}) {grouped}"
    if roll < 0.83:
        return f"+{country.calling} {area} {grouped}"
    if roll < 0.9 and country.trunk:
        return f"+{country.calling} ({country.trunk}){area} {grouped}"
    if roll < 0.95:
        return f"00{country.calling} {area} {grouped}"
    return f"+{country.calling}{area}{subscriber}"


def _tax_text(rng: random.Random, value: str) -> tuple[str, bool]:
    """A tax ID as a person or a system writes it, and whether it still carries its country prefix."""
    code = value[:2]
    if rng.random() < 0.015:  # a mistyped digit: the check digit (where there is one) no longer fits
        positions = [index for index, char in enumerate(value) if char.isdigit()]
        index = rng.choice(positions)
        value = value[:index] + str((int(value[index]) + rng.randint(1, 9)) % 10) + value[index + 1 :]
    roll = rng.random()
    if value[:2].isdigit():  # a US EIN
        return (value if roll < 0.6 else value.replace("-", "")), False
    if code == "CH":
        digits = value[3:]
        dotted = f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]}"
        if roll < 0.35:
            return dotted, True
        if roll < 0.6:
            return f"{dotted} {rng.choice(('MWST', 'MWST', 'TVA', 'IVA'))}", True
        return (value, True) if roll < 0.85 else (f"CHE {digits[:3]} {digits[3:6]} {digits[6:]}", True)
    body = value[2:]
    if roll < 0.55:
        return value, True
    if roll < 0.7:
        groups = " ".join(body[i : i + 3] for i in range(0, len(body), 3))
        return f"{code} {groups}", True
    if roll < 0.8:
        return f"{code} {body}", True
    if roll < 0.85:
        return value.lower(), True
    if code == "BE":
        return f"{body[:4]}.{body[4:7]}.{body[7:]}", False
    if code == "ES":
        return f"{body[0]}-{body[1:]}", False
    return body, False


def _tax_ids(rng: random.Random, company: Company) -> list[dict[str, str]]:
    text, prefixed = _tax_text(rng, company.tax_id)
    entry = {"value": text}
    if not prefixed or rng.random() < 0.6:
        entry["country"] = company.country.code
    return [entry]


def _website(rng: random.Random, domain: str) -> str:
    return rng.choice(
        (
            f"https://www.{domain}",
            f"https://www.{domain}",
            f"www.{domain}",
            f"http://www.{domain}",
            domain,
            f"https://{domain}/",
            f"https://www.{domain}/{rng.choice(('en', 'de', 'home', 'index.html'))}",
        )
    )


def _emails(rng: random.Random, company: Company, system: str) -> list[str]:
    if company.free_mail:
        local = _slug(company.brand.split()[0]) or "office"
        return [f"{local}{rng.choice(('', '', '.info', str(rng.randint(1, 99))))}@{company.free_mail}"]
    if system == "netsuite":
        local = "info" if rng.random() < 0.3 else rng.choice(_ACCOUNTING_LOCALS[company.language])
    else:
        local = rng.choice(company.people) if rng.random() < 0.4 else rng.choice(_CONTACT_LOCALS)
    email = f"{local}@{company.domain}"
    return [email.capitalize() if rng.random() < 0.03 else email]


def _record(rng: random.Random, company: Company, system: str) -> dict[str, Any]:
    """One source record of a company, as the given system would hold it (source_id filled in later)."""
    erp = system == "netsuite"
    record: dict[str, Any] = {"source_id": "", "kind": "organisation"}
    if erp:
        if rng.random() < 0.97:
            record["legal_name"] = _legal_name(rng, company, system)
        if rng.random() < 0.1 or "legal_name" not in record:
            record["trade_name"] = _trade_name(rng, company, system)
    else:
        if rng.random() < 0.45:
            record["legal_name"] = _legal_name(rng, company, system)
        if rng.random() < 0.8 or "legal_name" not in record:
            record["trade_name"] = _trade_name(rng, company, system)
    if company.tax_id and rng.random() < (0.88 if erp else 0.12):
        record["tax_ids"] = _tax_ids(rng, company)
    stale = company.old_site is not None and rng.random() < 0.5
    head_office = company.old_site if stale and company.old_site else company.head_office
    billing = company.billing or head_office
    if rng.random() < (0.95 if erp else 0.15):
        record["legal_address"] = _address(rng, company, head_office, system)
    if rng.random() < (0.5 if erp else 0.85):
        record["billing_address"] = _address(rng, company, billing, system)
    if company.warehouse and rng.random() < (0.5 if erp else 0.6):
        record["shipping_address"] = _address(rng, company, company.warehouse, system)
    if not any(key in record for key in ("legal_address", "billing_address", "shipping_address")):
        # Both systems require at least a country; a CRM account often has little more.
        address = _address(rng, company, billing, system)
        if rng.random() < 0.4:
            address = (
                {key: address[key] for key in ("city", "country")}
                if rng.random() < 0.6
                else {"country": address["country"]}
            )
        record["billing_address"] = address
    if rng.random() < (0.45 if erp else 0.85):
        number = company.old_phone if stale and company.old_phone else company.phone
        roll = rng.random()
        if company.phone2 and roll < 0.1:
            record["phones"] = [_phone_text(rng, company.country, company.phone2)]
        elif company.phone2 and roll < 0.25:
            record["phones"] = [_phone_text(rng, company.country, number)]
            record["phones"].append(_phone_text(rng, company.country, company.phone2))
        else:
            record["phones"] = [_phone_text(rng, company.country, number)]
    if (company.domain or company.free_mail) and rng.random() < (0.6 if erp else 0.4):
        record["emails"] = _emails(rng, company, system)
    if company.domain and rng.random() < (0.15 if erp else 0.75):
        record["website"] = _website(rng, company.domain)
    if rng.random() < (0.1 if erp else 0.85):
        record["industry"] = company.trade[-1] if erp else company.trade[-2]
    if erp:
        record["status"] = company.status
        if rng.random() < 0.9:
            record["payment_terms"] = company.terms
    else:
        if rng.random() < 0.25:
            record["status"] = "active" if company.status == "active" or rng.random() < 0.5 else company.status
        if rng.random() < 0.03:
            record["payment_terms"] = company.terms
    return record


def _record_count(rng: random.Random) -> int:
    roll = rng.random()
    return 1 if roll < 0.55 else 2 if roll < 0.83 else 3 if roll < 0.95 else 4


def _systems(rng: random.Random, count: int) -> list[str]:
    """Which system holds each record of a company: usually both, sometimes two records in one."""
    if count == 1:
        return ["salesforce" if rng.random() < 0.55 else "netsuite"]
    if rng.random() < 0.8:
        return ["salesforce", "netsuite"] + [
            rng.choice(("salesforce", "salesforce", "netsuite")) for _ in range(count - 2)
        ]
    return [rng.choice(("salesforce", "salesforce", "netsuite"))] * count


# --- The stream -------------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a run produced (filled in while the records stream out)."""

    records: int = 0
    entities: int = 0
    per_system: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEMS, 0))
    duplicated_entities: int = 0  # entities with two or more records
    true_pairs: int = 0  # pairs of records of the same entity
    cross_system_pairs: int = 0
    families: dict[str, int] = field(default_factory=dict)  # entities per kind of group ("single", "group" ...)

    def lines(self) -> list[str]:
        share = self.duplicated_entities / self.entities if self.entities else 0.0
        systems = ", ".join(f"{system} {count:,}" for system, count in self.per_system.items())
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(self.families.items()))
        return [
            f"records {self.records:,} ({systems}); entities {self.entities:,}",
            f"duplicated entities {self.duplicated_entities:,} ({share:.1%} of entities have 2+ records)",
            f"true duplicate pairs {self.true_pairs:,} ({self.cross_system_pairs:,} across systems, "
            f"{self.true_pairs - self.cross_system_pairs:,} within one system)",
            f"entities by kind of group: {kinds}",
        ]


def companies(count: int, *, seed: int = 42, summary: Summary | None = None) -> Iterator[dict[str, Any]]:
    """`count` source records, ``{"system", "entity", "record"}``, the same for the same seed and count.

    Memory stays flat: companies are made one group at a time and their records leave through a shuffle buffer of
    SHUFFLE_BUFFER records. Pass a Summary to have it filled in as the stream is consumed.
    """
    rng = random.Random(seed)
    summary = summary if summary is not None else Summary()
    numbers = iter(range(1, 10**9))
    entities = (f"C{number:07d}" for number in numbers)
    buffer: list[tuple[str, str, dict[str, Any]]] = []
    next_id = {"salesforce": 401_234_567, "netsuite": 10_000}

    def emit(item: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
        system, entity, record = item
        number = next_id[system]
        next_id[system] = number + (1 if system == "salesforce" else rng.choice((1, 1, 1, 2, 3)))
        record["source_id"] = salesforce_id(number) if system == "salesforce" else str(number)
        return {"system": system, "entity": entity, "record": record}

    made = 0
    while made < count:
        kind, family = _family(rng, entities)
        for company in family:
            systems = _systems(rng, _record_count(rng))[: count - made]
            if not systems:
                break
            made += len(systems)
            summary.records += len(systems)
            summary.entities += 1
            summary.families[kind] = summary.families.get(kind, 0) + 1
            for system in systems:
                summary.per_system[system] += 1
            if len(systems) > 1:
                summary.duplicated_entities += 1
                summary.true_pairs += len(systems) * (len(systems) - 1) // 2
                crm = systems.count("salesforce")
                summary.cross_system_pairs += crm * (len(systems) - crm)
            for system in systems:
                buffer.append((system, company.entity, _record(rng, company, system)))
                if len(buffer) >= SHUFFLE_BUFFER:
                    index = rng.randrange(len(buffer))
                    buffer[index], buffer[-1] = buffer[-1], buffer[index]
                    yield emit(buffer.pop())
    rng.shuffle(buffer)
    for item in buffer:
        yield emit(item)


# --- Output -----------------------------------------------------------------------------------------------------------


def _first_address(record: dict[str, Any]) -> dict[str, str]:
    for key in ("legal_address", "billing_address", "shipping_address"):
        if record.get(key):
            return record[key]
    return {}


def country_code(spelling: str) -> str:
    """The ISO code of a country as the generator spells it ("Deutschland" -> "DE"); unknown spellings unchanged."""
    return _COUNTRY_CODES.get(spelling.strip().casefold(), spelling)


def flat_row(system: str, record: dict[str, Any], entity: str) -> dict[str, str]:
    """One record flattened to FLAT_COLUMNS, for Splink: the first address, phone, email and tax ID."""
    address = _first_address(record)
    tax = (record.get("tax_ids") or [{}])[0]
    tax_value = tax.get("value", "")
    tax_country = country_code(tax["country"]) if tax.get("country") else ""
    if not tax_country and tax_value[:2].isalpha() and tax_value[:2].upper() in _BY_CODE:
        tax_country = tax_value[:2].upper()
    return {
        "unique_id": f"{system}:{record['source_id']}",
        "system": system,
        "entity": entity,
        "legal_name": record.get("legal_name", ""),
        "trade_name": record.get("trade_name", ""),
        "name": record.get("legal_name") or record.get("trade_name", ""),
        "tax_id": tax_value,
        "tax_country": tax_country,
        "country": country_code(address["country"]) if address.get("country") else "",
        "city": address.get("city", ""),
        "postcode": address.get("postcode", ""),
        "street": address.get("line1", ""),
        "phone": (record.get("phones") or [""])[0],
        "email": (record.get("emails") or [""])[0],
        "website": record.get("website", ""),
        "industry": record.get("industry", ""),
    }


def write(
    count: int,
    *,
    seed: int = 42,
    out: IO[str] | None = None,
    truth: IO[str] | None = None,
    flat: IO[str] | None = None,
) -> Summary:
    """Generate `count` records into whichever of the JSONL, truth CSV and flat CSV streams are given."""
    summary = Summary()
    truth_writer = csv.writer(truth, lineterminator="\n") if truth else None
    if truth_writer:
        truth_writer.writerow(("system", "source_id", "entity"))
    flat_writer = csv.DictWriter(flat, fieldnames=FLAT_COLUMNS, lineterminator="\n") if flat else None
    if flat_writer:
        flat_writer.writeheader()
    for item in companies(count, seed=seed, summary=summary):
        system, record, entity = item["system"], item["record"], item["entity"]
        if out:
            out.write(json.dumps({"system": system, "record": record}, ensure_ascii=False) + "\n")
        if truth_writer:
            truth_writer.writerow((system, record["source_id"], entity))
        if flat_writer:
            flat_writer.writerow(flat_row(system, record, entity))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, help="how many source records")
    parser.add_argument("--out", help="JSONL file of {system, record} lines; - for stdout (the default when no file)")
    parser.add_argument("--truth", help="CSV file: system,source_id,entity")
    parser.add_argument("--flat-csv", help="CSV file, one flattened row per record with the true entity (Splink)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.count < 0:
        parser.error("count must be 0 or more")
    out_path = args.out or (None if args.truth or args.flat_csv else "-")
    with ExitStack() as stack:

        def open_file(path: str | None) -> IO[str] | None:
            if path is None:
                return None
            if path == "-":
                return sys.stdout
            return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))

        summary = write(
            args.count,
            seed=args.seed,
            out=open_file(out_path),
            truth=open_file(args.truth),
            flat=open_file(args.flat_csv),
        )
    for line in summary.lines():
        print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
