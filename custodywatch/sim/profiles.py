"""Episode codes: an episode's profile and its rarer shape (`Feature`), packed in one byte.

The quotas of `custodywatch.sim.schedule` give each episode a code; the
generator and `custodywatch.sim.episodes.EpisodeFactory` read it back.
"""

from __future__ import annotations

from enum import IntEnum


class Feature(IntEnum):
    """The rarer shapes an ordinary (not refused bail) episode can take; at most one."""

    NONE = 0
    AGE_CORRECTION = 1
    SUITE_TRANSFER = 2
    EXTENDED = 3  # adults only
    REMANDED = 4  # adults only: charged, bail refused, morning court


# Profiles (the low 3 bits of a code); bit 4 = booked in at a children's suite.
NORMAL = 0
EXEMPT = 1  # child refused bail, arrested on a warrant or for breach of bail
TRANSFER = 2  # child refused bail, LA accepted, transferred
NOT_REQUESTED = 3  # child refused bail, no LA request made
NO_ACCOMMODATION = 4  # child refused bail, LA request(s) but no accommodation
ADULT = 7
AT_CHILDRENS_SUITE = 16
PROFILE_MASK = 7
FEATURE_SHIFT = 5  # bits 5-7: Feature
