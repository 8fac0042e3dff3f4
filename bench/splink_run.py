"""Splink (DuckDB backend) on a benchmark data set, scored against the truth with bench/metrics.py.

Runs in its own virtualenv, because Splink's pins must not touch the hub's (``bash bench/setup_splink.sh``):

    .venv-splink/bin/python bench/splink_run.py --dataset febrl3 --input /tmp/febrl/febrl3.csv
    .venv-splink/bin/python bench/splink_run.py --dataset febrl4 --input /tmp/febrl/febrl4_a.csv /tmp/febrl/febrl4_b.csv
    .venv-splink/bin/python bench/splink_run.py --dataset companies --input /tmp/companies.csv --threshold 0.9 --json
    .venv-splink/bin/python bench/splink_run.py --dataset persons --input /tmp/persons.csv
    .venv-splink/bin/python bench/splink_run.py --dataset val_organisations --input /tmp/val/flat/val_organisations.csv

Inputs are CSV files with a ``unique_id`` column and an ``entity`` truth column (``bench/febrl.py --out-dir``,
``bench/generate_companies.py --flat-csv``, ``bench/generate_persons.py --csv`` and, for the shared validation set's
``val_organisations``, ``val_persons`` and ``val_products``, ``bench/validation_flat.py``); every column is read as text
and ``entity`` is dropped before Splink sees the data. It imports no Django and no project code, only bench/metrics.py
(pure Python, loaded by path).

Each data set gets the kind of model Splink's documentation and examples build (the FEBRL ones follow Splink's own
FEBRL3 and FEBRL4 examples; ``persons``, FEBRL-like data at up to a million records, FEBRL3's model with blocking
rules that scale): blocking rules for prediction, comparisons from ``splink.comparison_library``, lambda
(the probability that two random records match) from deterministic rules, u from random sampling, m from two or
more expectation-maximisation sessions over different blocking rules, then ``predict`` at the threshold and
``cluster_pairwise_predictions_at_threshold`` (connected components) at the same threshold: ``--threshold``, else the
model's (0.5 for the ``val_*`` models, 0.9 for the others). The ``val_*`` models clean the raw export text in their
prepare SQL (see the section on the validation set below).

Printed: blocking recall, the share of true pairs (records with the same ``entity``) that at least one prediction
blocking rule brings into comparison (no threshold can find the others; counted exactly, see blocking_recall); pairwise
P/R/F1 of the predicted pairs at the threshold; pairwise and B-cubed P/R/F1 of the clusters (the clusters add the
transitive pairs, so cluster precision can fall below pair precision); wall time of loading,
training, prediction and clustering; peak RSS (getrusage maxrss of this process and of its children: over the whole
run, and up to the end of clustering, before the truth is read and the result scored). ``--json``
prints one JSON object on one line (the last line of stdout) for a driver in the hub's virtualenv.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

BENCH = Path(__file__).resolve().parent
TRUTH_COLUMN = "entity"


def _load_metrics() -> ModuleType:
    """bench/metrics.py by path: bench/ is not a package and this venv does not have the project installed."""
    spec = importlib.util.spec_from_file_location("bench_metrics", BENCH / "metrics.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {BENCH / 'metrics.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class body runs
    spec.loader.exec_module(module)
    return module


metrics = _load_metrics()


# --- Models -----------------------------------------------------------------------------------------------------------


@dataclass
class Model:
    """What Splink is told for one data set, and the SQL that prepares its input."""

    link_type: str
    prepare_sql: str  # SELECT over the raw text table ``{raw}``; must keep unique_id
    settings: SettingsCreator
    deterministic_rules: list[Any]
    recall: float
    em_rules: list[Any]
    em_without_term_frequencies: bool = False
    threshold: float = 0.9  # match probability for pairs and clusters unless --threshold says otherwise
    notes: list[str] = field(default_factory=list)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _nullif_blank(column: str) -> str:
    return f"nullif(trim({column}), '')"


# FEBRL: the values are already lower case and trimmed; blanks become NULL.
_FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
# S608 below: every SQL string here is built from this file's constants and table names it makes itself; the only
# outside value, an input path, is quoted as a string literal.
_FEBRL_SELECT = ", ".join(f"{_nullif_blank(column)} as {column}" for column in _FEBRL_FIELDS)
_FEBRL_SQL = f"select unique_id, {_FEBRL_SELECT} from {{raw}}"  # noqa: S608


def _febrl3_comparisons() -> list[Any]:
    return [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ]


_FEBRL3_DETERMINISTIC_RULES = (
    block_on("soc_sec_id"),
    block_on("given_name", "surname", "date_of_birth"),
    "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
)


def febrl3_model() -> Model:
    """Splink's FEBRL3 example (docs/demos/examples/duckdb/febrl3): dedupe_only."""
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=_febrl3_comparisons(),
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=list(_FEBRL3_DETERMINISTIC_RULES),
        recall=0.9,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
    )


def persons_model() -> Model:
    """FEBRL-like persons at scale (bench/generate_persons.py, FEBRL3's columns): FEBRL3's model, other blocking.

    FEBRL3's blocking rules make far too many pairs at a million records: given_name alone is 1.7 billion pairs,
    postcode 0.5 billion, date_of_birth 14 million. As Splink's docs advise for large data, each rule here combines
    keys, for 17.5 million pairs in all at 1,000,000 records (``count_comparisons_from_blocking_rules``), which
    still hold 99.5% of the true pairs of bench/generate_persons.py's data (measured at 1,000,000 records, seed 42;
    FEBRL3's five rules hold 99.9% there). The EM sessions block on combined keys too (FEBRL3's date_of_birth and
    postcode would be 14 and 530 million pairs); together they leave no comparison untrained.
    """
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth", "substr(surname, 1, 1)"),
        block_on("date_of_birth", "substr(given_name, 1, 1)"),
        block_on("date_of_birth", "postcode"),
        block_on("postcode", "substr(surname, 1, 2)"),
        block_on("street_number", "address_1"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=_febrl3_comparisons(),
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=list(_FEBRL3_DETERMINISTIC_RULES),
        recall=0.9,
        em_rules=[
            block_on("date_of_birth", "substr(surname, 1, 1)"),
            block_on("postcode", "substr(given_name, 1, 2)"),
        ],
        notes=["FEBRL3's comparisons and lambda rules; blocking and EM rules that scale to 1,000,000 records"],
    )


