"""Standardisers: pure functions that turn source-system values into the hub's canonical forms and match keys.

No Django and no database here, so importers, the matcher and the API all share one implementation.
"""

from mdm.standardisation.contact import email_domain, normalise_email, website_domain
from mdm.standardisation.countries import country_code
from mdm.standardisation.errors import StandardisationError
from mdm.standardisation.free_mail import FREE_MAIL_DOMAINS
from mdm.standardisation.names import LegalName, split_legal_form
from mdm.standardisation.phones import Phone, normalise_phone
from mdm.standardisation.products import currency_code, gtin_is_valid, sku_key, unit_of_measure
from mdm.standardisation.tax_ids import TaxId, validate_tax_id
from mdm.standardisation.text import clean_text, fold

__all__ = [
    "FREE_MAIL_DOMAINS",
    "LegalName",
    "Phone",
    "StandardisationError",
    "TaxId",
    "clean_text",
    "country_code",
    "currency_code",
    "email_domain",
    "fold",
    "gtin_is_valid",
    "normalise_email",
    "normalise_phone",
    "sku_key",
    "split_legal_form",
    "unit_of_measure",
    "validate_tax_id",
    "website_domain",
]
