"""Getting notifications to people: signed webhook, SMTP e-mail and a Kafka topic.

One module per channel (`webhook`, `email`, `kafka`), each a `Notifier` whose
`deliver(notification)` returns a `DeliveryResult` (delivered, retry or
permanent failure) instead of raising; `delivery.Dispatcher` picks the channel
and reports to the observer port; `outbox.deliver_due` is one pass of the loop
over claimed outbox rows. Pure pieces: `render` (subject, text, HTML, JSON
body), `signature` (sign and verify webhook bodies, for receivers too) and
`retry` (the backoff schedule), which take time and randomness as parameters.

May import: the standard library, pydantic, aiohttp, aiosmtplib, aiokafka,
`custodywatch.contract`, `custodywatch.config` and `custodywatch.observer`.
Never prometheus_client (metrics go through the observer), SQLAlchemy (rows
reach it through callables), the core, the stream worker or the web app.
"""