def febrl4_model() -> Model:
    """Splink's FEBRL4 example, its 'detailed' model (docs/demos/examples/duckdb/febrl4): link_only of A and B."""
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )
    return Model(
        link_type="link_only",
        prepare_sql=_FEBRL_SQL,
        settings=settings,
        deterministic_rules=[block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
        em_without_term_frequencies=True,
    )


# Company names: accents folded, dots dropped ("G.m.b.H." -> "gmbh"), other punctuation to spaces, legal forms
# removed, so that "Müller Logistik GmbH" and "MUELLER LOGISTIK G.m.b.H." are close. Splink leaves data cleaning to
# the user; this is the usual preparation its docs recommend (standardise before comparing), nothing tuned to data.
_LEGAL_FORMS = "|".join(
    form.replace(" ", " +")  # the words are padded with two spaces each when matched, see _clean_name
    for form in (
        "gesellschaft mit beschrankter haftung",
        *("gmbh", "mbh", "ag", "kg", "ohg", "ug", "gbr", "ev", "aktiengesellschaft", "co", "ltd", "limited", "plc"),
        *("llp", "inc", "incorporated", "llc", "corp", "corporation", "sas", "sarl", "sa", "sasu", "eurl", "snc"),
        *("bv", "nv", "vof", "srl", "spa", "sl", "slu", "sae", "sprl", "bvba", "cv", "se"),
    )
)


def _clean_text(column: str) -> str:
    folded = f"lower(strip_accents(replace(replace(coalesce({column}, ''), '.', ''), 'ß', 'ss')))"
    spaced = f"regexp_replace({folded}, '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(trim(regexp_replace({spaced}, '\\s+', ' ', 'g')), '')"


def _clean_name(column: str) -> str:
    spaced = _clean_text(column)
    # Words padded with two spaces each, so that adjacent legal forms ("gmbh co kg") all match without lookahead
    # (DuckDB's regexes are RE2: no lookaround).
    padded = f"'  ' || replace(coalesce({spaced}, ''), ' ', '  ') || '  '"
    stripped = f"regexp_replace({padded}, ' ({_LEGAL_FORMS}) ', ' ', 'g')"
    return f"nullif(trim(regexp_replace({stripped}, '\\s+', ' ', 'g')), '')"


_COMPANIES_SQL = f"""
select
    unique_id,
    {_nullif_blank("system")} as system,
    {_clean_name("coalesce(nullif(trim(legal_name), ''), nullif(trim(name), ''), trade_name)")} as name_clean,
    nullif(regexp_replace(upper(coalesce(tax_id, '')), '[^A-Z0-9]', '', 'g'), '') as tax_id_clean,
    nullif(upper(trim(coalesce(country, tax_country, ''))), '') as country,
    {_clean_text("city")} as city_clean,
    nullif(regexp_replace(upper(coalesce(postcode, '')), '[^A-Z0-9]', '', 'g'), '') as postcode_clean,
    {_clean_text("street")} as street_clean,
    nullif(right(regexp_replace(split_part(coalesce(phone, ''), ';', 1), '[^0-9]', '', 'g'), 9), '') as phone_clean,
    nullif(lower(trim(split_part(coalesce(email, ''), ';', 1))), '') as email,
    nullif(
        regexp_extract(lower(trim(coalesce(website, ''))), '^(?:[a-z]+://)?(?:www\\.)?([^/:?#]+)', 1), ''
    ) as website_domain,
    {_nullif_blank("industry")} as industry
from {{raw}}
"""  # noqa: S608


def companies_model() -> Model:
    """Company master data (flattened hub records): dedupe_only across all systems."""
    blocking_rules = [
        block_on("tax_id_clean"),
        block_on("name_clean"),
        block_on("phone_clean"),
        block_on("email"),
        block_on("website_domain"),
        block_on("postcode_clean", "substr(name_clean, 1, 3)"),
        block_on("country", "city_clean", "substr(name_clean, 1, 5)"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.JaroWinklerAtThresholds("name_clean", [0.95, 0.88, 0.7]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("tax_id_clean"),
            cl.ExactMatch("country").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city_clean", [0.9]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode_clean").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("street_clean", [0.95, 0.85]),
            cl.ExactMatch("phone_clean"),
            cl.EmailComparison("email"),
            cl.ExactMatch("website_domain"),
        ],
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_COMPANIES_SQL,
        settings=settings,
        deterministic_rules=[block_on("tax_id_clean"), block_on("name_clean", "postcode_clean")],
        recall=0.8,
        em_rules=[
            block_on("tax_id_clean"),
            block_on("postcode_clean", "substr(name_clean, 1, 3)"),
            block_on("phone_clean"),
        ],
        notes=["PostcodeComparison is UK-only (its levels are UK sector/district regexes), so postcodes match exactly"],
    )


# --- The shared validation set (bench/validation_flat.py) -------------------------------------------------------------
#
# Raw text as the CRM and ERP export it (bench/validation_flat.py does no cleaning), so the prepare SQL below does the
# standardisation Splink's docs leave to the user and recommend before comparing: case and accents folded (any script
# kept: Greek, Cyrillic and Japanese names are compared as they are), legal forms and filler words dropped from company
# names, country spellings to ISO codes, postcodes without country prefixes and ZIP+4, phones as their last 9 digits,
# tax IDs as upper-case letters and digits without the country prefix, e-mail and web domains (free-mail domains say
# nothing about a company), units of measure to codes. Nothing here reads the truth.
#
# These strings go through str.format (``{raw}``), so the finished SELECT doubles its braces (_select_from_raw).

# Legal forms (and the connectives and articles that come and go: "Smith & Sons" / "Smith and Sons", "The"), as
# folded words. Spellings from the registers of the countries the data covers; Greek and Bulgarian also in their script.
_VAL_LEGAL_FORM_WORDS = """
    gesellschaft mit beschrankter haftung, gesellschaft mbh, gmbh, gesmbh, mbh, ag, aktiengesellschaft, kg, ohg,
    kommanditgesellschaft, offene handelsgesellschaft, offene gesellschaft, og, ug, haftungsbeschrankt, haftungsbeschr,
    ek, e k, ekfm, e kfm, eu, e u, gbr, ev, se, societas europaea, co, cie, u,
    sa, sas, sasu, sarl, sa rl, eurl, snc, sci, societe par actions simplifiee, societe anonyme, nv, bv, bvba, sprl,
    srl, vof, besloten vennootschap, spa, sapa, sociedad limitada, sociedad anonima, sl, slu, sll,
    sp z oo, sp z o o, spzoo, sp j, spj, spolka z oo, spolka jawna, spolka akcyjna,
    ab, ab publ, publ, aktiebolag, hb, handelsbolag, kb, kommanditbolag, oy, oyj, ky, osakeyhtio, kommandiittiyhtio,
    as, a s, aps, anpartsselskab, aktieselskab, is, i s,
    ltd, limited, plc, public limited company, llp, limited liability partnership, inc, incorporated, llc, corp,
    corporation, company, pty, proprietary,
    kk, kabushiki kaisha, gk, godo kaisha, yk, yugen kaisha, ae, epe, ike, pc, oe, ee, eood, ood, ad, et, jsc,
    αε, επε, ικε, οε, εε, еоод, оод, ад, ет,
    and, und, et, en, y, e, och, og, ja, the
"""
_VAL_LEGAL_FORMS = "|".join(
    form.replace(" ", " +")  # words padded with two spaces each when matched, as in _clean_name
    # longest first: RE2 takes the first alternative that matches, and "sa rl" must win over "sa"
    for form in sorted({form.strip() for form in _VAL_LEGAL_FORM_WORDS.split(",")}, key=lambda form: (-len(form), form))
)
# Japanese legal forms are written without spaces ("株式会社高橋総研").
_NATIVE_LEGAL_FORMS = "株式会社|合同会社|有限会社"

# ISO 3166 codes by the spellings exports use: alpha-2, alpha-3, English and native names (folded to a-z).
_COUNTRY_SPELLINGS = {
    "DE": ("deu", "ger", "germany", "deutschland", "bundesrepublikdeutschland", "allemagne"),
    "AT": ("aut", "austria", "osterreich", "oesterreich"),
    "CH": ("che", "switzerland", "schweiz", "suisse", "svizzera", "swiss"),
    "FR": ("fra", "france"),
    "NL": ("nld", "netherlands", "thenetherlands", "nederland", "holland"),
    "BE": ("bel", "belgium", "belgique", "belgie", "belgien"),
    "IT": ("ita", "italy", "italia", "italien"),
    "ES": ("esp", "spain", "espana"),
    "PL": ("pol", "poland", "polska"),
    "SE": ("swe", "sweden", "sverige"),
    "FI": ("fin", "finland", "suomi"),
    "DK": ("dnk", "denmark", "danmark"),
    "GB": ("gbr", "uk", "unitedkingdom", "greatbritain", "britain", "england", "scotland", "wales", "northernireland"),
    "US": ("usa", "unitedstates", "unitedstatesofamerica", "america"),
    "AU": ("aus", "australia"),
    "JP": ("jpn", "japan", "nippon"),
    "GR": ("grc", "greece", "hellas", "ellada", "el"),
    "BG": ("bgr", "bulgaria"),
}

# Free-mail and ISP mail domains (their first label): an address there says nothing about the company.
_FREE_MAIL = "|".join(
    (
        *("gmail", "googlemail", "yahoo", "ymail", "hotmail", "outlook", "live", "msn", "aol", "icloud", "me", "mac"),
        *("gmx", "web", "t-online", "freenet", "posteo", "mailbox", "arcor", "online", "chello", "aon", "bluewin"),
        *("orange", "free", "wanadoo", "laposte", "sfr", "neuf", "libero", "virgilio", "tiscali", "alice", "tim"),
        *("telefonica", "terra", "movistar", "ziggo", "kpnmail", "hetnet", "home", "planet", "xs4all", "skynet"),
        *("telenet", "sky", "btinternet", "virginmedia", "talktalk", "ntlworld", "telia", "bredband", "comhem"),
        *("wp", "onet", "o2", "interia", "comcast", "verizon", "att", "sbcglobal", "bigpond", "optusnet"),
        *("protonmail", "proton", "mail", "yandex", "zoho"),
    )
)

# Units of measure: words and abbreviations to the UN/ECE-style codes ERPs use.
_UNIT_CODES = {
    "EA": ("each", "pc", "pcs", "piece", "pieces", "stk", "stuck", "st", "unit", "units", "item"),
    "BX": ("box", "boxes", "karton"),
    "PK": ("pack", "packs", "package", "packages", "pkg", "packung"),
    "RL": ("roll", "rolls", "rolle"),
    "PR": ("pair", "pairs", "paar"),
    "CT": ("ctn", "carton", "cartons", "case"),
}


def _case_map(key: str, codes: dict[str, tuple[str, ...]]) -> str:
    """CASE over ``key`` (already folded) giving the code whose spellings contain it; else NULL."""
    whens = " ".join(
        f"when {_sql_string(spelling)} then {_sql_string(code)}"
        for code, spellings in codes.items()
        for spelling in (code.lower(), *spellings)
    )
    return f"case {key} {whens} end"


def _fold(column: str) -> str:
    """Lower case, accents stripped (and the letters strip_accents keeps: ß, æ, ø, ł, đ, œ), dots dropped ("G.m.b.H."
    -> "gmbh"), anything but letters and digits of any script to single spaces; NULL when nothing is left."""
    text = f"lower(coalesce({column}, ''))"
    for letter, latin in (("ß", "ss"), ("æ", "ae"), ("ø", "o"), ("ł", "l"), ("đ", "d"), ("œ", "oe")):
        text = f"replace({text}, '{letter}', '{latin}')"
    text = f"replace(strip_accents({text}), '.', '')"
    return f"nullif(trim(regexp_replace({text}, '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')), '')"


def _val_company_name(column: str) -> str:
    """A company name folded, without legal forms and filler words; NULL when nothing else is left."""
    folded = _fold(f"regexp_replace({column}, '{_NATIVE_LEGAL_FORMS}', ' ', 'g')")
    padded = f"'  ' || replace(coalesce({folded}, ''), ' ', '  ') || '  '"
    stripped = f"regexp_replace({padded}, ' ({_VAL_LEGAL_FORMS}) ', ' ', 'g')"
    return f"nullif(trim(regexp_replace({stripped}, '\\s+', ' ', 'g')), '')"


def _upper_alnum(column: str) -> str:
    return f"nullif(regexp_replace(upper(coalesce({column}, '')), '[^A-Z0-9]', '', 'g'), '')"


def _tax_id(column: str) -> str:
    """Upper-case letters and digits; Swiss MWST/TVA/IVA suffix and a leading two-letter country prefix dropped, so
    "DE 123 456 789", "DE123456789" and "123456789" are equal."""
    alnum = f"regexp_replace(upper(coalesce({column}, '')), '[^A-Z0-9]', '', 'g')"
    return f"nullif(regexp_replace(regexp_replace({alnum}, '(MWST|TVA|IVA)$', ''), '^[A-Z]{{2}}', ''), '')"


def _country(column: str) -> str:
    key = f"regexp_replace(lower(strip_accents(coalesce({column}, ''))), '[^a-z]', '', 'g')"
    return f"coalesce({_case_map(key, _COUNTRY_SPELLINGS)}, nullif(upper({key}), ''))"


def _postcode(column: str) -> str:
    """Upper-case letters and digits, without an old country prefix ("D-80331", "CH-8004") or a ZIP+4 suffix."""
    trimmed = f"upper(trim(coalesce({column}, '')))"
    unprefixed = f"regexp_replace({trimmed}, '^[A-Z]{{1,3}}-', '')"
    zip5 = f"regexp_replace({unprefixed}, '^([0-9]{{5}})-[0-9]{{4}}$', '\\1')"
    return f"nullif(regexp_replace({zip5}, '[^A-Z0-9]', '', 'g'), '')"


def _phone(column: str) -> str:
    """The last 9 digits, after an extension ("x123", "ext. 12", "poste 12") is cut off; NULL for fewer than 6 digits
    or only zeros ("n/a", "000000", truncated numbers)."""
    no_extension = f"regexp_replace(lower(coalesce({column}, '')), '\\s*(ext\\.?|x|poste|#)\\s*[0-9]+\\s*$', '')"
    digits = f"regexp_replace({no_extension}, '[^0-9]', '', 'g')"
    return f"case when length({digits}) >= 6 and {digits} !~ '^0+$' then right({digits}, 9) end"


def _email(column: str) -> str:
    """Lower case, a "+tag" dropped; Gmail's dots ignored and googlemail.com as gmail.com."""
    email = f"lower(trim(coalesce({column}, '')))"
    local = f"regexp_replace(split_part({email}, '@', 1), '\\+.*$', '')"
    domain = f"replace(split_part({email}, '@', 2), 'googlemail.com', 'gmail.com')"
    local = f"case when {domain} = 'gmail.com' then replace({local}, '.', '') else {local} end"
    return f"case when {email} like '%_@_%' then {local} || '@' || {domain} end"


def _company_domain(email: str, website: str) -> str:
    """The web site's host without www., else the e-mail's domain unless it is a free-mail domain."""
    host = f"regexp_extract(lower(trim(coalesce({website}, ''))), '^(?:[a-z]+://)?(?:www\\.)?([^/:?#\\s]+)', 1)"
    mail = f"lower(trim(split_part(coalesce({email}, ''), '@', 2)))"
    company_mail = f"case when {mail} !~ '^({_FREE_MAIL})\\.' then {mail} end"
    return f"coalesce(nullif({host}, ''), nullif({company_mail}, ''))"


def _select_from_raw(select: str) -> str:
    """A SELECT list over the raw table, braces escaped for str.format."""
    return "select " + select.replace("{", "{{").replace("}", "}}") + " from {raw}"  # noqa: S608


_VAL_ORGANISATIONS_SQL = _select_from_raw(
    f"""
    unique_id,
    system,
    {_val_company_name("coalesce(nullif(trim(legal_name), ''), trade_name)")} as name_clean,
    {_val_company_name("coalesce(nullif(trim(trade_name), ''), legal_name)")} as trade_clean,
    {_tax_id("tax_id")} as tax_id_clean,
    {_country("country")} as country,
    {_fold("city")} as city_clean,
    {_postcode("postcode")} as postcode_clean,
    {_fold("street")} as street_clean,
    {_phone("phone")} as phone_clean,
    nullif(list_filter([{_phone("phone")}, {_phone("phone_2")}], lambda x: x is not null), []) as phones,
    nullif({_email("email")}, '') as email_clean,
    {_company_domain("email", "website")} as domain,
    nullif(trim(industry), '') as industry
    """
)


def _best_of_names(columns: tuple[str, str], threshold: float) -> str:
    """Jaro-Winkler of the closest pair of names (legal or trade on either side) at least ``threshold``."""
    left, right = columns
    pairs = [(f"{a}_l", f"{b}_r") for a in (left, right) for b in (left, right)]
    similarities = ", ".join(f"coalesce(jaro_winkler_similarity({a}, {b}), 0)" for a, b in pairs)
    return f"greatest({similarities}) >= {threshold}"


def _organisation_name_comparison() -> Any:
    """Names: the legal name (or the trade name where there is none) and the trade name (or the legal name), compared
    as Splink's JaroWinklerAtThresholds would, with each level taking the closest of the four legal/trade pairings (a
    CRM trade name against an ERP legal name is the usual case); term frequencies on the exact level."""
    names = ("name_clean", "trade_clean")
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_clean"),
            cll.ExactMatchLevel("name_clean").configure(tf_adjustment_column="name_clean"),
            cll.CustomLevel(_best_of_names(names, 1.0), "Exact match on a legal or trade name"),
            cll.CustomLevel(_best_of_names(names, 0.95), "Jaro-Winkler >= 0.95 on a legal or trade name"),
            cll.CustomLevel(_best_of_names(names, 0.88), "Jaro-Winkler >= 0.88 on a legal or trade name"),
            cll.CustomLevel(_best_of_names(names, 0.7), "Jaro-Winkler >= 0.7 on a legal or trade name"),
            cll.ElseLevel(),
        ],
    )


