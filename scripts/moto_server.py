#!/usr/bin/env python3
"""moto server with realistic SES v1 Easy-DKIM behaviour, for integration tests.

Usage::

    .venv/bin/python scripts/moto_server.py --host 127.0.0.1 --port 0

Starts moto (5.2.5) in server mode, like ``moto_server``, after patching the
SES v1 backend in-process.  Once the socket is listening, exactly one line is
written to stdout and flushed::

    READY http://127.0.0.1:<port>

(``--port 0`` picks a free port; the line carries the real one.)  Everything
moto or werkzeug prints afterwards goes to stderr.  The server runs until
SIGTERM or SIGINT, then shuts down and exits with status 0.

Patched SES v1 behaviour (everything else in moto is untouched)
----------------------------------------------------------------
* ``VerifyDomainDkim(Domain)`` creates the domain identity if needed (as moto
  does) and returns three DKIM tokens of 32 chars from ``[a-z0-9]``, unique per
  (account, region, domain, generation).  Repeated calls return the same tokens
  while the status is ``Pending`` or ``Success``.  A new *generation* (new
  tokens, forcing cleared) starts when the effective status is ``Failed``,
  ``TemporaryFailure`` or ``NotStarted``, or when the identity was deleted
  (``DeleteIdentity``, moto reset) and re-created.  Obviously invalid domains
  (empty, characters outside ``[A-Za-z0-9._-]``, empty labels, leading or
  trailing dot, label > 63 or name > 253 chars, single label) are rejected
  with ``InvalidParameterValue``.
* ``GetIdentityDkimAttributes(Identities)``: identities that do not exist are
  omitted.  For a domain identity on which DKIM was started:
  ``DkimEnabled=true``, ``DkimTokens`` = current tokens and
  ``DkimVerificationStatus`` = the forced status if set, else ``Success`` if
  all three CNAMEs ``<token>._domainkey.<domain>`` exist in a *public* Route 53
  hosted zone of any account (public DNS; a DNS account's zone counts) with value
  ``<token>.<signing zone>`` (trailing dot optional, case-insensitive), else
  ``Pending``.  The *signing zone* is fixed when DKIM starts (each generation):
  ``dkim.<region>.amazonses.com`` in the Regions SES lists with a regional Easy
  DKIM domain, else ``dkim.amazonses.com``, unless a test moved the domain to
  another cell (``/_harness/ses/signing-zone``).  No other zone verifies.  Private hosted zones are ignored (SES
  resolves public DNS).  A domain identity on which DKIM was never started
  (e.g. only ``VerifyDomainIdentity``) reports ``DkimEnabled=false``,
  ``DkimVerificationStatus=NotStarted``, ``DkimTokens=[]``, like real SES.
  Existing email-address identities are answered by moto's original code.

* SES v2 ``GetEmailIdentity(EmailIdentity)`` for a domain answers from the same
  state: ``NotFoundException`` for no identity; ``DkimAttributes`` with ``Status``
  (v1's status in v2's words: ``SUCCESS``, ``PENDING``, ...), ``Tokens``,
  ``SigningHostedZone`` (the signing zone), ``SigningAttributesOrigin=AWS_SES``,
  ``CurrentSigningKeyLength`` and ``NextSigningKeyLength`` (``RSA_2048_BIT``,
  SES's default) and ``LastKeyGenerationTimestamp``; ``NOT_STARTED`` with no
  tokens while DKIM never started.  moto's own answer ignores VerifyDomainDkim.

* ``SetIdentityMailFromDomain(Identity, MailFromDomain, BehaviorOnMXFailure)``
  follows SES, not moto: the identity must be an existing domain identity; the
  MAIL FROM domain must be a subdomain of it (``bounce.example.com`` for
  ``example.com``; not ``example.com`` itself, not ``notexample.com``), else
  ``InvalidParameterValue``; ``BehaviorOnMXFailure`` is ``UseDefaultValue``
  (the default) or ``RejectMessage``; no ``MailFromDomain`` clears the setting.
  Each call with a domain starts a new setup, ``Pending``.
* ``GetIdentityMailFromDomainAttributes(Identities)``: unknown identities are
  omitted; an identity without MAIL FROM answers only
  ``BehaviorOnMXFailure=UseDefaultValue``.  ``MailFromDomainStatus`` depends on
  the MX record alone, as in SES: ``Success`` while exactly one MX exists at the
  MAIL FROM domain in a public zone of any account with the value ``10
  feedback-smtp.<region>.amazonses.com`` (trailing dot optional,
  case-insensitive); ``Pending`` before that; ``Failed`` once the MX goes away
  after ``Success``, or 72 hours after the setup began without it, and then for
  good (SES stops looking; set it again to restart).  SPF TXT records play no
  part.

Patched Route 53 behaviour
--------------------------
``ChangeResourceRecordSets`` refuses the whole batch with ``InvalidChangeBatch``
and Route 53's message, as Route 53 does, where moto is lax: a ``CREATE`` of a
set (name and type) that exists, a ``DELETE`` whose values or TTL differ from the
set's or whose set does not exist, and any other type beside a CNAME (or a CNAME
beside another type).  Changes are checked in order, so an exact ``DELETE`` then
a ``CREATE`` of the same set in one batch swaps it.  Weighted, alias and other
non-simple sets are left to moto.

Patched EventBridge behaviour
-----------------------------
``PutEvents`` and the rule and target changes (``PutRule``, ``DeleteRule``,
``EnableRule``, ``DisableRule``, ``PutTargets``, ``RemoveTargets``) take one lock:
unpatched, a rule changed on another thread during ``PutEvents``' walk of the bus
fails it midway with a 500 after some targets got the event, and the SDK's retry
delivers it to them again.

Test control endpoint (same host/port; not an AWS API; unsigned plain HTTP)
----------------------------------------------------------------------------
``GET /_harness/ses/dkim-status?domain=D[&region=R][&account_id=A]``
    Current DKIM state of domain identity D (lower-cased) in account A
    (default ``123456789012``) and region R (default ``us-east-1``).

``POST /_harness/ses/dkim-status`` with a JSON body::

    {"domain": "example.com", "status": "Failed",
     "region": "us-east-1", "account_id": "123456789012"}

    ``status`` is one of Success, Pending, Failed, TemporaryFailure,
    NotStarted, or null to clear the forcing (the key is required).
    ``region`` and ``account_id`` are optional (defaults as above).
    The forced status applies to the current generation only.

Both answer ``200`` with ``application/json``::

    {"account_id": "123456789012", "region": "us-east-1",
     "domain": "example.com", "dkim_enabled": true, "generation": 1,
     "tokens": ["<32 chars>", "<32 chars>", "<32 chars>"],
     "forced_status": null, "signing_zone": "dkim.amazonses.com",
     "records_present": [true, false, true],
     "status": "Pending"}

``generation`` is 0 and ``tokens`` is ``[]`` while DKIM was never started on
the identity.  ``status`` is what GetIdentityDkimAttributes would report.
Errors: ``400 {"error": "BadRequest", "message": ...}`` for a missing domain,
bad JSON or an unknown status; ``404 {"error": "NotFound", ...}`` when the
domain identity does not exist in that account/region; ``405`` for other
methods; ``404`` for any other ``/_harness/`` path.

``GET /_harness/ses/signing-zone?domain=D[&region=R][&account_id=A]`` and
``POST /_harness/ses/signing-zone`` with ``{"domain": D, "signing_zone": Z}``
    The signing zone domain D's DKIM gets when it next starts (a new
    generation): ``Z`` (a DNS name; case and a final dot folded), or the
    Region's usual zone after ``null``.  A generation keeps the zone it started
    with.  Answers ``{"account_id", "region", "domain", "signing_zone"}``; ``400``
    without a valid ``domain``, or a POST without ``signing_zone`` or with a
    zone that is not a DNS name.

``GET /_harness/ses/mail-from-status?identity=D[&region=R][&account_id=A]``
    The MAIL FROM state of identity D: ``{"identity", "mail_from_domain",
    "status", "behavior_on_mx_failure", "forced_status", "mx_found"}``
    (``mail_from_domain`` and ``status`` null when none is set).

``POST /_harness/ses/mail-from-status`` with ``{"identity": D, "status": S}``
    (S one of Pending, Success, Failed, TemporaryFailure, or null to clear the
    forcing; optional ``"setSecondsAgo": N`` moves the start of the setup back,
    to reach the 72-hour window without waiting).  404 when D has no MAIL FROM.

Test controls for AWS API calls: throttling, call log, latency
---------------------------------------------------------------
An *AWS API call* is any request outside ``/_harness/`` and ``/moto-api/``
that is SigV4-signed.  Its service is the signing name in the credential
scope of the ``Authorization`` header (``Credential=AK/20260101/us-east-1/ses/
aws4_request`` -> ``ses``; presigned ``X-Amz-Credential`` likewise); unsigned
requests pass through untouched.  Its action is the query protocol's
``Action`` (query string or form body, which is buffered and handed on
intact), the JSON protocol's ``X-Amz-Target`` after the last dot
(``AWSEvents.PutEvents`` -> ``PutEvents``), or for REST services the
operation whose HTTP binding in botocore's model matches method and path
(``POST /2013-04-01/hostedzone/Z1/rrset/`` -> ``ChangeResourceRecordSets``),
else ``"<METHOD> <path>"``.  Counters and log entries name calls
``service:Action`` (``ses:VerifyDomainDkim``, ``route53:GetChange``).

``POST /_harness/throttle`` with a JSON body::

    {"rules": [{"service": "ses", "perAction": true, "calls": 1, "perSeconds": 1.0},
               {"service": "route53", "perAction": false, "calls": 5, "perSeconds": 1.0}]}

    A sliding-window limiter per rule: at most ``calls`` accepted calls in
    any window of ``perSeconds`` seconds, counted per service, or per
    (service, action) when ``perAction`` is true (default false).  A rule with
    ``"region": R`` counts and throttles only calls signed for Region R (SES's
    limits are per Region) and wins over the service's rule without a region.
    At most one rule per (service, region); ``calls`` is an integer >= 0 (0
    throttles every call),
    ``perSeconds`` a number > 0.  A throttled call is not passed to moto and
    does not use up the window.  It is answered ``400`` in the service's own
    error shape with code ``Throttling`` and message ``Rate exceeded``:

    * query protocol (SES v1): ``text/xml`` ``<ErrorResponse xmlns="http://
      ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>
      Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>..
      </RequestId></ErrorResponse>``;
    * REST-XML (Route 53): the same document with ``xmlns="https://
      route53.amazonaws.com/doc/2013-04-01/"``;
    * JSON and REST-JSON (events, scheduler): ``{"__type": "Throttling",
      "message": "Rate exceeded"}`` (REST-JSON also sends ``X-Amzn-Errortype:
      Throttling``).

    The AWS SDK for Rust reads the code from ``ErrorResponse/Error/Code`` (XML)
    or ``X-Amzn-Errortype`` / ``code`` / ``__type`` (JSON), and its
    ``AwsErrorCodeClassifier`` lists ``Throttling`` among the throttling
    errors, so it retries with backoff; botocore does the same.
    ``{"rules": []}`` turns throttling off.  Every POST resets the windows,
    the counters and the call log.  Answer: as for GET.

``GET /_harness/throttle``::

    {"rules": [<as posted, with defaults filled in>],
     "accepted": {"ses:VerifyDomainDkim": 3, "route53:GetChange": 1},
     "throttled": {"ses:VerifyDomainDkim": 2}}

    Counts of every AWS API call since the last POST, throttled or not,
    whether or not a rule applies to its service.

``GET /_harness/calls[?service=S][&action=A][&accessKeyId=K]``::

    {"calls": [{"t": 1764300000.123, "service": "ses",
                "action": "VerifyDomainDkim", "accessKeyId": "testing",
                "region": "us-east-1", "throttled": false}, ...]}

    Every AWS API call since the last POST /_harness/throttle, oldest
    first; ``t`` is the arrival time (Unix seconds).  ``accessKeyId`` is
    the access key the call was signed with: the first field of the
    credential scope (``Credential=AKID/20260101/us-east-1/ses/aws4_request``
    -> ``AKID``), so a test can tell the caller's own credentials from ones
    it got from STS ``AssumeRole`` (moto answers AssumeRole for any role
    ARN, existing or not, with a fresh ``ASIA...`` key that moto then maps
    to the role's account).  At most the latest 100000 are kept.

``POST /_harness/latency`` with ``{"seconds": 0.05}`` delays the answer to
every AWS API call (throttled or not) by that long, 0 to 60 s; 0 turns it
off.  ``GET /_harness/latency`` answers the current ``{"seconds": ...}``.

These controls survive a moto reset (``/moto-api/reset``).  Errors: ``400
{"error": "BadRequest", ...}`` for bad JSON or values, ``405`` for other
methods.
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import io
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from typing import Any, NamedTuple

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
VALID_STATUSES = ("Success", "Pending", "Failed", "TemporaryFailure", "NotStarted")
REGENERATE_STATUSES = ("Failed", "TemporaryFailure", "NotStarted")
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
HARNESS_PREFIX = "/_harness/"
MOTO_API_PREFIX = "/moto-api/"
CALL_LOG_LIMIT = 100_000
# How much of a request body the call log keeps.
REQUEST_LOG_BYTES = 4096
MAX_LATENCY_SECONDS = 60.0

# --------------------------------------------------------------------------
# DKIM state, keyed by (account_id, region, domain).  Kept outside the moto
# backend objects so that the generation counter survives DeleteIdentity and
# moto resets (new identity object => new generation => new tokens).
# --------------------------------------------------------------------------


class _DkimState:
    __slots__ = ("identity", "generation", "tokens", "forced", "signing_zone", "generated_at")

    def __init__(self, identity: Any) -> None:
        self.identity = identity  # the moto EmailIdentity this state belongs to
        self.generation = 0  # 0 = DKIM never started on this identity
        self.tokens: list[str] = []
        self.forced: str | None = None
        # Where this generation's keys are published: fixed when DKIM starts, as SES
        # places an identity in a cell (SES v2 SigningHostedZone).
        self.signing_zone = ""
        self.generated_at = 0.0


# Regions whose Easy DKIM domain is dkim.<region>.amazonses.com, not
# dkim.amazonses.com ("Easy DKIM domains",
# https://docs.aws.amazon.com/general/latest/gr/ses.html).
REGIONAL_DKIM_REGIONS = frozenset({
    "af-south-1", "ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-5",
    "ca-west-1", "eu-central-2", "eu-south-1", "il-central-1", "me-central-1",
    "us-gov-east-1",
})
# Signing zones a test set for a domain, per (account_id, region, domain): applied
# when its DKIM next starts (a new generation), as if SES placed the identity in a
# cell other than the Region's usual zone.
_SIGNING_ZONE_OVERRIDES: dict[tuple[str, str, str], str] = {}


def default_signing_zone(region: str) -> str:
    return f"dkim.{region}.amazonses.com" if region in REGIONAL_DKIM_REGIONS else "dkim.amazonses.com"


def signing_zone_for_new(account_id: str, region: str, domain: str) -> str:
    return _SIGNING_ZONE_OVERRIDES.get((account_id, region, domain)) \
        or default_signing_zone(region)


_STATE: dict[tuple[str, str, str], _DkimState] = {}
# Generations ever used per key; only grows, so tokens are never reused.
_GENERATIONS: dict[tuple[str, str, str], int] = {}
_LOCK = threading.RLock()


def make_tokens(account_id: str, region: str, domain: str, generation: int) -> list[str]:
    tokens = []
    for i in range(3):
        digest = hashlib.sha256(
            f"dkim-autopilot|{account_id}|{region}|{domain}|{generation}|{i}".encode()
        ).digest()
        n = int.from_bytes(digest, "big")
        chars = []
        for _ in range(32):
            n, r = divmod(n, len(TOKEN_ALPHABET))
            chars.append(TOKEN_ALPHABET[r])
        tokens.append("".join(chars))
    return tokens


_LABEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


def is_valid_domain(domain: Any) -> bool:
    if not isinstance(domain, str) or not domain or len(domain) > 253:
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    return all(_LABEL_RE.match(label) for label in labels)


_ESCAPE_RE = re.compile(r"\\(\d{3})")


def normalize_dns_name(name: str) -> str:
    """Lower-case, decode Route 53 ``\\ddd`` octal escapes, strip trailing dot."""
    name = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)), name)
    return name.rstrip(".").lower()


def _public_rrsets(rtype: str) -> dict[str, list[list[str]]]:
    """Every record set of type `rtype` in every public zone of every account:
    name -> the value lists of its record sets (one list per set)."""
    from moto.route53.models import route53_backends

    out: dict[str, list[list[str]]] = {}
    backends = [b for account in list(route53_backends.values()) for b in list(account.values())]
    for partition_backend in backends:
        for zone in list(partition_backend.zones.values()):
            if zone.private_zone:
                continue
            for rrset in list(zone.rrsets):
                if (rrset.type or "").upper() != rtype:
                    continue
                values = []
                for value in rrset.records or []:
                    if isinstance(value, dict):
                        value = value.get("Value", "")
                    values.append(str(value))
                out.setdefault(normalize_dns_name(rrset.name), []).append(values)
    return out


def _cname_targets(account_id: str) -> dict[str, set[str]]:
    """All CNAMEs in public Route 53 zones: name -> values.  Public DNS is every
    account's public zones (a zone in another account, reached through a role, is
    as public as one in the SES account); `account_id` is kept for the callers."""
    return {
        name: {normalize_dns_name(v) for values in sets for v in values}
        for name, sets in _public_rrsets("CNAME").items()
    }


def records_present(account_id: str, region: str, domain: str, tokens: list[str],
                    signing_zone: str = "") -> list[bool]:
    """Whether each token's CNAME points at ``<token>.<signing zone>``: the one place
    SES publishes this identity's key (no other zone will do)."""
    cnames = _cname_targets(account_id)
    zone = signing_zone or default_signing_zone(region)
    return [f"{token}.{zone}" in cnames.get(f"{token}._domainkey.{domain}", set())
            for token in tokens]


