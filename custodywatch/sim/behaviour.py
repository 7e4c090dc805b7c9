"""The behaviour model's rates and distributions, shared by the full model and the pools.

`custodywatch.sim.episodes.EpisodeFactory` draws from them one episode at a
time; `custodywatch.sim.pools` draws the ordinary episodes' facts from the same
ones once per run.
"""

from __future__ import annotations

from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.draw import Weighted
from custodywatch.sim.force import OFFENCE_CATEGORIES, OFFENCES

# Behaviour rates (the published figures do not give these; plausible values).
P_CHILD_AGE_CORRECTION = 0.006  # first treated as an adult
P_ADULT_AGE_CORRECTION = 0.002  # first treated as a child
P_CHILD_DOB_KNOWN = 0.85
P_ADULT_DOB_KNOWN = 0.93
P_VULNERABLE_ADULT = 0.08
P_AA_NOT_REQUESTED = 0.02
P_AA_REQUEST_LATE = 0.10
P_AA_ARRIVAL_LATE = 0.15
P_REVIEW_LATE = 0.07
P_SUITE_TRANSFER_ADULT = 0.01
P_SUITE_TRANSFER_CHILD = 0.005
P_ADULT_EXTENDED = 0.012
P_ADULT_REMANDED = 0.07
P_CHARGED_CHILD = 0.22
P_CHARGED_ADULT = 0.30
P_LONG_ARREST = 0.03
SIGMA_CHILD = 0.55
SIGMA_ADULT = 0.55


CHILD_AGES = Weighted((10, 11, 12, 13, 14, 15, 16, 17), (1, 2, 5, 9, 14, 20, 23, 26))
ADULT_AGE_BANDS = Weighted(
    ((18, 24), (25, 34), (35, 44), (45, 54), (55, 79)), (0.20, 0.32, 0.25, 0.14, 0.09)
)
SEX_CHILD = Weighted(("male", "female", None), (0.84, 0.15, 0.01))
SEX_ADULT = Weighted(("male", "female", None), (0.82, 0.17, 0.01))
LOOKED_AFTER = Weighted((True, False, None), (0.12, 0.80, 0.08))
BASIS_CHILD = Weighted(
    ("new_offence", "warrant", "breach_of_bail", "other"), (0.93, 0.03, 0.02, 0.02)
)
BASIS_ADULT = Weighted(
    ("new_offence", "warrant", "breach_of_bail", "court_remand", "other"),
    (0.86, 0.07, 0.03, 0.02, 0.02),
)
OFFENCE = Weighted.of(OFFENCE_CATEGORIES)
DISPOSAL_CHILD = Weighted(
    ("released_under_investigation", "no_further_action", "out_of_court_disposal", "bail", "other"),
    (0.38, 0.27, 0.20, 0.10, 0.05),
)
DISPOSAL_ADULT = Weighted(
    ("released_under_investigation", "no_further_action", "out_of_court_disposal", "bail", "other"),
    (0.40, 0.25, 0.12, 0.17, 0.06),
)
SECOND_EXTENSION = Weighted((48, 60, 72, 96), (0.4, 0.2, 0.3, 0.1))


def offence_category(basis: str, u: float) -> str:
    if basis == "warrant":
        return "failure_to_appear"
    if basis == "breach_of_bail":
        return "breach_of_bail"
    return OFFENCE.pick(u)


def charge_tail(category: str, rng: Random) -> str:
    """`charged` with one offence of the category, sometimes two, rarely none listed."""
    offences = OFFENCES[category]
    if rng.random() < 0.15 and category in r.CHARGED_TWO:
        return r.CHARGED_TWO[category]
    if rng.random() < 0.05:
        return r.CHARGED
    return r.CHARGED_ONE[offences[int(rng.random() * len(offences))]]