def _email_domain_comparison() -> Any:
    """The e-mail address and the company's domain (web site, else a non-free-mail e-mail domain) as one comparison
    (an equal address implies an equal domain): exact address, exact domain (term frequencies: a group's shared .com
    says less than a one-company domain), else; NULL when a side has neither."""
    return cl.CustomComparison(
        output_column_name="email_domain",
        comparison_levels=[
            cll.CustomLevel(
                "(email_clean_l is null and domain_l is null) or (email_clean_r is null and domain_r is null)",
                "Null",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("email_clean").configure(label_for_charts="Exact match on e-mail"),
            cll.ExactMatchLevel("domain").configure(tf_adjustment_column="domain", label_for_charts="Same domain"),
            cll.ElseLevel(),
        ],
    )


def _within_system_exact(column: str) -> Any:
    """Exact match on a column whose vocabulary is the system's own (the CRM's industry picklist, the ERP's NACE
    codes): NULL across systems, where equal values cannot occur."""
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.CustomLevel(
                f"{column}_l is null or {column}_r is null or system_l <> system_r", "Null or other system"
            ).configure(is_null_level=True),
            cll.ExactMatchLevel(column),
            cll.ElseLevel(),
        ],
    )


def _address_comparison(*, with_country: bool = False) -> Any:
    """Street, postcode and city (and country) as one comparison: they are far from independent (a household, a
    building, a street, a city share several of them), and one comparison each would count one address several times.
    Levels: same street (exact, then Jaro-Winkler >= 0.92) in the same area (postcode or city equal, or a postcode
    missing), same postcode (term frequencies), postcode one edit apart, same city (term frequencies), same country
    (organisations), else; NULL when a side has no address at all."""
    parts = ("street_clean", "postcode_clean", "city_clean", *(("country",) if with_country else ()))
    same_area = (
        "(postcode_clean_l = postcode_clean_r or postcode_clean_l is null or postcode_clean_r is null "
        "or city_clean_l = city_clean_r)"
    )
    country = [cll.ExactMatchLevel("country").configure(tf_adjustment_column="country")] if with_country else []
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel(
                " or ".join("(" + " and ".join(f"{part}_{side} is null" for part in parts) + ")" for side in "lr"),
                "Null",
            ).configure(is_null_level=True),
            cll.CustomLevel(f"street_clean_l = street_clean_r and {same_area}", "Same street and area"),
            cll.CustomLevel(
                f"jaro_winkler_similarity(street_clean_l, street_clean_r) >= 0.92 and {same_area}",
                "Street Jaro-Winkler >= 0.92, same area",
            ),
            cll.ExactMatchLevel("postcode_clean").configure(tf_adjustment_column="postcode_clean"),
            cll.DamerauLevenshteinLevel("postcode_clean", 1),
            cll.ExactMatchLevel("city_clean").configure(tf_adjustment_column="city_clean"),
            *country,
            cll.ElseLevel(),
        ],
    )