def _ses_backend(account_id: str, region: str) -> Any:
    from moto.ses.models import ses_backends

    return ses_backends[account_id][region]


def _current_state(backend: Any, domain: str, create: bool) -> _DkimState | None:
    """State for the *existing* identity `domain`, or None if no identity.

    Must be called with _LOCK held.  A state bound to a previous (deleted)
    identity object is dropped (the generation counter lives in _GENERATIONS).
    """
    identity = backend.email_identities.get(domain)
    if identity is None:
        return None
    key = (backend.account_id, backend.region_name, domain)
    state = _STATE.get(key)
    if state is not None and state.identity is identity:
        return state
    if not create:
        return None
    state = _STATE[key] = _DkimState(identity)
    return state


def _started(state: _DkimState | None) -> bool:
    return state is not None and state.generation > 0


def _effective_status(backend: Any, domain: str, state: _DkimState | None) -> str:
    parent_region = replica_parent(backend, domain)
    if parent_region is not None:  # a replica signs, and verifies, as its parent does
        parent = _ses_backend(backend.account_id, parent_region)
        return _effective_status(parent, domain, _current_state(parent, domain, create=False))
    if state is not None and state.forced:
        return state.forced
    if state is None or not _started(state):
        return "NotStarted"
    present = records_present(backend.account_id, backend.region_name, domain, state.tokens,
                              state.signing_zone)
    return "Success" if all(present) else "Pending"


