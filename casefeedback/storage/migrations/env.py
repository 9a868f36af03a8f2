"""Alembic environment: always runs on a connection handed over by casefeedback."""

from alembic import context

from casefeedback.storage.tables import metadata

connection = context.config.attributes["connection"]
# Comparing types and server defaults too (not only tables and columns) is what
# lets `migrate.check` catch a declaration that no migration has made real.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True, compare_server_default=True)
with context.begin_transaction():
    context.run_migrations()