def val_organisations_model() -> Model:
    """Organisations of the validation set (both customer files): dedupe_only over CRM and ERP records together.

    Comparisons: the name (legal and trade name, closest pairing, Jaro-Winkler levels, term frequencies), the tax ID
    (exact or one edit: check-digit typos), the address (street, postcode, city and country as one comparison), the
    phones (any of two in common), e-mail and company domain, the industry within one system. Blocking rules for
    prediction on each identifier, on the postcode, and on name keys that survive a legal/trade name swap (both names
    crosswise; the city with the first letters of either name). Lambda from tax ID and name
    with postcode or phone; u from random sampling; m from EM blocked on the tax ID (trains everything else) and on
    postcode with the name's first letters (trains the tax ID, phones, domain, industry). An EM session on the phone
    was left out: groups share switchboards and domains across countries, and with it EM learns that a different
    country is common among duplicates (pair F1 0.914 instead of 0.940 at 20,000 organisations, seed 7).
    """
    blocking_rules = [
        block_on("tax_id_clean"),
        block_on("name_clean"),
        block_on("trade_clean"),
        "l.name_clean = r.trade_clean",
        "l.trade_clean = r.name_clean",
        block_on("phone_clean"),
        block_on("email_clean"),
        block_on("domain"),
        # The postcode alone (names in another script, brands, acronyms, typos): 94,000 pairs at 28,747 records.
        block_on("postcode_clean"),
        block_on("country", "city_clean", "substr(name_clean, 1, 4)"),
        block_on("country", "city_clean", "substr(trade_clean, 1, 4)"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            _organisation_name_comparison(),
            cl.DamerauLevenshteinAtThresholds("tax_id_clean", [1]),
            _address_comparison(with_country=True),
            cl.ArrayIntersectAtSizes("phones", [1]),
            _email_domain_comparison(),
            _within_system_exact("industry"),
        ],
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_VAL_ORGANISATIONS_SQL,
        settings=settings,
        deterministic_rules=[
            block_on("tax_id_clean"),
            block_on("name_clean", "postcode_clean"),
            block_on("name_clean", "phone_clean"),
        ],
        recall=0.7,
        em_rules=[block_on("tax_id_clean"), block_on("postcode_clean", "substr(name_clean, 1, 3)")],
        threshold=0.5,
        notes=[
            "names: closest legal/trade pairing; industry compared within a system only (CRM picklist vs ERP NACE)",
            "PostcodeComparison is UK-only, so postcodes are exact or Damerau-Levenshtein <= 1",
        ],
    )


