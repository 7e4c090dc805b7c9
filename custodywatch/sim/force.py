"""The simulated force: its custody suites, local authorities and vocabularies.

Everything here is a constant vocabulary. The renderer JSON-encodes these
strings once, at import, so the hot path never escapes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUITES: tuple[str, ...] = (
    "perry-barr",
    "steelhouse",
    "oldbury",
    "coventry",
    "wolverhampton",
    "solihull",
    "walsall",
    "bournville-lane",
)
"""Custody suites of the simulated force."""

CHILDRENS_SUITES: tuple[str, ...] = ("perry-barr", "oldbury")
"""The two suites designed for children."""

LOCAL_AUTHORITIES: tuple[str, ...] = (
    "birmingham",
    "coventry",
    "dudley",
    "sandwell",
    "solihull",
    "walsall",
    "wolverhampton",
)

# Share of all detentions booked in at each suite (adults; children use the
# children's-suite quota first, then these weights over the other suites).
SUITE_WEIGHTS: dict[str, float] = {
    "perry-barr": 0.19,
    "steelhouse": 0.13,
    "oldbury": 0.15,
    "coventry": 0.14,
    "wolverhampton": 0.13,
    "solihull": 0.07,
    "walsall": 0.10,
    "bournville-lane": 0.09,
}

# Where the detainees of each suite usually live (home local authority weights).
SUITE_CATCHMENT: dict[str, dict[str, float]] = {
    "perry-barr": {"birmingham": 0.70, "sandwell": 0.15, "walsall": 0.10, "dudley": 0.05},
    "steelhouse": {"birmingham": 0.85, "solihull": 0.05, "sandwell": 0.10},
    "oldbury": {"sandwell": 0.55, "dudley": 0.30, "birmingham": 0.10, "wolverhampton": 0.05},
    "coventry": {"coventry": 0.90, "solihull": 0.05, "birmingham": 0.05},
    "wolverhampton": {"wolverhampton": 0.80, "walsall": 0.10, "dudley": 0.10},
    "solihull": {"solihull": 0.70, "birmingham": 0.25, "coventry": 0.05},
    "walsall": {"walsall": 0.80, "wolverhampton": 0.10, "sandwell": 0.10},
    "bournville-lane": {"birmingham": 0.85, "solihull": 0.05, "dudley": 0.10},
}

# Relative arrest (detention authorised) rate by local hour: an evening peak.
HOUR_WEIGHTS: tuple[float, ...] = (
    3.4, 2.9, 2.4, 1.9, 1.4, 1.0, 0.9, 1.2, 2.0, 2.8, 3.3, 3.6,
    3.8, 4.0, 4.3, 4.7, 5.2, 5.7, 6.1, 6.3, 6.1, 5.5, 4.8, 4.0,
)  # fmt: skip

# Relative rate by weekday (Monday = 0): busier Friday and Saturday.
WEEKDAY_WEIGHTS: tuple[float, ...] = (0.95, 0.93, 0.95, 0.98, 1.07, 1.14, 0.98)

OFFENCE_CATEGORIES: dict[str, float] = {
    "violence_against_the_person": 0.27,
    "theft": 0.14,
    "drugs": 0.10,
    "public_order": 0.08,
    "criminal_damage": 0.07,
    "burglary": 0.06,
    "robbery": 0.06,
    "possession_of_weapons": 0.05,
    "sexual_offences": 0.04,
    "vehicle_offences": 0.04,
    "fraud": 0.03,
    "other": 0.06,
}

# Specific offences for `charged.payload.offences`, per category.
OFFENCES: dict[str, tuple[str, ...]] = {
    "violence_against_the_person": ("assault_occasioning_abh", "common_assault", "gbh_s20"),
    "theft": ("theft_from_shop", "theft_from_person", "theft_of_vehicle"),
    "drugs": ("possession_with_intent_to_supply", "possession_class_a"),
    "public_order": ("affray", "s4_public_order"),
    "criminal_damage": ("criminal_damage", "arson"),
    "burglary": ("burglary_dwelling", "burglary_non_dwelling"),
    "robbery": ("robbery", "attempted_robbery"),
    "possession_of_weapons": ("possession_of_bladed_article", "possession_of_offensive_weapon"),
    "sexual_offences": ("sexual_assault",),
    "vehicle_offences": ("dangerous_driving", "aggravated_vehicle_taking"),
    "fraud": ("fraud_by_false_representation",),
    "other": ("failure_to_surrender", "breach_of_court_order"),
    "failure_to_appear": ("failure_to_surrender",),
    "breach_of_bail": ("breach_of_bail_conditions",),
}

LA_REFUSAL_REASONS: tuple[str, ...] = (
    "no secure bed available",
    "no suitable non-secure placement",
    "no foster placement available out of hours",
    "emergency duty team unable to source accommodation",
)

IMPRACTICABLE_REASONS: tuple[str, ...] = (
    "no local authority accommodation available",
    "local authority unable to provide secure accommodation; risk of serious harm",
    "no response from local authority before court",
)


@dataclass(frozen=True)
class Force:
    """A force's suites, local authorities and behaviour weights."""

    name: str = "west-midlands"
    zone: str = "Europe/London"
    suites: tuple[str, ...] = SUITES
    childrens_suites: tuple[str, ...] = CHILDRENS_SUITES
    local_authorities: tuple[str, ...] = LOCAL_AUTHORITIES
    suite_weights: dict[str, float] = field(default_factory=lambda: dict(SUITE_WEIGHTS))
    catchment: dict[str, dict[str, float]] = field(default_factory=lambda: dict(SUITE_CATCHMENT))


DEFAULT_FORCE = Force()
