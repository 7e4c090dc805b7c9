"""Alerts reach people: the lifecycle core wired to the store and the notifiers.

- `cases`: an alert's case on its store row; a lifecycle `Decision` applied in a
  database session (log entries, outbox rows with grouping, the timer);
- `hooks`: the fold's hook, so each alert record's decision commits with the
  record and the Kafka offsets it came from;
- `timers`: escalation steps, claimed from the database when due;
- `delivery`: the outbox, delivered by the notifiers;
- `clock`: the lifecycle's time: the wall clock, or event time from the clock topic;
- `monthly`: each LA's monthly report, built from the store when due and queued
  for its safeguarding partnership (the e-mail attaches it);
- `service`: `custodywatch serve`, all of the above in one process.

May import the store, the lifecycle core, the notifiers, the report engine and
its renderers, the contract and the settings. Nothing but the composition root and the CLI imports it.
"""
