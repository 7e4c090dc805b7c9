"""The custody event contract (v1) as strict, frozen pydantic models.

These models *are* the contract: `schemas/` is generated from them and a test
fails when the two drift apart. Unknown fields are rejected so that a
producer's bug is visible instead of silently dropped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = 1


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""RFC 3339 timestamp that must carry an offset; normalised to UTC."""

Ident64 = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ArrestBasis(StrEnum):
    NEW_OFFENCE = "new_offence"
    WARRANT = "warrant"
    BREACH_OF_BAIL = "breach_of_bail"
    COURT_REMAND = "court_remand"
    OTHER = "other"


class Disposal(StrEnum):
    BAIL = "bail"
    RELEASED_UNDER_INVESTIGATION = "released_under_investigation"
    NO_FURTHER_ACTION = "no_further_action"
    OUT_OF_COURT_DISPOSAL = "out_of_court_disposal"
    TO_COURT = "to_court"
    OTHER = "other"


class Detainee(_Strict):
    """Pseudonymous facts about the detained person: never names or addresses."""

    person_ref: Name
    date_of_birth: date | None = None
    appears_under_18: bool | None = None
    looked_after_child: bool | None = None
    sex: str | None = None


class Empty(_Strict):
    """Payload of event types that carry no fields (`{}`)."""


class DetentionAuthorisedPayload(_Strict):
    detainee: Detainee
    arrested_at: Timestamp
    arrived_at: Timestamp
    arrest_basis: ArrestBasis
    offence_category: Name
    home_local_authority: Name


class AgeEstablishedPayload(_Strict):
    date_of_birth: date


class DetentionReviewedPayload(_Strict):
    reviewing_rank: str | None = None


class DetentionExtendedPayload(_Strict):
    new_limit_hours: Annotated[int, Field(ge=25, le=96)]


class ChargedPayload(_Strict):
    offences: list[str] | None = None


class LaAccommodationRequestedPayload(_Strict):
    local_authority: Name
    accommodation_type: Literal["secure", "non_secure"]


class LaAccommodationResponsePayload(_Strict):
    local_authority: Name
    outcome: Literal["accepted", "refused"]
    reason: str | None = None


class TransferImpracticablePayload(_Strict):
    reason: Annotated[str, Field(min_length=1)]


class TransferredToLaPayload(_Strict):
    local_authority: Name


class TransferredToSuitePayload(_Strict):
    to_suite_id: Ident64


class ReleasedPayload(_Strict):
    disposal: Disposal


class _Envelope(_Strict):
    schema_version: Literal[1]
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    custody_record_id: Ident64
    suite_id: Ident64
    occurred_at: Timestamp
    recorded_at: Timestamp | None = None
    source: str | None = None


class DetentionAuthorised(_Envelope):
    event_type: Literal["detention_authorised"]
    payload: DetentionAuthorisedPayload


class AgeEstablished(_Envelope):
    event_type: Literal["age_established"]
    payload: AgeEstablishedPayload


class AppropriateAdultRequested(_Envelope):
    event_type: Literal["appropriate_adult_requested"]
    payload: Empty


class AppropriateAdultArrived(_Envelope):
    event_type: Literal["appropriate_adult_arrived"]
    payload: Empty


class DetentionReviewed(_Envelope):
    event_type: Literal["detention_reviewed"]
    payload: DetentionReviewedPayload


class DetentionExtended(_Envelope):
    event_type: Literal["detention_extended"]
    payload: DetentionExtendedPayload


class Charged(_Envelope):
    event_type: Literal["charged"]
    payload: ChargedPayload


class BailRefused(_Envelope):
    event_type: Literal["bail_refused"]
    payload: Empty


class LaAccommodationRequested(_Envelope):
    event_type: Literal["la_accommodation_requested"]
    payload: LaAccommodationRequestedPayload


class LaAccommodationResponse(_Envelope):
    event_type: Literal["la_accommodation_response"]
    payload: LaAccommodationResponsePayload


class TransferImpracticableCertified(_Envelope):
    event_type: Literal["transfer_impracticable_certified"]
    payload: TransferImpracticablePayload


class TransferredToLa(_Envelope):
    event_type: Literal["transferred_to_la"]
    payload: TransferredToLaPayload


class TransferredToSuite(_Envelope):
    event_type: Literal["transferred_to_suite"]
    payload: TransferredToSuitePayload


class Released(_Envelope):
    event_type: Literal["released"]
    payload: ReleasedPayload


EVENT_MODELS: tuple[type[_Envelope], ...] = (
    DetentionAuthorised,
    AgeEstablished,
    AppropriateAdultRequested,
    AppropriateAdultArrived,
    DetentionReviewed,
    DetentionExtended,
    Charged,
    BailRefused,
    LaAccommodationRequested,
    LaAccommodationResponse,
    TransferImpracticableCertified,
    TransferredToLa,
    TransferredToSuite,
    Released,
)

CustodyEvent = Annotated[
    DetentionAuthorised
    | AgeEstablished
    | AppropriateAdultRequested
    | AppropriateAdultArrived
    | DetentionReviewed
    | DetentionExtended
    | Charged
    | BailRefused
    | LaAccommodationRequested
    | LaAccommodationResponse
    | TransferImpracticableCertified
    | TransferredToLa
    | TransferredToSuite
    | Released,
    Field(discriminator="event_type"),
]

EVENT_ADAPTER: TypeAdapter[CustodyEvent] = TypeAdapter(CustodyEvent)

EVENT_TYPES: frozenset[str] = frozenset(
    m.model_fields["event_type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in EVENT_MODELS
)
