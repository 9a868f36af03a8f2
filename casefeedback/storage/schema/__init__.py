"""The schema, declared once: a module per domain, every table on one ``MetaData``.

Import tables from ``casefeedback.storage.tables``. The migrations build this
schema step by step; tests/storage/test_schema_matches_migrations.py proves
that a migrated database equals it (types, nullability, defaults, indexes,
unique constraints and foreign keys), so a change here without its migration
fails the tests.
"""

from importlib import import_module

# Loaded here, whichever module is imported first: foreign keys name tables of
# other domains, so the MetaData is only whole once every domain is in it, and
# a fixed order keeps ``metadata.tables`` in the same order on every run.
DOMAINS = ("foundation", "intake", "receipts", "staff", "retention", "alerts", "insight", "ratelimits", "api",
           "channels", "replies")

for _domain in DOMAINS:
    import_module(f"{__name__}.{_domain}")
