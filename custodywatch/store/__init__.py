"""The SQL store: alerts, their history, episodes, the outbox, and the
exactly-once fold of the alerts and episodes topics into it.

SQLite (a file) by default, PostgreSQL by URL; SQLAlchemy 2 with Alembic
migrations shipped in `custodywatch/store/migrations/` and applied on start.

- `schema`: the tables; `db`: engines, sessions, migrations, `StoreUnavailable`.
- `apply`: fold one batch of records into a session (no Kafka).
- `fold`: the Kafka consumer around it (offsets kept in the database).
- `queries`: what the CLI, the lifecycle service and the board read and write.
- `reports`: the monthly reports' rows (rendered once) and what their due decision reads.
- `cli`: `serve`, `alerts list|show`, `ack`.

May import: sqlalchemy, alembic, aiokafka (fold only), custodywatch.contract,
custodywatch.config. Must not import custodywatch.core, stream, web or cli;
the core, the contract and the lifecycle must not import this package.
"""
