"""Alembic migrations of the store, applied by `custodywatch.store.db.migrate`."""
