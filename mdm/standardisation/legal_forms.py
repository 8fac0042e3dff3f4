"""Legal-form suffixes: each canonical form with the spellings seen in source systems.

Variants are matched after folding and dropping dots, brackets and the spaces between words, so
"S.A.S.", "S. A. S." and "sas" are one variant; list only spellings that differ in letters. A form's
canonical spelling always matches itself, and a word of a spelling that is itself a canonical form
stands for all of that form's spellings ("Pty Ltd" also covers "Proprietary Limited"). Forms that
double as everyday words ("Spa" as a wellness business, "EV" as electric vehicles) are left out or
kept deliberately; see the comments.
"""

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    # English-speaking
    "Inc": ("Incorporated",),
    "Corp": ("Corporation",),
    "Co": ("Company",),
    "Co Ltd": (),  # "Samsung Electronics Co., Ltd." is one form, not two
    "Ltd": ("Limited",),
    "LLC": ("Limited Liability Company",),
    "PLLC": ("Professional Limited Liability Company",),
    "LLP": ("Limited Liability Partnership",),
    "LP": ("Limited Partnership",),
    "PLC": ("Public Limited Company",),
    "Pty Ltd": (),
    "Pty": ("Proprietary",),
    "Pte Ltd": (),
    "Pvt Ltd": ("Private Ltd",),
    "Sdn Bhd": ("Sendirian Bhd",),
    "Bhd": ("Berhad",),
    # German-speaking
    "GmbH": ("Gesellschaft mit beschränkter Haftung", "GesmbH", "Ges mbH"),
    "GmbH & Co KG": ("GmbH und Co KG", "GmbH Co KG"),
    "GmbH & Co KGaA": ("GmbH und Co KGaA",),
    "AG & Co KG": ("AG und Co KG",),
    "UG": ("UG (haftungsbeschränkt)",),
    "AG": ("Aktiengesellschaft",),
    "KG": ("Kommanditgesellschaft",),
    "KGaA": ("Kommanditgesellschaft auf Aktien",),
    "OHG": ("Offene Handelsgesellschaft",),
    "GbR": ("Gesellschaft bürgerlichen Rechts",),
    "SE": ("Societas Europaea",),
    # French, Spanish, Portuguese, Italian
    "SA": ("Société Anonyme", "Sociedad Anónima", "Sociedade Anónima", "Sociedade Anônima"),
    "SAS": ("Société par Actions Simplifiée",),
    "SASU": ("Société par Actions Simplifiée Unipersonnelle",),
    "SARL": ("Société à Responsabilité Limitée",),  # Swiss "Sàrl" folds to the same letters
    "EURL": ("Entreprise Unipersonnelle à Responsabilité Limitée",),
    "SNC": ("Société en Nom Collectif",),
    "SL": ("Sociedad Limitada",),
    "SLU": ("Sociedad Limitada Unipersonal",),
    "SA de CV": ("Sociedad Anónima de Capital Variable",),
    "S de RL de CV": (),
    "Ltda": ("Limitada",),
    "Lda": (),
    # "Spa" is also a wellness business, but Italian suppliers are the commoner case in B2B data.
    "SpA": ("Società per Azioni",),
    "Srl": ("Società a Responsabilità Limitata",),
    "SPRL": ("Société Privée à Responsabilité Limitée",),
    # Benelux and Nordics
    "BV": ("Besloten Vennootschap",),
    "BVBA": (),
    "NV": ("Naamloze Vennootschap",),
    "AB": ("Aktiebolag", "AB (publ)"),
    "AS": ("Aksjeselskap", "Akciová Společnost"),  # Norwegian AS and Czech a.s. fold to the same letters
    "ASA": ("Allmennaksjeselskap",),
    "A/S": ("Aktieselskab",),  # Danish; the slash survives folding, so it stays apart from "AS"
    "ApS": ("Anpartsselskab",),
    "Oy": ("Osakeyhtiö",),
    "Oyj": ("Julkinen Osakeyhtiö",),
    # Central and Eastern Europe
    "Sp z oo": ("Spółka z ograniczoną odpowiedzialnością",),
    "sro": ("spol s ro", "Společnost s ručením omezeným"),
    "Kft": (),
    "Zrt": (),
    "Nyrt": (),
    "doo": (),
    "OOO": ("\u041e\u041e\u041e",),  # the Cyrillic spelling, which folding keeps as Cyrillic
    # Asia
    "KK": ("Kabushiki Kaisha", "Kabushikigaisha"),
}
