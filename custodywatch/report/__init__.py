"""Safeguarding reports: one engine over episode summaries and alerts, three renderers.

- PURE (`model`, `period`, `facts`, `tables`, `sections_*`, `suppress`, `engine`,
  `figures` (a report's headline figures, for the monthly report's notification),
  and the what-if's `whatif`, `whatif_settings`, `whatif_views`):
  episode summaries, alert records and optional acknowledgement facts in,
  report tables out. They may import `custodywatch.contract` and
  `custodywatch.core.config` only; no Kafka, database, HTTP, metrics, files or
  wall clock (the time a report was made is a parameter).
- Renderers (`svg`, `render_html`, `render_csv`, `render_pdf`, `render_whatif`) turn
  a report or a what-if into bytes; `render_pdf` runs headless Chromium.
- Sources (`sources`) read JSONL files and replay events (once decoded, under
  several rule sets for a what-if); `cli` is `custodywatch report` and `custodywatch whatif`.

Only the pseudonymous `person_ref` identifies a child in any table.
"""
