"""PURE: what happens to an alert after the rules raise it.

The escalation ladder (`policy`), who is who (`routing`), the per-alert state
machine of raise, escalation, acknowledgement, resolve and retract (`case`,
`decide`), the notices it sends (`render`) and the 60-second grouping of a
custody record's notices (`grouping`), and which monthly reports are due to
each LA's safeguarding partnership (`monthly`). Decisions return values; the
store, the timers and the notifiers act on them.

May import the standard library, pydantic, yaml, `custodywatch.contract` and
the time helpers of `custodywatch.core.clock`. Never Kafka, SQLAlchemy, HTTP,
prometheus_client, the environment or the wall clock: time is a parameter
(integer microseconds since the Unix epoch, as in the core).
"""