def _start_new_generation(backend: Any, domain: str, state: _DkimState) -> None:
    key = (backend.account_id, backend.region_name, domain)
    _GENERATIONS[key] = _GENERATIONS.get(key, 0) + 1
    state.generation = _GENERATIONS[key]
    state.tokens = make_tokens(backend.account_id, backend.region_name, domain, state.generation)
    state.forced = None
    state.signing_zone = signing_zone_for_new(backend.account_id, backend.region_name, domain)
    state.generated_at = time.time()
    lengths = key_lengths(backend, domain)
    if lengths is not None:  # a new key is as long as the identity's next key
        lengths.current = lengths.next


def verify_domain_dkim(backend: Any, domain: str) -> list[str]:
    domain = domain.lower()
    with _LOCK:
        backend.verify_domain(domain)  # moto: create identity if missing
        state = _current_state(backend, domain, create=True)
        assert state is not None
        if not _started(state) or _effective_status(backend, domain, state) in REGENERATE_STATUSES:
            _start_new_generation(backend, domain, state)
        return list(state.tokens)


def describe(backend: Any, domain: str) -> dict[str, Any] | None:
    domain = domain.lower()
    with _LOCK:
        if domain not in backend.email_identities:
            return None
        state = _current_state(backend, domain, create=False)
        started = _started(state)
        tokens = list(state.tokens) if started else []
        return {
            "account_id": backend.account_id,
            "region": backend.region_name,
            "domain": domain,
            "dkim_enabled": started,
            "generation": state.generation if started else 0,
            "tokens": tokens,
            "forced_status": state.forced if state is not None else None,
            "signing_zone": state.signing_zone if started else None,
            "records_present": records_present(
                backend.account_id, backend.region_name, domain, tokens,
                state.signing_zone if started else ""
            ),
            "status": _effective_status(backend, domain, state),
        }


def force_status(backend: Any, domain: str, status: str | None) -> dict[str, Any] | None:
    domain = domain.lower()
    with _LOCK:
        state = _current_state(backend, domain, create=True)
        if state is None:
            return None
        state.forced = status
        return describe(backend, domain)


# --------------------------------------------------------------------------
# Custom MAIL FROM, keyed by (account_id, region, identity).  moto marks a MAIL
# FROM domain Success the moment it is set and accepts any domain that merely
# ends with the identity's name; SES does neither
# (https://docs.aws.amazon.com/ses/latest/dg/mail-from.html,
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MailFromAttributes.html).
# --------------------------------------------------------------------------

MAIL_FROM_STATUSES = ("Pending", "Success", "Failed", "TemporaryFailure")
MAIL_FROM_BEHAVIORS = ("UseDefaultValue", "RejectMessage")
# SES looks for the MX this long after MAIL FROM is set, then marks it Failed.
MAIL_FROM_WINDOW_SECONDS = 72 * 3600


class _MailFromState:
    __slots__ = ("identity", "domain", "behavior", "set_at", "memo", "forced")

    def __init__(self, identity: Any, domain: str, behavior: str) -> None:
        self.identity = identity  # the moto EmailIdentity it was set on
        self.domain = domain
        self.behavior = behavior
        self.set_at = time.time()
        # What SES last concluded: Pending until the MX is seen, Success once it
        # was, Failed for good once the window closed or the MX went away.
        self.memo = "Pending"
        self.forced: str | None = None


_MAIL_FROM: dict[tuple[str, str, str], _MailFromState] = {}


def mail_from_mx_value(region: str) -> str:
    return f"10 feedback-smtp.{region}.amazonses.com"


def mail_from_mx_found(region: str, mail_from_domain: str) -> bool:
    """Exactly one MX at the MAIL FROM domain, and it is SES's (trailing dot
    optional, case-insensitive). More than one MX makes the setup fail."""
    sets = _public_rrsets("MX").get(normalize_dns_name(mail_from_domain), [])
    values = [v for values in sets for v in values]
    if len(values) != 1:
        return False
    priority, _, host = values[0].strip().partition(" ")
    wanted_priority, _, wanted_host = mail_from_mx_value(region).partition(" ")
    return priority == wanted_priority and normalize_dns_name(host.strip()) == wanted_host


def is_mail_from_subdomain(mail_from_domain: str, identity: str) -> bool:
    """AWS's rule: a subdomain of the identity's domain (not the domain itself,
    and not a domain that merely ends with its name)."""
    domain = identity.split("@")[-1].lower()
    candidate = mail_from_domain.lower().rstrip(".")
    return is_valid_domain(candidate) and candidate.endswith("." + domain)


def _mail_from_state(backend: Any, identity: str) -> _MailFromState | None:
    """The MAIL FROM state of the *existing* identity, or None (never set, cleared,
    or set on an identity since deleted).  Call with _LOCK held."""
    current = backend.email_identities.get(identity)
    key = (backend.account_id, backend.region_name, identity)
    state = _MAIL_FROM.get(key)
    if current is None or state is None or state.identity is not current:
        return None
    return state


def mail_from_status(backend: Any, state: _MailFromState) -> str:
    """What SES reports now.  Call with _LOCK held."""
    if state.forced:
        return state.forced
    if state.memo == "Failed":
        return "Failed"  # SES stops looking; the setup must be restarted
    if mail_from_mx_found(backend.region_name, state.domain):
        state.memo = "Success"
    elif state.memo == "Success":
        state.memo = "Failed"  # the MX "no longer exists"
    elif time.time() - state.set_at > MAIL_FROM_WINDOW_SECONDS:
        state.memo = "Failed"
    return state.memo


