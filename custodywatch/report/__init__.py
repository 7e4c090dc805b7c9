"""Safeguarding reports: one engine over episode summaries and alerts, three renderers.

- PURE (`model`, `period`, `facts`, `tables`, `sections_*`, `suppress`, `engine`,
  `figures` (a report's headline figures, for the monthly report's notification),
  and the what-if's `whatif`, `whatif_settings`, `whatif_views`, `rebuild`):
  episode summaries, alert records and optional acknowledgement facts in,
  report tables out (`rebuild`: an episode's events from its summary). They may
  import `custodywatch.contract` and `custodywatch.core.config` / `clock` only; no
  Kafka, database, HTTP, metrics, files or wall clock (the time a report was made is a parameter).
- Renderers (`svg`, `render_html`, `render_csv`, `render_pdf`, `render_whatif`) turn
  a report or a what-if into bytes; `render_pdf` runs headless Chromium.
- Sources (`sources`, `store_source`) read JSONL files or the store and replay
  events (once decoded, under several rule sets for a what-if; from the store, the
  events rebuilt from each episode's summary); `shares` and `parallel` replay an events
  file in forked worker processes, one share of the episodes each (`report --jobs N`);
  `cli` is `custodywatch report` and `custodywatch whatif`.

Only the pseudonymous `person_ref` identifies a child in any table.
"""
