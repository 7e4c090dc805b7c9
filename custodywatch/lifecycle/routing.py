"""Who is who (`alerts/routing.yaml`): the recipients of each role and their channels.

Suite roles (custody sergeant, duty inspector) per suite, LA roles (out-of-hours
team, safeguarding partnership) per local authority, the superintendent and a
fallback recipient for the force. A webhook names the environment variable
that holds its secret (`secret_env`); a secret never goes in this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.notifications import Channel
from custodywatch.lifecycle._loading import Strict, load
from custodywatch.lifecycle.policy import FORCE_ROLES, LA_ROLES, SUITE_ROLES, Role

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r}: an id is lowercase letters, digits and '-', as in the events")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
FALLBACK = "force/fallback"


class Webhook(Strict):
    type: Literal["webhook"]
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+\S*$")]
    secret_env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
    """The NAME of the environment variable holding the signing secret."""

    @model_validator(mode="before")
    @classmethod
    def _no_secret_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "secret" in data:
            raise ValueError(
                "a secret never goes in this file: name the environment variable "
                "that holds it in secret_env"
            )
        return data


class Email(Strict):
    type: Literal["email"]
    address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class KafkaTopic(Strict):
    type: Literal["kafka"]
    topic: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


ChannelSpec = Annotated[Webhook | Email | KafkaTopic, Field(discriminator="type")]
CHANNEL_TAGS = frozenset({"webhook", "email", "kafka"})


class Recipient(Strict):
    channels: Annotated[tuple[ChannelSpec, ...], Field(min_length=1)]


class Suite(Strict):
    custody_sergeant: Recipient
    duty_inspector: Recipient


class LocalAuthority(Strict):
    out_of_hours: Recipient
    safeguarding_partnership: Recipient


class Force(Strict):
    superintendent: Recipient
    fallback: Recipient
    """Told in place of a suite or LA role when an alert names a suite or LA not listed here."""


@dataclass(frozen=True, slots=True)
class Address:
    channel: Channel
    address: str
    """URL, e-mail address or topic."""
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Where some roles of one alert go. `fallback` says why it is not the roles' own recipient."""

    recipient: str
    roles: tuple[Role, ...]
    addresses: tuple[Address, ...]
    fallback: tuple[str, ...] = ()


def addresses_of(recipient: Recipient) -> tuple[Address, ...]:
    """A recipient's channels as delivery addresses, in the file's order."""
    out = []
    for c in recipient.channels:
        if isinstance(c, Webhook):
            out.append(Address("webhook", c.url, c.secret_env))
        elif isinstance(c, Email):
            out.append(Address("email", c.address))
        else:
            out.append(Address("kafka", c.topic))
    return tuple(out)


class Routing(Strict):
    version: Literal[1] = 1
    force: Force
    suites: dict[Slug, Suite]
    local_authorities: dict[Slug, LocalAuthority]

    def resolve(self, role: Role, record: AlertRecord) -> Target:
        """The recipient of `role` for this alert; the force fallback if its suite or LA is unknown."""
        if role in FORCE_ROLES:
            return Target(f"force/{role}", (role,), addresses_of(self.force.superintendent))
        known: Suite | LocalAuthority | None
        if role in SUITE_ROLES:
            scope, key = "suite", record.suite_id
            known = self.suites.get(key)
        else:
            assert role in LA_ROLES
            scope, key = "la", record.home_local_authority
            known = self.local_authorities.get(key)
        if known is None:
            why = f"{scope} {key!r} is not in the routing file; you are told in place of its {role}"
            return Target(FALLBACK, (role,), addresses_of(self.force.fallback), (why,))
        recipient: Recipient = getattr(known, role)
        return Target(f"{scope}/{key}/{role}", (role,), addresses_of(recipient))

    def targets(self, roles: tuple[Role, ...], record: AlertRecord) -> tuple[Target, ...]:
        """One target per recipient: roles that fall back to the same recipient are told once."""
        merged: dict[str, Target] = {}
        for role in dict.fromkeys(roles):
            t = self.resolve(role, record)
            if t.recipient in merged:
                m = merged[t.recipient]
                t = Target(t.recipient, m.roles + t.roles, m.addresses, m.fallback + t.fallback)
            merged[t.recipient] = t
        return tuple(merged.values())

    def again(self, recipient: str, role: Role, record: AlertRecord) -> Target:
        """The target of someone already told (for a closing notice), by their routing id."""
        resolved = self.resolve(role, record)
        if resolved.recipient == recipient:
            return resolved
        if recipient == FALLBACK:
            return Target(FALLBACK, (role,), addresses_of(self.force.fallback), resolved.fallback)
        # Routing changed since they were told: tell whoever holds the role now.
        return resolved


class RoutingError(ValueError):
    """A routing file that cannot be used; the message names each bad key."""


def routing_from_yaml(text: str) -> Routing:
    routing: Routing = load(text, Routing, "routing", RoutingError, CHANNEL_TAGS)
    return routing