def set_mail_from(backend: Any, identity: str, domain: str | None, behavior: str | None) -> None:
    """SetIdentityMailFromDomain after its checks: a domain starts a new setup
    (Pending); none clears it.  Call with _LOCK held."""
    key = (backend.account_id, backend.region_name, identity)
    if not domain:
        _MAIL_FROM.pop(key, None)
        return
    _MAIL_FROM[key] = _MailFromState(
        backend.email_identities[identity], domain.lower().rstrip("."),
        behavior or "UseDefaultValue",
    )


def describe_mail_from(backend: Any, identity: str) -> dict[str, Any] | None:
    identity = identity.lower()
    with _LOCK:
        if identity not in backend.email_identities:
            return None
        state = _mail_from_state(backend, identity)
        if state is None:
            return {"identity": identity, "mail_from_domain": None, "status": None,
                    "behavior_on_mx_failure": "UseDefaultValue", "forced_status": None,
                    "mx_found": False}
        return {"identity": identity, "mail_from_domain": state.domain,
                "status": mail_from_status(backend, state),
                "behavior_on_mx_failure": state.behavior, "forced_status": state.forced,
                "mx_found": mail_from_mx_found(backend.region_name, state.domain)}


def force_mail_from_status(backend: Any, identity: str, status: str | None,
                           set_seconds_ago: float | None) -> dict[str, Any] | None:
    identity = identity.lower()
    with _LOCK:
        state = _mail_from_state(backend, identity)
        if state is None:
            return None
        state.forced = status
        if set_seconds_ago is not None:
            state.set_at = time.time() - set_seconds_ago
        return describe_mail_from(backend, identity)


# --------------------------------------------------------------------------
# moto patches
# --------------------------------------------------------------------------