# A person's name parts: first and last name, or the full name only ("Müller, Hans" or "Hans Müller").
_FIRST_NAME = (
    "coalesce(nullif(trim(first_name), ''), case when legal_name like '%,%' then split_part(legal_name, ',', 2) "
    "else regexp_extract(trim(legal_name), '^(\\S+)\\s', 1) end)"
)
_LAST_NAME = (
    "coalesce(nullif(trim(last_name), ''), case when legal_name like '%,%' then split_part(legal_name, ',', 1) "
    "else regexp_extract(trim(legal_name), '^\\S+\\s+(.+)$', 1) end)"
)
# Titles in front of a name ("Dr. Hans", "Dott. Marco"), folded.
_TITLES = (
    "dr|prof|dott|dottssa|dssa|ing|mag|dipl|mr|mrs|ms|miss|herr|frau|mme|mlle|sig|sigra|sra|srta|don|dona|dhr|mevr"
)


def _person_name(column: str) -> str:
    """A name part folded, titles in front dropped; hyphens become spaces ("Müller-Schmidt" = "muller schmidt")."""
    return f"nullif(regexp_replace({_fold(column)}, '^(({_TITLES}) )+', ''), '')"


_VAL_PERSONS_SQL = _select_from_raw(
    f"""
    unique_id,
    {_person_name(_FIRST_NAME)} as first_name_clean,
    {_person_name(_LAST_NAME)} as last_name_clean,
    case when regexp_full_match(trim(date_of_birth), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') then trim(date_of_birth) end
        as date_of_birth,
    {_upper_alnum("national_id")} as national_id_clean,
    {_fold("street")} as street_clean,
    {_postcode("postcode")} as postcode_clean,
    {_fold("city")} as city_clean,
    {_phone("phone")} as phone_clean,
    {_email("email")} as email_clean
    """
)


def val_persons_model() -> Model:
    """Consumers of the validation set (CRM person accounts, with their CRM duplicates): dedupe_only.

    Splink's person models (FEBRL3/4, the 50k synthetic example) with this data's columns: NameComparison with term
    frequencies on first and last name, DateOfBirthComparison, Damerau-Levenshtein on the national ID, the address
    (street, postcode and city as one comparison, see _address_comparison), EmailComparison (after Gmail dots and
    "+tags" are normalised), phone. Blocking rules combine keys so that a typo in one field does not hide a pair, and
    one takes first and last name swapped. Lambda from deterministic rules (national ID; name and birth date, also
    swapped; e-mail and birth date), u from random sampling, m from EM blocked on the national ID (trains everything
    else) and on first name with birth date (trains the national ID and the last name). Blocking EM on last name or
    on the address instead lets it take households (same surname and address, other first name) for duplicates.
    """
    blocking_rules = [
        block_on("national_id_clean"),
        block_on("first_name_clean", "last_name_clean"),
        "l.first_name_clean = r.last_name_clean and l.last_name_clean = r.first_name_clean",
        block_on("email_clean"),
        block_on("phone_clean"),
        block_on("date_of_birth", "substr(last_name_clean, 1, 1)"),
        block_on("date_of_birth", "substr(first_name_clean, 1, 1)"),
        block_on("date_of_birth", "postcode_clean"),
        block_on("postcode_clean", "substr(last_name_clean, 1, 2)"),
        block_on("postcode_clean", "substr(first_name_clean, 1, 2)"),
        block_on("postcode_clean", "street_clean"),
        block_on("substr(first_name_clean, 1, 3)", "substr(last_name_clean, 1, 4)", "city_clean"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("first_name_clean").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name_clean").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.DamerauLevenshteinAtThresholds("national_id_clean", [1, 2]),
            _address_comparison(),
            cl.EmailComparison("email_clean"),
            cl.ExactMatch("phone_clean"),
        ],
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_VAL_PERSONS_SQL,
        settings=settings,
        deterministic_rules=[
            block_on("national_id_clean"),
            block_on("first_name_clean", "last_name_clean", "date_of_birth"),
            "l.first_name_clean = r.last_name_clean and l.last_name_clean = r.first_name_clean "
            "and l.date_of_birth = r.date_of_birth",
            block_on("email_clean", "date_of_birth"),
        ],
        recall=0.8,
        em_rules=[block_on("national_id_clean"), block_on("first_name_clean", "date_of_birth")],
        threshold=0.5,
        notes=["PostcodeComparison is UK-only, so postcodes are exact or Damerau-Levenshtein <= 1"],
    )


