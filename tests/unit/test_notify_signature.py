"""Webhook signatures: what a receiver accepts and what it refuses."""

from __future__ import annotations

import hashlib
import hmac

from custodywatch.notify.signature import sign, verify_signature

SECRET = b"receiver-secret"
BODY = b'{"idempotency_key":"CR-1/detention_duration/breach/0/x/raised"}'
T = 1_709_348_400


def test_the_header_is_the_documented_hmac() -> None:
    expected = hmac.new(SECRET, f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, T) == f"t={T},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, BODY, T)
    assert verify_signature(SECRET, header, BODY, now=T)
    assert verify_signature(SECRET, header, BODY, now=T + 300)  # at the tolerance
    assert verify_signature(SECRET, header, BODY, now=T - 299.5)  # a receiver's clock behind


def test_stale_and_future_timestamps_are_refused() -> None:
    header = sign(SECRET, BODY, T)
    assert not verify_signature(SECRET, header, BODY, now=T + 301)
    assert not verify_signature(SECRET, header, BODY, now=T - 301)
    assert verify_signature(SECRET, header, BODY, now=T + 3000, tolerance_s=3600)


def test_a_wrong_secret_or_changed_body_is_refused() -> None:
    header = sign(SECRET, BODY, T)
    assert not verify_signature(b"another-secret", header, BODY, now=T)
    assert not verify_signature(SECRET, header, BODY + b" ", now=T)
    assert not verify_signature(SECRET, header.replace(f"t={T}", f"t={T + 1}"), BODY, now=T)


def test_malformed_headers_are_refused() -> None:
    good = sign(SECRET, BODY, T)
    digest = good.split("v1=")[1]
    for header in (
        None,
        "",
        f"v1={digest}",
        f"t={T}",
        f"t=abc,v1={digest}",
        f"t={T},t={T},v1={digest}",
        f"t={T},v1",
        f"t=-{T},v1={digest}",
    ):
        assert not verify_signature(SECRET, header, BODY, now=T), header


def test_one_matching_v1_of_several_is_enough() -> None:
    """During a secret rotation a sender may sign with both secrets."""
    old = sign(b"old-secret", BODY, T).split("v1=")[1]
    header = f"{sign(SECRET, BODY, T)},v1={old}"
    assert verify_signature(SECRET, header, BODY, now=T)
    assert verify_signature(b"old-secret", header, BODY, now=T)
    assert not verify_signature(b"third", header, BODY, now=T)