def patch_moto_ses() -> None:
    from moto.core.responses import ActionResult
    from moto.ses.exceptions import InvalidParameterValue
    from moto.ses.models import SESBackend
    from moto.ses.responses import EmailResponse

    original_get_dkim = SESBackend.get_identity_dkim_attributes

    def get_identity_dkim_attributes(self: Any, identities: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for ident in identities or []:
            if "@" in ident:
                if ident in self.email_identities:
                    result.update(original_get_dkim(self, [ident]))
                continue
            domain = ident.lower()
            if domain not in self.email_identities:
                continue  # real SES omits unknown identities
            with _LOCK:
                state = _current_state(self, domain, create=False)
                started = _started(state)
                result[ident] = {
                    "DkimEnabled": started,
                    "DkimVerificationStatus": _effective_status(self, domain, state),
                    "DkimTokens": list(state.tokens) if started else [],
                }
        return result

    def response_verify_domain_dkim(self: Any) -> Any:
        domain = self._get_param("Domain")
        if not is_valid_domain(domain):
            raise InvalidParameterValue(f"Invalid domain name {domain}.")
        return ActionResult({"DkimTokens": verify_domain_dkim(self.backend, domain)})

    def set_identity_mail_from_domain(self: Any, identity: str, mail_from_domain: str | None = None,
                                      behavior_on_mx_failure: str | None = None) -> None:
        ident = (identity or "").lower()
        if "@" in ident or ident not in self.email_identities:
            raise InvalidParameterValue(f"Identity '{identity}' does not exist.")
        if mail_from_domain and not is_mail_from_subdomain(mail_from_domain, ident):
            raise InvalidParameterValue(
                f"Provided MAIL-FROM domain '{mail_from_domain}' is not subdomain of "
                f"the domain of the identity '{ident}'."
            )
        if behavior_on_mx_failure not in (None, *MAIL_FROM_BEHAVIORS):
            raise InvalidParameterValue(
                f"Invalid BehaviorOnMXFailure {behavior_on_mx_failure}; "
                f"expected one of {list(MAIL_FROM_BEHAVIORS)}."
            )
        with _LOCK:
            set_mail_from(self, ident, mail_from_domain, behavior_on_mx_failure)

    def get_identity_mail_from_domain_attributes(self: Any,
                                                 identities: list[str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for ident in identities or []:
            key = ident.lower()
            if key not in self.email_identities:
                continue  # real SES omits unknown identities
            with _LOCK:
                state = _mail_from_state(self, key)
                if state is None:
                    result[ident] = {"BehaviorOnMXFailure": "UseDefaultValue"}
                    continue
                result[ident] = {
                    "MailFromDomain": state.domain,
                    "MailFromDomainStatus": mail_from_status(self, state),
                    "BehaviorOnMXFailure": state.behavior,
                }
        return result

    original_delete = SESBackend.delete_identity

    def delete_identity(self: Any, identity: str) -> None:
        # SES keeps a DEED parent while replicas remain (code unconfirmed for v1).
        regions = replicas_of(self, (identity or "").lower())
        if regions:
            raise InvalidParameterValue(
                f"{identity} is the parent of replicas in {', '.join(regions)}; delete them first")
        original_delete(self, identity)

    SESBackend.delete_identity = delete_identity
    SESBackend.get_identity_dkim_attributes = get_identity_dkim_attributes
    EmailResponse.verify_domain_dkim = response_verify_domain_dkim
    SESBackend.set_identity_mail_from_domain = set_identity_mail_from_domain
    SESBackend.get_identity_mail_from_domain_attributes = get_identity_mail_from_domain_attributes



# --------------------------------------------------------------------------
# SES v2 GetEmailIdentity, from the same DKIM state as v1.  moto answers a fixed
# DkimAttributes (NOT_STARTED, RSA_1024_BIT, no tokens, no SigningHostedZone) that
# ignores VerifyDomainDkim; SES answers what v1 would, in v2's words
# (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DkimAttributes.html).
# --------------------------------------------------------------------------

V2_STATUS = {"Success": "SUCCESS", "Pending": "PENDING", "Failed": "FAILED",
             "TemporaryFailure": "TEMPORARY_FAILURE", "NotStarted": "NOT_STARTED"}
DEFAULT_KEY_LENGTH = "RSA_2048_BIT"
KEY_LENGTHS = ("RSA_1024_BIT", "RSA_2048_BIT")
# SES lets an identity's next key length change at most once a day
# (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DkimSigningAttributes.html).
KEY_CHANGE_INTERVAL_SECONDS = 24 * 3600


class _KeyLengths:
    __slots__ = ("current", "next", "changed_at")

    def __init__(self) -> None:
        self.current = DEFAULT_KEY_LENGTH
        self.next = DEFAULT_KEY_LENGTH
        self.changed_at: float | None = None  # last PutEmailIdentityDkimSigningAttributes


# Per (account_id, region, domain), bound to the identity object as _STATE is: an
# identity deleted and created again starts at SES's default (2048) once more.
_KEY_LENGTHS: dict[tuple[str, str, str], tuple[Any, _KeyLengths]] = {}


def key_lengths(backend: Any, domain: str) -> _KeyLengths | None:
    """The key lengths of the existing identity `domain`; None if there is none."""
    with _LOCK:
        identity = backend.email_identities.get(domain)
        if identity is None:
            return None
        key = (backend.account_id, backend.region_name, domain)
        bound = _KEY_LENGTHS.get(key)
        if bound is None or bound[0] is not identity:
            bound = _KEY_LENGTHS[key] = (identity, _KeyLengths())
        return bound[1]


def set_key_lengths(backend: Any, domain: str, current: str, next_: str) -> bool:
    """A test's identity whose keys are `current` and `next_` long, changed by nobody
    today. False if the identity does not exist."""
    with _LOCK:
        lengths = key_lengths(backend, domain)
        if lengths is None:
            return False
        lengths.current, lengths.next, lengths.changed_at = current, next_, None
        return True


class KeyChangeRefused(Exception):
    """What SES answers a PutEmailIdentityDkimSigningAttributes it refuses."""


def change_next_key_length(backend: Any, domain: str, origin: str | None,
                           length: str | None, now: float) -> dict[str, Any]:
    """SES's PutEmailIdentityDkimSigningAttributes for Easy DKIM, as SES checks it: the
    identity exists, the length is one SES offers and not the one already configured,
    and the last change is a day old. The key SES signs with keeps its length until
    its next generation; the tokens stay (whether SES changes them is unconfirmed, and
    the function re-reads them either way)."""
    domain = domain.lower()
    with _LOCK:
        if domain not in backend.email_identities:
            raise LookupError(domain)
        if origin != "AWS_SES":
            raise KeyChangeRefused(f"SigningAttributesOrigin {origin!r} is not AWS_SES")
        if length not in KEY_LENGTHS:
            raise KeyChangeRefused(f"NextSigningKeyLength {length!r} must be one of {KEY_LENGTHS}")
        lengths = key_lengths(backend, domain)
        assert lengths is not None
        if lengths.next == length:
            raise KeyChangeRefused(f"the next signing key length is already {length}")
        if lengths.changed_at is not None and now - lengths.changed_at < KEY_CHANGE_INTERVAL_SECONDS:
            raise KeyChangeRefused("the signing key length can be changed at most once per day")
        lengths.next, lengths.changed_at = length, now
        state = _current_state(backend, domain, create=False)
        started = _started(state)
        return {
            "DkimStatus": V2_STATUS[_effective_status(backend, domain, state)] if started
            else "NOT_STARTED",
            "DkimTokens": list(state.tokens) if started and state is not None else [],
        }


def email_identity_dkim(backend: Any, domain: str) -> dict[str, Any] | None:
    """SES v2 ``DkimAttributes`` of domain identity `domain`, or None if no identity."""
    domain = domain.lower()
    with _LOCK:
        if domain not in backend.email_identities:
            return None
        parent_region = replica_parent(backend, domain)
        if parent_region is not None:
            return replica_dkim(backend, domain, parent_region)
        state = _current_state(backend, domain, create=False)
        if not _started(state):
            return {"SigningEnabled": False, "Status": "NOT_STARTED", "Tokens": [],
                    "SigningAttributesOrigin": "AWS_SES"}
        assert state is not None
        lengths = key_lengths(backend, domain)
        assert lengths is not None
        return {
            "SigningEnabled": True,
            "Status": V2_STATUS[_effective_status(backend, domain, state)],
            "Tokens": list(state.tokens),
            "SigningHostedZone": state.signing_zone,
            "SigningAttributesOrigin": "AWS_SES",
            "CurrentSigningKeyLength": lengths.current,
            "NextSigningKeyLength": lengths.next,
            "LastKeyGenerationTimestamp": state.generated_at,
        }


def patch_moto_sesv2() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.ses.exceptions import NotFoundException

    class BadRequestException(JsonRESTError):
        code = 400

        def __init__(self, message: str) -> None:
            super().__init__("BadRequestException", message)

    class AlreadyExistsException(JsonRESTError):
        code = 400

        def __init__(self, message: str) -> None:
            super().__init__("AlreadyExistsException", message)
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.get_email_identity

    def get_email_identity(self: Any) -> str:
        name = self._get_param("EmailIdentity") or ""
        if "@" in name:
            return original(self)
        backend = self.sesv2_backend.core_backend
        dkim = email_identity_dkim(backend, name)
        if dkim is None:
            raise NotFoundException(name)
        verified = dkim["Status"] == "SUCCESS"
        return json.dumps({
            "IdentityType": "DOMAIN",
            "FeedbackForwardingStatus": True,
            "VerifiedForSendingStatus": verified,
            "VerificationStatus": dkim["Status"],
            "DkimAttributes": dkim,
            "Policies": {},
            "Tags": self.sesv2_backend.list_tags_for_resource(identity_arn(backend, name)),
        })

    def put_email_identity_dkim_signing_attributes(self: Any) -> str:
        name = self._get_param("EmailIdentity") or ""
        params = json.loads(self.body or "{}")
        attributes = params.get("SigningAttributes") or {}
        try:
            answer = change_next_key_length(
                self.sesv2_backend.core_backend, name, params.get("SigningAttributesOrigin"),
                attributes.get("NextSigningKeyLength"), time.time())
        except LookupError:
            raise NotFoundException(name)
        except KeyChangeRefused as refused:
            raise BadRequestException(str(refused))
        return json.dumps(answer)

    original_create = SESV2Response.create_email_identity

    def create_email_identity(self: Any) -> str:
        name = self._get_param("EmailIdentity") or ""
        attributes = self._get_param("DkimSigningAttributes") or {}
        origin = attributes.get("DomainSigningAttributesOrigin")
        if "@" in name or origin in (None, "AWS_SES", "EXTERNAL"):
            return original_create(self)
        backend = self.sesv2_backend.core_backend
        try:
            create_replica(backend, name, origin)
        except FileExistsError:
            raise AlreadyExistsException(f"Email identity {name} already exist.")
        except ReplicaRefused as refused:
            raise BadRequestException(str(refused))
        dkim = email_identity_dkim(backend, name)
        return json.dumps({"IdentityType": "DOMAIN",
                           "VerifiedForSendingStatus": dkim["Status"] == "SUCCESS",
                           "DkimAttributes": dkim})

    def delete_email_identity(self: Any) -> str:
        name = (self._get_param("EmailIdentity") or "").lower()
        backend = self.sesv2_backend.core_backend
        if name not in backend.email_identities:
            raise NotFoundException(name)
        regions = replicas_of(backend, name)
        if regions:
            raise BadRequestException(
                f"{name} is the parent of replicas in {', '.join(regions)}; delete them first")
        backend.delete_identity(name)
        return json.dumps({})

    SESV2Response.create_email_identity = create_email_identity
    SESV2Response.delete_email_identity = delete_email_identity
    SESV2Response.get_email_identity = get_email_identity
    SESV2Response.put_email_identity_dkim_signing_attributes = \
        put_email_identity_dkim_signing_attributes
    # moto routes no path of this operation; its app is built from this table later.
    from moto.sesv2 import urls
    urls.url_paths["{0}/v2/email/identities/(?P<EmailIdentity>[^/]+)/dkim/signing$"] = \
        SESV2Response.dispatch


def identity_arn(backend: Any, name: str) -> str:
    return f"arn:aws:ses:{backend.region_name}:{backend.account_id}:identity/{name.lower()}"


# --------------------------------------------------------------------------
# Deterministic Easy DKIM (DEED) replicas.  moto's CreateEmailIdentity ignores
# DkimSigningAttributes.DomainSigningAttributesOrigin; SES creates a replica that
# signs with the parent's key and needs no DNS of its own.  As SES documents it
# (https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-deed.html):
# the parent is a verified Easy DKIM identity in another Region, a replica cannot
# be a parent, a replica's DKIM follows its parent's, and a parent cannot be
# deleted while replicas remain.
# --------------------------------------------------------------------------

# (account_id, replica region, domain) -> (the replica's identity object, parent region)
_REPLICAS: dict[tuple[str, str, str], tuple[Any, str]] = {}


class ReplicaRefused(Exception):
    """What SES answers a CreateEmailIdentity or delete it refuses (BadRequest)."""


def origin_region(origin: str) -> str | None:
    """``AWS_SES_US_EAST_1`` -> ``us-east-1``; None for ``AWS_SES``, ``EXTERNAL``."""
    if not origin.startswith("AWS_SES_"):
        return None
    return origin[len("AWS_SES_"):].lower().replace("_", "-")


def replica_parent(backend: Any, domain: str) -> str | None:
    """The parent Region of `domain` in `backend`, if that identity is a replica."""
    with _LOCK:
        identity = backend.email_identities.get(domain)
        bound = _REPLICAS.get((backend.account_id, backend.region_name, domain))
        if identity is None or bound is None or bound[0] is not identity:
            return None
        return bound[1]


def replicas_of(backend: Any, domain: str) -> list[str]:
    """The Regions holding a live replica of the parent `domain` in `backend`."""
    with _LOCK:
        return sorted(
            region for (account, region, name), (identity, parent) in list(_REPLICAS.items())
            if account == backend.account_id and name == domain
            and parent == backend.region_name
            and _ses_backend(account, region).email_identities.get(name) is identity)


def create_replica(backend: Any, domain: str, origin: str) -> None:
    """Create `domain` in `backend`'s Region as a replica of the parent `origin` names."""
    domain = domain.lower()
    parent_region = origin_region(origin)
    if parent_region is None:
        raise ReplicaRefused(f"DomainSigningAttributesOrigin {origin!r} names no parent Region")
    if parent_region == backend.region_name:
        raise ReplicaRefused("a replica's parent must be in another Region")
    with _LOCK:
        if domain in backend.email_identities:
            raise FileExistsError(domain)
        parent = _ses_backend(backend.account_id, parent_region)
        if domain not in parent.email_identities:
            raise ReplicaRefused(f"no identity {domain} in the parent Region {parent_region}")
        if replica_parent(parent, domain) is not None:
            raise ReplicaRefused(f"{domain} in {parent_region} is itself a replica")
        state = _current_state(parent, domain, create=False)
        if _effective_status(parent, domain, state) != "Success":
            raise ReplicaRefused(
                f"the parent identity {domain} in {parent_region} is not verified with Easy DKIM")
        identity = backend.create_email_identity_v2(domain, None, None, None)
        _REPLICAS[(backend.account_id, backend.region_name, domain)] = (identity, parent_region)


def replica_dkim(backend: Any, domain: str, parent_region: str) -> dict[str, Any]:
    """A replica's DkimAttributes: its parent's, with the replica's origin."""
    parent = _ses_backend(backend.account_id, parent_region)
    dkim = email_identity_dkim(parent, domain) or {
        "SigningEnabled": False, "Status": "FAILED", "Tokens": []}
    return {**dkim, "SigningAttributesOrigin": "AWS_SES_" + parent_region.upper().replace("-", "_")}


def set_signing_zone(account_id: str, region: str, domain: str, zone: str | None) -> None:
    with _LOCK:
        if zone:
            _SIGNING_ZONE_OVERRIDES[(account_id, region, domain)] = zone.rstrip(".").lower()
        else:
            _SIGNING_ZONE_OVERRIDES.pop((account_id, region, domain), None)


# --------------------------------------------------------------------------
# Route 53 change batches, as Route 53 checks them.  moto lets a CREATE replace
# a record set that exists, answers a DELETE that does not match with
# InvalidInput, and lets other types live beside a CNAME.  Route 53 refuses the
# whole batch with InvalidChangeBatch in each case, checking the changes in order
# (a DELETE then a CREATE of the same set in one batch is how a set is swapped).
# https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
# --------------------------------------------------------------------------


class ChangeBatchRefused(Exception):
    """What Route 53 says of a batch it refuses (raised as moto's error type)."""


def _simple(record_set: dict[str, Any]) -> bool:
    return not any(k in record_set for k in ("SetIdentifier", "AliasTarget",
                                              "TrafficPolicyInstanceId"))


def _values(record_set: dict[str, Any]) -> list[str]:
    out = []
    for value in record_set.get("ResourceRecords") or []:
        out.append(str(value.get("Value", "") if isinstance(value, dict) else value))
    return sorted(out)


def check_change_batch(zone_name: str, existing: list[Any], changes: list[dict[str, Any]]) -> None:
    """Raise ChangeBatchRefused with Route 53's message if the batch would be refused.
    `existing`: the zone's moto record sets."""
    held: dict[tuple[str, str], tuple[int | None, list[str]]] = {}
    for rrset in existing:
        if getattr(rrset, "set_identifier", None):
            continue
        values = sorted(str(v.get("Value", "") if isinstance(v, dict) else v)
                        for v in (rrset.records or []))
        ttl = int(rrset.ttl) if rrset.ttl is not None else None
        held[(normalize_dns_name(rrset.name), (rrset.type or "").upper())] = (ttl, values)
    zone = zone_name.rstrip(".")
    for change in changes:
        action = change.get("Action")
        record_set = change.get("ResourceRecordSet") or {}
        if not _simple(record_set):
            continue
        name = normalize_dns_name(str(record_set.get("Name", "")))
        rtype = str(record_set.get("Type", "")).upper()
        key = (name, rtype)
        shown = f"[name='{name}.', type='{rtype}']"
        if action in ("CREATE", "UPSERT"):
            others = {t for (n, t) in held if n == name and t != rtype}
            if rtype == "CNAME":
                others -= {"NS", "SOA"} if name == zone else set()
            blocking = "CNAME" if rtype != "CNAME" and "CNAME" in others else (
                sorted(others)[0] if rtype == "CNAME" and others else None)
            if blocking:
                raise ChangeBatchRefused(
                    f"RRSet of type {rtype} with DNS name {name}. is not permitted because "
                    f"a conflicting RRSet of type {blocking} with the same DNS name already "
                    f"exists in zone {zone}.")
        if action == "CREATE":
            if key in held:
                raise ChangeBatchRefused(
                    f"Tried to create resource record set {shown} but it already exists")
            held[key] = (record_set.get("TTL"), _values(record_set))
        elif action == "UPSERT":
            held[key] = (record_set.get("TTL"), _values(record_set))
        elif action == "DELETE":
            if key not in held:
                raise ChangeBatchRefused(
                    f"Tried to delete resource record set {shown} but it was not found")
            ttl, values = held[key]
            wanted_ttl = record_set.get("TTL")
            if values != _values(record_set) or (
                    wanted_ttl is not None and ttl is not None and int(wanted_ttl) != ttl):
                raise ChangeBatchRefused(
                    f"Tried to delete resource record set {shown} but the values provided "
                    "do not match the current values")
            del held[key]


# --------------------------------------------------------------------------
# EventBridge under concurrent callers.  moto's PutEvents walks the bus's rules
# while PutRule or DeleteRule on another thread changes them: the walk fails
# midway ("OrderedDict mutated during iteration", a 500 after some targets got
# the event), the SDK retries, and those targets get the event again.
# EventBridge has no such race; one lock over the walk and the rule changes keeps
# every delivery whole, so a duplicate seen in a test is the function's doing.
# --------------------------------------------------------------------------

_EVENTS_LOCK = threading.RLock()
_EVENTS_SERIALISED = ("put_events", "put_rule", "delete_rule", "enable_rule", "disable_rule",
                      "put_targets", "remove_targets")


def patch_moto_events() -> None:
    from moto.events.models import EventsBackend

    def serialised(original: Any) -> Any:
        @functools.wraps(original)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _EVENTS_LOCK:
                return original(self, *args, **kwargs)
        return call

    for name in _EVENTS_SERIALISED:
        setattr(EventsBackend, name, serialised(getattr(EventsBackend, name)))


def patch_moto_route53() -> None:
    from moto.route53.exceptions import Route53ClientError
    from moto.route53.models import Route53Backend

    original = Route53Backend.change_resource_record_sets

    def change_resource_record_sets(self: Any, zoneid: str, change_list: list[dict[str, Any]]) -> None:
        the_zone = self.get_hosted_zone(zoneid)
        try:
            check_change_batch(the_zone.name, list(the_zone.rrsets), change_list)
        except ChangeBatchRefused as refused:
            raise Route53ClientError("InvalidChangeBatch", str(refused)) from None
        if not all(_simple(c.get("ResourceRecordSet") or {}) for c in change_list):
            return original(self, zoneid, change_list)
        # Checked as a whole above; applied one by one, a CREATE as the UPSERT it now
        # equals (moto's own CREATE check looks at names after this one too).
        for change in change_list:
            one = dict(change)
            if one.get("Action") == "CREATE":
                one["Action"] = "UPSERT"
            original(self, zoneid, [one])

    Route53Backend.change_resource_record_sets = change_resource_record_sets


# --------------------------------------------------------------------------
# Test controls for AWS API calls: which call is this, throttling, call log,
# latency.
# --------------------------------------------------------------------------

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# Error namespaces of the XML services this project talks to; others are derived.
_XML_NAMESPACES = {
    "ses": "http://ses.amazonaws.com/doc/2010-12-01/",
    "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
}
# REST APIs whose botocore model is not named like their signing name.
_REST_MODELS = {"ses": "sesv2"}


class ApiCall(NamedTuple):
    service: str
    action: str
    protocol: str  # query, json, rest-xml or rest-json
    access_key_id: str = ""  # the signer's, from the credential scope
    # What the call named: method, path, query and (up to REQUEST_LOG_BYTES) body, so a
    # test can tell which resources it touched (a hosted zone id, a schedule name).
    request: str = ""
    region: str = ""  # the Region the call was signed for, from the credential scope

    @property
    def name(self) -> str:
        return f"{self.service}:{self.action}"


_MODEL_LOCK = threading.Lock()  # a botocore session is not meant to be shared by threads


@functools.lru_cache(maxsize=None)
def _service_model(name: str) -> Any:
    """botocore's model of service `name`, or None if botocore has none."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    with _MODEL_LOCK:
        try:
            return botocore.session.get_session().get_service_model(name)
        except UnknownServiceError:
            return None


class _Route(NamedTuple):
    method: str
    path: re.Pattern[str]
    query_keys: frozenset[str]
    operation: str
    literal_chars: int


def _route_for(request_uri: str, method: str, operation: str) -> _Route:
    path, _, query = request_uri.partition("?")
    pattern, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path.rstrip("/")):
        if part.startswith("{"):
            pattern += ".+" if part.endswith("+}") else "[^/]+"
        else:
            pattern += re.escape(part)
            literal += len(part)
    keys = frozenset(k.split("=", 1)[0] for k in query.split("&") if k)
    return _Route(method, re.compile(pattern + "/?"), keys, operation, literal)


@functools.lru_cache(maxsize=None)
def _rest_routes(model_name: str) -> tuple[str | None, tuple[_Route, ...]]:
    """(protocol, routes most specific first) of a REST service's botocore model."""
    model = _service_model(model_name)
    if model is None:
        return None, ()
    routes = []
    for op in model.operation_names:
        http = model.operation_model(op).http
        if "requestUri" in http:
            routes.append(_route_for(http["requestUri"], http.get("method", "POST"), op))
    routes.sort(key=lambda r: (r.literal_chars, len(r.query_keys)), reverse=True)
    return model.protocol, tuple(routes)


def _form_action(environ: dict[str, Any]) -> str | None:
    """The query protocol's Action, from the query string or the form body.

    Reading the body consumes wsgi.input, so it is replaced by a fresh stream."""
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][-1]
    if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
        return None
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length >= 0:
        body = environ["wsgi.input"].read(length)
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
    else:
        return None
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return form["Action"][-1] if "Action" in form else None


def identify_call(environ: dict[str, Any]) -> ApiCall | None:
    """Service, action and protocol of a signed AWS API call; None if unsigned."""
    m = _CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m is None:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        credential = query.get("X-Amz-Credential", [""])[-1]
        m = _CREDENTIAL_RE.search(f"Credential={credential}")
    if m is None:
        return None
    access_key_id, region, service = m.group(1), m.group(2), m.group(3)
    return _identify(environ, access_key_id, service)._replace(
        request=_request_text(environ), region=region)


def _request_text(environ: dict[str, Any]) -> str:
    """`METHOD /path?query body`, the body cut at REQUEST_LOG_BYTES. Reading the body
    consumes wsgi.input, so it is replaced by a fresh stream."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    query = environ.get("QUERY_STRING", "")
    text = f"{method} {path}" + (f"?{query}" if query else "")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        text += " " + body[:REQUEST_LOG_BYTES].decode("utf-8", "replace")
    return text


def _identify(environ: dict[str, Any], access_key_id: str, service: str) -> ApiCall:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return ApiCall(service, target.rsplit(".", 1)[-1], "json", access_key_id)
    action = _form_action(environ)
    if action:
        return ApiCall(service, action, "query", access_key_id)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    protocol, routes = _rest_routes(_REST_MODELS.get(service, service))
    query_keys = set(urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    for route in routes:
        if route.method == method and route.path.fullmatch(path) and route.query_keys <= query_keys:
            return ApiCall(service, route.operation, protocol or "rest-json", access_key_id)
    if protocol is None:
        content_type = environ.get("CONTENT_TYPE", "")
        protocol = "rest-xml" if "xml" in content_type else "rest-json"
    return ApiCall(service, f"{method} {path}", protocol, access_key_id)


def throttling_response(call: ApiCall) -> tuple[str, list[tuple[str, str]], bytes]:
    """HTTP status, headers and body of `Throttling` in the call's own protocol."""
    request_id = str(uuid.uuid4())
    code, message = "Throttling", "Rate exceeded"
    headers = [("x-amzn-RequestId", request_id)]
    if call.protocol in ("query", "rest-xml"):
        namespace = _XML_NAMESPACES.get(call.service)
        if namespace is None:
            model = _service_model(call.service)
            metadata = model.metadata if model is not None else {}
            namespace = metadata.get("xmlNamespace") or (
                f"https://{call.service}.amazonaws.com/doc/{metadata.get('apiVersion', '')}/"
            )
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        if call.protocol == "json":
            headers.append(("Content-Type", "application/x-amz-json-1.1"))
        else:
            headers.append(("Content-Type", "application/json"))
            headers.append(("X-Amzn-Errortype", code))
    headers.append(("Content-Length", str(len(body))))
    return "400 Bad Request", headers, body


class ThrottleRule(NamedTuple):
    service: str
    per_action: bool
    calls: int
    per_seconds: float
    region: str | None = None  # only calls signed for this Region; None: every Region

    @classmethod
    def parse(cls, raw: Any) -> ThrottleRule:
        if not isinstance(raw, dict):
            raise ValueError("each rule must be a JSON object")
        unknown = set(raw) - {"service", "perAction", "calls", "perSeconds", "region"}
        if unknown:
            raise ValueError(f"unknown rule keys {sorted(unknown)}")
        service, per_action = raw.get("service"), raw.get("perAction", False)
        calls, per_seconds = raw.get("calls"), raw.get("perSeconds")
        if not isinstance(service, str) or not service:
            raise ValueError("'service' must be a non-empty string (a SigV4 signing name)")
        if not isinstance(per_action, bool):
            raise ValueError("'perAction' must be true or false")
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise ValueError("'calls' must be an integer >= 0")
        if isinstance(per_seconds, bool) or not isinstance(per_seconds, (int, float)) \
                or not per_seconds > 0:
            raise ValueError("'perSeconds' must be a number > 0")
        region = raw.get("region")
        if region is not None and (not isinstance(region, str) or not region):
            raise ValueError("'region' must be a non-empty string when given")
        return cls(service, per_action, calls, float(per_seconds), region)

    def to_json(self) -> dict[str, Any]:
        out = {"service": self.service, "perAction": self.per_action,
               "calls": self.calls, "perSeconds": self.per_seconds}
        if self.region is not None:
            out["region"] = self.region
        return out


class CallControls:
    """Throttling rules, their sliding windows, counters, call log and latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency = 0.0
        self.set_rules([])

    def set_rules(self, rules: list[ThrottleRule]) -> None:
        with self._lock:
            self._rules = {(rule.service, rule.region): rule for rule in rules}
            # bucket -> monotonic times of the calls accepted within its window
            self._windows: dict[tuple[str, str | None, str | None], collections.deque[float]] = {}
            self._accepted: collections.Counter[str] = collections.Counter()
            self._throttled: collections.Counter[str] = collections.Counter()
            self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=CALL_LOG_LIMIT)

    def admit(self, call: ApiCall) -> bool:
        """Record the call; True if it may go on, False if it is throttled."""
        with self._lock:
            now = time.monotonic()
            # A rule for the call's Region wins over the service's rule for every Region.
            rule = self._rules.get((call.service, call.region)) \
                or self._rules.get((call.service, None))
            accepted = True
            if rule is not None:
                bucket = (call.service, rule.region, call.action if rule.per_action else None)
                window = self._windows.setdefault(bucket, collections.deque())
                while window and window[0] <= now - rule.per_seconds:
                    window.popleft()
                accepted = len(window) < rule.calls
                if accepted:
                    window.append(now)
            (self._accepted if accepted else self._throttled)[call.name] += 1
            self._log.append({"t": time.time(), "service": call.service,
                              "action": call.action, "accessKeyId": call.access_key_id,
                              "region": call.region,
                              "request": call.request, "throttled": not accepted})
            return accepted

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [rule.to_json() for rule in self._rules.values()],
                    "accepted": dict(self._accepted), "throttled": dict(self._throttled)}

    def calls(self, service: str | None, action: str | None,
              access_key_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log
                    if (service is None or entry["service"] == service)
                    and (action is None or entry["action"] == action)
                    and (access_key_id is None or entry["accessKeyId"] == access_key_id)]


CONTROLS = CallControls()

# --------------------------------------------------------------------------
# WSGI middleware for /_harness/
# --------------------------------------------------------------------------


def _backend_of(params: dict[str, Any]) -> tuple[Any, tuple[str, str]]:
    """The SES backend a harness request names (`account_id`, `region`, with the
    defaults), or None when they are not strings."""
    region = params.get("region") or DEFAULT_REGION
    account_id = params.get("account_id") or DEFAULT_ACCOUNT_ID
    if not isinstance(region, str) or not isinstance(account_id, str):
        return None, ("", "")
    return _ses_backend(account_id, region), (account_id, region)


def _domain_of(params: dict[str, Any]) -> tuple[Any, tuple[str, str], str, str | None]:
    """The SES backend and the domain (lower case) a harness request names, or the
    problem with them."""
    backend, where = _backend_of(params)
    if backend is None:
        return None, where, "", "region/account_id must be strings"
    domain = params.get("domain")
    if not isinstance(domain, str) or not is_valid_domain(domain):
        return backend, where, "", "'domain' is required"
    return backend, where, domain.lower(), None


class HarnessMiddleware:
    def __init__(self, app: Any, controls: CallControls = CONTROLS) -> None:
        self.app = app
        self.controls = controls

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if path.startswith(HARNESS_PREFIX):
            return self._harness(path, environ, start_response)
        call = None if path.startswith(MOTO_API_PREFIX) else identify_call(environ)
        if call is None:
            return self.app(environ, start_response)
        accepted = self.controls.admit(call)
        if self.controls.latency:
            time.sleep(self.controls.latency)
        if accepted:
            return self.app(environ, start_response)
        status, headers, body = throttling_response(call)
        start_response(status, headers)
        return [body]

    def _harness(self, path: str, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            status, body = self._handle(path, environ)
        except Exception as exc:  # pragma: no cover - defensive
            status, body = 500, {"error": "InternalError", "message": repr(exc)}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found",
                  405: "Method Not Allowed", 500: "Internal Server Error"}[status]
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _handle(self, path: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        routes = {
            "/_harness/ses/dkim-status": self._dkim_status,
            "/_harness/ses/mail-from-status": self._mail_from_status,
            "/_harness/ses/signing-zone": self._signing_zone,
            "/_harness/ses/key-length": self._key_length,
            "/_harness/throttle": self._throttle,
            "/_harness/calls": self._calls,
            "/_harness/latency": self._latency,
        }
        handler = routes.get(path.rstrip("/"))
        if handler is None:
            return 404, {"error": "NotFound", "message": f"no harness route {path}"}
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("GET", "POST") or (handler == self._calls and method != "GET"):
            return 405, {"error": "MethodNotAllowed", "message": "use GET or POST"}
        if method == "GET":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            return handler(method, {k: v[-1] for k, v in query.items()})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            params = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, {"error": "BadRequest", "message": f"invalid JSON: {exc}"}
        if not isinstance(params, dict):
            return 400, {"error": "BadRequest", "message": "body must be a JSON object"}
        return handler(method, params)

    def _throttle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            raw_rules = params.get("rules")
            if not isinstance(raw_rules, list):
                return 400, {"error": "BadRequest", "message": "'rules' must be a list"}
            try:
                rules = [ThrottleRule.parse(raw) for raw in raw_rules]
            except ValueError as exc:
                return 400, {"error": "BadRequest", "message": str(exc)}
            services = [(rule.service, rule.region) for rule in rules]
            if len(set(services)) != len(services):
                return 400, {"error": "BadRequest",
                             "message": "at most one rule per service and region"}
            self.controls.set_rules(rules)
        return 200, self.controls.summary()

    def _calls(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"calls": self.controls.calls(params.get("service"), params.get("action"),
                                                  params.get("accessKeyId"))}

    def _latency(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            seconds = params.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                    or not 0 <= seconds <= MAX_LATENCY_SECONDS:
                return 400, {"error": "BadRequest",
                             "message": f"'seconds' must be a number from 0 to {MAX_LATENCY_SECONDS:g}"}
            self.controls.latency = float(seconds)
        return 200, {"seconds": self.controls.latency}

    @staticmethod
    def _ses_target(method: str, params: dict[str, Any], key: str,
                    statuses: tuple[str, ...]) -> tuple[dict[str, Any] | None, Any, str, str]:
        """What a status control names: (an error to answer, or None; the SES
        backend; the name; "account/region").  A POST must carry `status`."""
        if method == "POST":
            if "status" not in params:
                return {"error": "BadRequest", "message": "'status' is required (null clears)"}, \
                    None, "", ""
            if params["status"] is not None and params["status"] not in statuses:
                return {"error": "BadRequest",
                        "message": f"status must be one of {list(statuses)} or null"}, None, "", ""
        name = params.get(key)
        if not isinstance(name, str) or not name:
            return {"error": "BadRequest", "message": f"'{key}' is required"}, None, "", ""
        backend, (account_id, region) = _backend_of(params)
        if backend is None:
            return {"error": "BadRequest", "message": "region/account_id must be strings"}, \
                None, "", ""
        return None, backend, name, f"{account_id}/{region}"

    @classmethod
    def _dkim_status(cls, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem, backend, domain, where = cls._ses_target(method, params, "domain",
                                                          VALID_STATUSES)
        if problem:
            return 400, problem
        if method == "GET":
            info = describe(backend, domain)
        else:
            info = force_status(backend, domain, params["status"])
        if info is None:
            return 404, {"error": "NotFound",
                         "message": f"no SES identity {domain.lower()} in {where}"}
        return 200, info

    @staticmethod
    def _signing_zone(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        backend, (account_id, region), domain, problem = _domain_of(params)
        if problem is not None:
            return 400, {"error": "BadRequest", "message": problem}
        if method == "POST":
            if "signing_zone" not in params:
                return 400, {"error": "BadRequest",
                             "message": "'signing_zone' is required (null restores the Region's)"}
            zone = params["signing_zone"]
            if zone is not None and not is_valid_domain(str(zone).rstrip(".")):
                return 400, {"error": "BadRequest", "message": f"'{zone}' is not a DNS name"}
            set_signing_zone(account_id, region, domain, zone)
        return 200, {"account_id": account_id, "region": region, "domain": domain,
                     "signing_zone": signing_zone_for_new(account_id, region, domain)}

    @staticmethod
    def _key_length(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        backend, (account_id, region), domain, problem = _domain_of(params)
        if problem is not None:
            return 400, {"error": "BadRequest", "message": problem}
        if method == "POST":
            current, next_ = params.get("current"), params.get("next")
            if current not in KEY_LENGTHS or next_ not in KEY_LENGTHS:
                return 400, {"error": "BadRequest",
                             "message": f"'current' and 'next' must be one of {KEY_LENGTHS}"}
            set_key_lengths(backend, domain, current, next_)
        lengths = key_lengths(backend, domain)
        if lengths is None:
            return 404, {"error": "NotFound", "message": f"no identity {domain}"}
        return 200, {"account_id": account_id, "region": region, "domain": domain,
                     "current": lengths.current, "next": lengths.next,
                     "changed_at": lengths.changed_at}

    @classmethod
    def _mail_from_status(cls, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem, backend, identity, where = cls._ses_target(method, params, "identity",
                                                            MAIL_FROM_STATUSES)
        if problem:
            return 400, problem
        ago = params.get("setSecondsAgo")
        if method == "POST" and ago is not None and (
                isinstance(ago, bool) or not isinstance(ago, (int, float)) or ago < 0):
            return 400, {"error": "BadRequest", "message": "'setSecondsAgo' must be a number >= 0"}
        if method == "GET":
            info = describe_mail_from(backend, identity)
        else:
            info = force_mail_from_status(backend, identity, params["status"], ago)
        if info is None:
            what = "identity" if method == "GET" else "MAIL FROM setting of identity"
            return 404, {"error": "NotFound",
                         "message": f"no {what} {identity.lower()} in {where}"}
        return 200, info


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=0)
    args = parser.parse_args(argv)

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    patch_moto_ses()
    patch_moto_sesv2()
    patch_moto_route53()
    patch_moto_events()
    app = HarnessMiddleware(DomainDispatcherApplication(create_backend_app))
    # Binds and listens immediately; connections queue until serve_forever.
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    port = server.server_port
    # moto occasionally calls itself (e.g. some cross-service integrations).
    os.environ.setdefault("MOTO_PORT", str(port))

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()

    host = args.host if ":" not in args.host else f"[{args.host}]"
    sys.stdout.write(f"READY http://{host}:{port}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr  # keep stdout to the single READY line

    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