def _word_set(column: str) -> str:
    return f"list_distinct(string_split(coalesce({column}, ''), ' '))"


def _word_jaccard_at_least(column: str, threshold: float) -> str:
    """Jaccard similarity of the two values' sets of words at least ``threshold``."""
    left, right = _word_set(f"{column}_l"), _word_set(f"{column}_r")
    union = f"greatest(len(list_distinct(list_concat({left}, {right}))), 1)"
    return f"len(list_intersect({left}, {right})) / {union} >= {threshold}"


_VAL_PRODUCTS_SQL = _select_from_raw(
    f"""
    unique_id,
    {_upper_alnum("sku")} as sku_clean,
    nullif(ltrim(regexp_extract(coalesce(sku, ''), '[0-9]+'), '0'), '') as sku_number,
    nullif(ltrim(regexp_replace(coalesce(gtin, ''), '[^0-9]', '', 'g'), '0'), '') as gtin_clean,
    {_fold("name")} as name_clean,
    nullif(array_to_string(list_sort(list_distinct(list_transform(
        regexp_extract_all(coalesce(name, ''), '[0-9]+'), lambda number: coalesce(nullif(ltrim(number, '0'), ''), '0')
    ))), ' '), '') as name_numbers,
    coalesce({_case_map(_fold("unit_of_measure"), _UNIT_CODES)}, upper({_fold("unit_of_measure")})) as unit_clean
    """
)


