"""Starting field mappings for Salesforce and NetSuite, and the demo's targets pointing at the simulators.

They are a starting point a hub administrator edits in the admin (each save is a new mapping version):
Salesforce receives the commercial view (trade name first, phone, website, industry, billing address),
NetSuite the legal and financial one (legal name, tax ID, subsidiary, inactive flag; payment terms are a
reference to a NetSuite terms record, so they need a lookup of the account's own IDs before they can be
mapped); both carry the
golden ID as their external ID and learn about merges through a status and survivor field.
"""

from typing import Any

SALESFORCE_MAPPINGS: dict[str, dict[str, Any]] = {
    "customer": {
        "fields": {
            "Name": ["trade_name", "legal_name", "golden_id"],
            "Phone": "phone",
            "Website": "website",
            "Industry": "industry",
            "BillingStreet": ["billing_address.line1", "legal_address.line1"],
            "BillingCity": ["billing_address.city", "legal_address.city"],
            "BillingPostalCode": ["billing_address.postcode", "legal_address.postcode"],
            "BillingCountry": ["billing_address.country", "legal_address.country", "country"],
            "MDM_Tax_ID__c": "tax_id",
            "MDM_Status__c": "record_status",
            "MDM_Survivor_ID__c": "survivor_id",
        },
        "inbound": {
            "trade_name": "Name",
            "phones": ["Phone"],
            "website": "Website",
            "industry": "Industry",
            "billing_address": {
                "line1": "BillingStreet",
                "city": "BillingCity",
                "postcode": "BillingPostalCode",
                "country": "BillingCountry",
            },
        },
    },
    "product": {
        "fields": {
            "Name": ["name", "sku", "golden_id"],
            "ProductCode": "sku",
            "StockKeepingUnit": "sku",
            "Description": "description",
            "Family": "category",
            "QuantityUnitOfMeasure": "unit_of_measure",
            "IsActive": {"attr": "status", "map": {"active": True}, "default": False},
            "MDM_GTIN__c": "gtin",
        },
        "related": {"list_price": "list_price", "currency": "currency"},
        "inbound": {"name": "Name", "sku": "ProductCode", "description": "Description", "category": "Family"},
    },
}

NETSUITE_MAPPINGS: dict[str, dict[str, Any]] = {
    "customer": {
        "fields": {
            "companyName": ["legal_name", "trade_name", "golden_id"],
            "isPerson": {"attr": "kind", "equals": "person"},
            "firstName": "first_name",
            "lastName": "last_name",
            "email": "email",
            "phone": "phone",
            "custentity_mdm_tax_id": "tax_id",
            "isInactive": {"attr": "record_status", "map": {"active": False}, "default": True},
            "subsidiary": {"const": {"id": "1"}},
        },
        "inbound": {"legal_name": "companyname", "phones": ["phone"], "emails": ["email"]},
    },
    "product": {
        "fields": {
            "itemId": ["sku", "golden_id"],
            "displayName": ["name", "sku"],
            "salesDescription": "description",
            "upcCode": "gtin",
            "custitem_mdm_gtin": "gtin",
            "basePrice": "list_price",
            "isInactive": {"attr": "status", "map": {"active": False}, "default": True},
            "subsidiary": {"const": {"id": "1"}},
        },
        "inbound": {"name": "displayname", "sku": "itemid", "description": "salesdescription"},
    },
}

MAPPINGS_BY_KIND = {"salesforce": SALESFORCE_MAPPINGS, "netsuite": NETSUITE_MAPPINGS}

SIMULATOR_PORTS = {"salesforce": 8443, "netsuite": 8444}
# A simulator target's settings besides its address, certificate and credentials, by kind.
SIMULATOR_TARGETS: dict[str, dict[str, Any]] = {
    "salesforce": {"name": "Salesforce (simulator)", "auth": "client_credentials", "hierarchy": "customer_sales"},
    "netsuite": {
        "name": "NetSuite (simulator)",
        "auth": "tba",
        "hierarchy": "customer_legal",
        "options": {"account_id": "1234567", "max_concurrency": 4},
    },
}
SIMULATOR_CREDENTIALS = {
    "salesforce": {"client_id": "mdm-hub", "client_secret": "mdm-hub-secret"},
    "netsuite": {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "tk", "token_secret": "ts"},
}