def val_products_model() -> Model:
    """Products of the validation set (both product files): dedupe_only over CRM and ERP records together.

    SKU as upper-case letters and digits, with a level for its number alone (which survives a dropped prefix, an
    added suffix or a leading zero); GTIN as digits without leading zeros (a UPC written with 13 digits equals the
    12-digit one); the name with term frequencies on the exact level, then Jaro-Winkler and word-set Jaccard levels
    (ERP names are abbreviated: "NITR EXAM GLV PRO WHT L 200/BX"); the unit of measure as a code ("Box" = "BX").

    Left out after measuring them, because each made Splink worse: Damerau-Levenshtein levels on SKU and GTIN (codes
    are numbered in sequence, so one edit apart is usually the next variant of the line, not a typo); category and
    price (the same for every variant of a product line, which the name already says: under Fellegi-Sunter's
    independence they count the line twice or thrice and push a line's variants over the threshold, and connected
    components then chain whole lines into one cluster). Lambda from SKU and GTIN; u from random sampling; m from EM
    blocked on the GTIN and on the SKU number (an EM session blocked on the name lets EM take a line's variants for
    duplicates).
    """
    blocking_rules = [
        block_on("sku_clean"),
        block_on("sku_number"),
        block_on("gtin_clean"),
        block_on("name_clean"),
        block_on("substr(name_clean, 1, 12)", "unit_clean"),
        # the numbers in the name (sizes, pack counts, lengths) survive abbreviation: "M8X30 100-PACK" / "M8x30 (100)"
        block_on("name_numbers"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.CustomComparison(
                output_column_name="sku",
                comparison_levels=[
                    cll.NullLevel("sku_clean"),
                    cll.ExactMatchLevel("sku_clean"),
                    cll.ExactMatchLevel("sku_number").configure(label_for_charts="Same SKU number"),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("gtin_clean"),
            cl.CustomComparison(
                output_column_name="name",
                comparison_levels=[
                    cll.NullLevel("name_clean"),
                    cll.ExactMatchLevel("name_clean").configure(tf_adjustment_column="name_clean"),
                    cll.JaroWinklerLevel("name_clean", 0.95),
                    cll.CustomLevel(_word_jaccard_at_least("name_clean", 0.6), "Word-set Jaccard >= 0.6"),
                    cll.JaroWinklerLevel("name_clean", 0.88),
                    cll.CustomLevel(_word_jaccard_at_least("name_clean", 0.3), "Word-set Jaccard >= 0.3"),
                    cll.JaroWinklerLevel("name_clean", 0.7),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("unit_clean").configure(term_frequency_adjustments=True),
        ],
    )
    return Model(
        link_type="dedupe_only",
        prepare_sql=_VAL_PRODUCTS_SQL,
        settings=settings,
        deterministic_rules=[block_on("sku_clean"), block_on("gtin_clean")],
        recall=0.7,
        em_rules=[block_on("gtin_clean"), block_on("sku_number")],
        threshold=0.5,
        notes=["no category or price comparison, no edit-distance levels on SKU or GTIN (each measured worse)"],
    )


MODELS = {
    "febrl3": febrl3_model,
    "febrl4": febrl4_model,
    "companies": companies_model,
    "persons": persons_model,
    "val_organisations": val_organisations_model,
    "val_persons": val_persons_model,
    "val_products": val_products_model,
}
EXPECTED_INPUTS = {
    "febrl3": 1,
    "febrl4": 2,
    "companies": 1,
    "persons": 1,
    "val_organisations": 1,
    "val_persons": 1,
    "val_products": 1,
}


# --- Measuring --------------------------------------------------------------------------------------------------------


class Clock:
    """Named wall-clock sections."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class WarningCounter(logging.Handler):
    """Counts Splink's warnings (untrained parameters and the like) so that a JSON reader sees them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def configure_splink_logging(level: int) -> WarningCounter:
    """Splink's messages to stderr at ``level`` (stdout stays for the report), counting its warnings.

    The Linker is then created with ``log_level=None``: Splink's own setup adds no handler when the "splink" logger
    already has one, which would leave its INFO messages to the root logger's last-resort handler (WARNING only).
    """
    logger = logging.getLogger("splink")
    logger.setLevel(level)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(message)s"))
    counter = WarningCounter()
    logger.addHandler(stderr)
    logger.addHandler(counter)
    logger.propagate = False
    return counter


def peak_rss_mib() -> dict[str, float]:
    """Peak resident set size of this process and of its (waited-for) children; ru_maxrss is KiB on Linux."""
    scale = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {"self": round(own, 1), "children": round(children, 1), "total": round(own + children, 1)}


# --- Data -------------------------------------------------------------------------------------------------------------


def read_truth(path: Path) -> dict[str, str]:
    """unique_id -> entity of one input file."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"unique_id", TRUTH_COLUMN} - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: no column {', '.join(sorted(missing))}")
        truth: dict[str, str] = {}
        for row in reader:
            if row["unique_id"] in truth:
                raise SystemExit(f"{path}: unique_id {row['unique_id']!r} appears twice")
            truth[row["unique_id"]] = row[TRUTH_COLUMN]
    return truth


def load_table(con: duckdb.DuckDBPyConnection, path: Path, table: str, prepare_sql: str) -> int:
    """Read a CSV as text (leading zeros kept), drop the truth column, prepare it; return the row count."""
    raw = f"{table}_raw"
    con.execute(
        f"create or replace temp table {raw} as select * exclude ({TRUTH_COLUMN}) "  # noqa: S608
        f"from read_csv({_sql_string(str(path))}, header = true, all_varchar = true)"
    )
    con.execute(f"create or replace table {table} as {prepare_sql.format(raw=raw)}")
    con.execute(f"drop table {raw}")
    # fetchall, not fetchone: DuckDB 2 refuses further work on a connection with an unfinished result.
    [(count,)] = con.execute(f"select count(*) from {table}").fetchall()  # noqa: S608
    return count


def true_cross_pairs(truths: list[dict[str, str]], names: list[str]) -> set[tuple[Hashable, Hashable]]:
    """For link_only: pairs of records from different inputs that share an entity, as (dataset, unique_id) keys."""
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, truth in zip(names, truths, strict=True):
        for unique_id, entity in truth.items():
            members[entity].append((name, unique_id))
    pairs: set[tuple[Hashable, Hashable]] = set()
    for records in members.values():
        for i, left in enumerate(records):
            for right in records[i + 1 :]:
                if left[0] != right[0]:
                    pairs.add((left, right))
    return pairs


def _rule_sql(rule: Any) -> str:
    """The SQL condition of a blocking rule given as a string or a ``block_on(...)`` creator."""
    if isinstance(rule, str):
        return rule
    blocking_rule = rule.get_blocking_rule("duckdb")
    if getattr(blocking_rule, "array_columns_to_explode", None):
        raise ValueError(f"blocking recall does not handle arrays_to_explode rules: {blocking_rule.blocking_rule_sql}")
    return blocking_rule.blocking_rule_sql


def blocking_recall(
    con: duckdb.DuckDBPyConnection, inputs: list[Path], names: list[str], link_type: str, rules: list[Any]
) -> dict[str, Any]:
    """How many true pairs at least one prediction blocking rule brings into comparison, and how many each rule does.

    Exact without generating the blocked pairs: a pair is compared exactly when some rule's condition holds for it in
    the orientation Splink joins it (dedupe: ``l.unique_id < r.unique_id``; two inputs: l from the first, r from the
    second), so every rule's condition is evaluated on the true pairs themselves (all pairs of records with the same
    ``entity``; across inputs for link_only), on the prepared tables Splink blocked on. The truth is read again from
    the input files, after the Splink run.
    """
    records = []
    for path, name in zip(inputs, names, strict=True):
        records.append(
            f"select {_sql_string(name)} as __source, p.*, t.{TRUTH_COLUMN} as __entity "  # noqa: S608
            f"from input_{name} p join (select unique_id, {TRUTH_COLUMN} from read_csv({_sql_string(str(path))}, "
            f"header = true, all_varchar = true)) t using (unique_id)"
        )
    con.execute("create or replace temp table __truth_records as " + " union all ".join(records))
    if link_type == "link_only" and len(names) == 2:
        orientation = f"l.__source = {_sql_string(names[0])} and r.__source = {_sql_string(names[1])}"
    elif link_type == "link_only":
        orientation = (
            "l.__source <> r.__source and l.__source || '-__-' || l.unique_id < r.__source || '-__-' || r.unique_id"
        )
    else:
        orientation = "l.unique_id < r.unique_id"
    conditions = [f"coalesce(({_rule_sql(rule)}), false)" for rule in rules]
    columns = ", ".join(f"count(*) filter (where {condition})" for condition in conditions)
    [(true_pairs, blocked, *by_rule)] = con.execute(
        f"select count(*), count(*) filter (where {' or '.join(conditions)}), {columns} "  # noqa: S608
        f"from __truth_records l join __truth_records r on l.__entity = r.__entity and {orientation}"
    ).fetchall()
    con.execute("drop table __truth_records")
    return {
        "recall": blocked / true_pairs if true_pairs else 1.0,
        "true_pairs": true_pairs,
        "blocked_true_pairs": blocked,
        "by_rule": [{"rule": _rule_sql(rule), "true_pairs": count} for rule, count in zip(rules, by_rule, strict=True)],
    }


# --- The run ----------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = MODELS[args.dataset]()
    inputs = [Path(path) for path in args.input]
    if len(inputs) != EXPECTED_INPUTS[args.dataset]:
        raise SystemExit(f"--dataset {args.dataset} takes {EXPECTED_INPUTS[args.dataset]} input file(s)")
    threshold = model.threshold if args.threshold is None else args.threshold
    linking = model.link_type == "link_only"
    names = [chr(ord("a") + i) for i in range(len(inputs))] if linking else ["input"]
    clock = Clock()
    warnings = configure_splink_logging(args.log_level)
    started = time.perf_counter()

    with clock.section("load"):
        con = duckdb.connect()
        if args.threads:
            con.execute(f"set threads = {int(args.threads)}")
        [(threads,)] = con.execute("select current_setting('threads')").fetchall()
        counts = [
            load_table(con, path, f"input_{name}", model.prepare_sql) for path, name in zip(inputs, names, strict=True)
        ]
        db_api = DuckDBAPI(connection=con)
        tables = [db_api.register(f"input_{name}", dataset_display_name=name) for name in names]

    with clock.section("training"):
        linker = Linker(tables if linking else tables[0], model.settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(model.deterministic_rules, recall=model.recall)
        linker.training.estimate_u_using_random_sampling(max_pairs=args.max_pairs, seed=args.seed)
        for rule in model.em_rules:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=model.em_without_term_frequencies
            )

    with clock.section("predict"):
        predictions = linker.inference.predict(threshold_match_probability=threshold)
    with clock.section("cluster"):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
    total = time.perf_counter() - started
    pipeline_rss = peak_rss_mib()  # before the truth is read and the result scored, which take memory of their own
    truths = [read_truth(path) for path in inputs]
    trained = linker.misc.save_model_to_json(args.save_model, overwrite=True) if args.save_model else None
    trained = trained or linker.misc.save_model_to_json()

    # Scoring is outside the timed Splink pipeline.
    if linking:
        pair_rows = predictions.as_duckdbpyrelation().select(
            "source_dataset_l, unique_id_l, source_dataset_r, unique_id_r"
        )
        predicted_pairs = [((sl, ul), (sr, ur)) for sl, ul, sr, ur in pair_rows.fetchall()]
        truth = {(name, uid): entity for name, t in zip(names, truths, strict=True) for uid, entity in t.items()}
        pair_result = metrics.pair_scores(predicted_pairs, true_cross_pairs(truths, names))
        cluster_rows = clusters.as_duckdbpyrelation().select("source_dataset, unique_id, cluster_id").fetchall()
        predicted = {(source, uid): cluster for source, uid, cluster in cluster_rows}
    else:
        pair_rows = predictions.as_duckdbpyrelation().select("unique_id_l, unique_id_r")
        predicted_pairs = pair_rows.fetchall()
        truth = truths[0]
        pair_result = metrics.pair_scores_against_clusters(predicted_pairs, truth)
        cluster_rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
        predicted = dict(cluster_rows)
    cluster_result = metrics.cluster_scores(predicted, truth)

    with clock.section("count_blocked_pairs"):
        blocked = count_comparisons_from_blocking_rules(
            tables if linking else tables[0],
            blocking_rules=model.settings.blocking_rules_to_generate_predictions,
            link_type=model.link_type,
            record_sample_proportion=1.0,
        )[-1]["cumulative_comparison_count"]
    with clock.section("blocking_recall"):
        recall = blocking_recall(
            con, inputs, names, model.link_type, model.settings.blocking_rules_to_generate_predictions
        )

    seconds = {name: round(value, 3) for name, value in clock.seconds.items()}
    seconds["prediction"] = round(clock.seconds["predict"] + clock.seconds["cluster"], 3)
    seconds["total"] = round(total, 3)  # load + training + predict + cluster
    return {
        "tool": "splink",
        "splink_version": splink.__version__,
        "duckdb_version": duckdb.__version__,
        "dataset": args.dataset,
        "link_type": model.link_type,
        "inputs": [str(path) for path in inputs],
        "records": sum(counts),
        "threshold": threshold,
        "threads": int(threads),
        "cpu_count": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "model": {
            "probability_two_random_records_match": trained["probability_two_random_records_match"],
            "u_max_pairs": args.max_pairs,
            "em_sessions": len(model.em_rules),
            "comparisons": [comparison["output_column_name"] for comparison in trained["comparisons"]],
            "notes": model.notes,
            "saved_to": args.save_model,
        },
        "splink_warnings": warnings.count,
        "blocked_pairs": int(blocked),
        "blocking_recall": recall["recall"],
        "blocking": recall,
        "pairs": pair_result.as_dict(),
        "clusters": cluster_result.as_dict(),
        "pair_precision": pair_result.precision,
        "cluster_precision": cluster_result.pairwise.precision,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "pipeline_peak_rss_mib": pipeline_rss,
    }


def print_report(result: dict[str, Any]) -> None:
    pairs, clusters = result["pairs"], result["clusters"]
    pairwise, bcubed = clusters["pairwise"], clusters["bcubed"]
    seconds, rss = result["seconds"], result["peak_rss_mib"]
    print(
        f"Splink {result['splink_version']} (DuckDB {result['duckdb_version']}, {result['threads']} threads, "
        f"{result['cpu_count']} cores, load {result['load_average']}) on {result['dataset']} ({result['link_type']}): "
        f"{result['records']:,} records, threshold {result['threshold']}"
    )
    print(
        f"  model: lambda {result['model']['probability_two_random_records_match']:.3g}, "
        f"{result['model']['em_sessions']} EM sessions, {result['blocked_pairs']:,} blocked pairs scored, "
        f"{result['splink_warnings']} Splink warnings"
    )
    blocking = result["blocking"]
    print(
        f"  blocking recall: {blocking['recall']:.4f} ({blocking['blocked_true_pairs']:,} of "
        f"{blocking['true_pairs']:,} true pairs meet at least one of the "
        f"{len(blocking['by_rule'])} prediction blocking rules)"
    )
    print(
        f"  predicted pairs: P {pairs['precision']:.4f}  R {pairs['recall']:.4f}  F1 {pairs['f1']:.4f}  "
        f"({pairs['predicted_pairs']:,} predicted, {pairs['true_positives']:,} true of {pairs['true_pairs']:,})"
    )
    print(
        f"  clusters, pairwise: P {pairwise['precision']:.4f}  R {pairwise['recall']:.4f}  F1 {pairwise['f1']:.4f}  "
        f"({pairwise['predicted_pairs']:,} pairs in {clusters['predicted_clusters']:,} clusters; "
        f"truth {clusters['true_clusters']:,})"
    )
    print(f"  clusters, B-cubed:  P {bcubed['precision']:.4f}  R {bcubed['recall']:.4f}  F1 {bcubed['f1']:.4f}")
    print(
        f"  precision: pairs {result['pair_precision']:.4f} -> clusters {result['cluster_precision']:.4f} "
        f"(connected components add {pairwise['predicted_pairs'] - pairs['predicted_pairs']:+,} pairs)"
    )
    print(
        f"  wall: load {seconds['load']:.2f}s, training {seconds['training']:.2f}s, prediction "
        f"{seconds['prediction']:.2f}s (predict {seconds['predict']:.2f}s + cluster {seconds['cluster']:.2f}s), "
        f"total {seconds['total']:.2f}s"
    )
    print(
        f"  peak RSS: {rss['self']:.0f} MiB (children {rss['children']:.0f} MiB); "
        f"{result['pipeline_peak_rss_mib']['self']:.0f} MiB up to clustering, before scoring"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(MODELS), required=True)
    parser.add_argument("--input", nargs="+", required=True, help="CSV file(s); febrl4 takes A then B")
    parser.add_argument(
        "--threshold",
        type=float,
        help="match probability for pairs and clusters (default: the model's, 0.5 for val_*, 0.9 for the others)",
    )
    parser.add_argument("--max-pairs", type=float, default=1e7, help="pairs sampled to estimate u (default 1e7)")
    parser.add_argument("--seed", type=int, default=42, help="seed of u sampling (reproducible runs)")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: DuckDB's, i.e. all cores)")
    parser.add_argument("--save-model", metavar="FILE", help="also write the trained model (Splink JSON) here")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("--verbose", action="store_true", help="show Splink's INFO log on stderr")
    args = parser.parse_args(argv)
    if args.threshold is not None and not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    args.log_level = logging.INFO if args.verbose else logging.WARNING

    result = run(args)
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
