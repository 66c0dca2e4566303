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
  hosted zone of the same account with value ``<token>.dkim.amazonses.com`` or
  ``<token>.dkim.<region>.amazonses.com`` (trailing dot optional,
  case-insensitive), else ``Pending``.  Private hosted zones are ignored (SES
  resolves public DNS).  A domain identity on which DKIM was never started
  (e.g. only ``VerifyDomainIdentity``) reports ``DkimEnabled=false``,
  ``DkimVerificationStatus=NotStarted``, ``DkimTokens=[]``, like real SES.
  Existing email-address identities are answered by moto's original code.

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
     "forced_status": null, "records_present": [true, false, true],
     "status": "Pending"}

``generation`` is 0 and ``tokens`` is ``[]`` while DKIM was never started on
the identity.  ``status`` is what GetIdentityDkimAttributes would report.
Errors: ``400 {"error": "BadRequest", "message": ...}`` for a missing domain,
bad JSON or an unknown status; ``404 {"error": "NotFound", ...}`` when the
domain identity does not exist in that account/region; ``405`` for other
methods; ``404`` for any other ``/_harness/`` path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import threading
import urllib.parse
from typing import Any

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
VALID_STATUSES = ("Success", "Pending", "Failed", "TemporaryFailure", "NotStarted")
REGENERATE_STATUSES = ("Failed", "TemporaryFailure", "NotStarted")
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
HARNESS_PREFIX = "/_harness/"

# --------------------------------------------------------------------------
# DKIM state, keyed by (account_id, region, domain).  Kept outside the moto
# backend objects so that the generation counter survives DeleteIdentity and
# moto resets (new identity object => new generation => new tokens).
# --------------------------------------------------------------------------


class _DkimState:
    __slots__ = ("identity", "generation", "tokens", "forced")

    def __init__(self, identity: Any) -> None:
        self.identity = identity  # the moto EmailIdentity this state belongs to
        self.generation = 0  # 0 = DKIM never started on this identity
        self.tokens: list[str] = []
        self.forced: str | None = None


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


def _cname_targets(account_id: str) -> dict[str, set[str]]:
    """All CNAMEs in the account's public Route 53 zones: name -> values."""
    from moto.route53.models import route53_backends

    out: dict[str, set[str]] = {}
    for partition_backend in list(route53_backends[account_id].values()):
        for zone in list(partition_backend.zones.values()):
            if zone.private_zone:
                continue
            for rrset in list(zone.rrsets):
                if (rrset.type or "").upper() != "CNAME":
                    continue
                values = out.setdefault(normalize_dns_name(rrset.name), set())
                for value in rrset.records or []:
                    if isinstance(value, dict):
                        value = value.get("Value", "")
                    values.add(normalize_dns_name(str(value)))
    return out


def records_present(account_id: str, region: str, domain: str, tokens: list[str]) -> list[bool]:
    cnames = _cname_targets(account_id)
    present = []
    for token in tokens:
        values = cnames.get(f"{token}._domainkey.{domain}", set())
        accepted = {f"{token}.dkim.amazonses.com", f"{token}.dkim.{region}.amazonses.com"}
        present.append(bool(values & accepted))
    return present


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
    if state is not None and state.forced:
        return state.forced
    if state is None or not _started(state):
        return "NotStarted"
    present = records_present(backend.account_id, backend.region_name, domain, state.tokens)
    return "Success" if all(present) else "Pending"


def _start_new_generation(backend: Any, domain: str, state: _DkimState) -> None:
    key = (backend.account_id, backend.region_name, domain)
    _GENERATIONS[key] = _GENERATIONS.get(key, 0) + 1
    state.generation = _GENERATIONS[key]
    state.tokens = make_tokens(backend.account_id, backend.region_name, domain, state.generation)
    state.forced = None


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
            "records_present": records_present(
                backend.account_id, backend.region_name, domain, tokens
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

    SESBackend.get_identity_dkim_attributes = get_identity_dkim_attributes
    EmailResponse.verify_domain_dkim = response_verify_domain_dkim


# --------------------------------------------------------------------------
# WSGI middleware for /_harness/
# --------------------------------------------------------------------------


class HarnessMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if not path.startswith(HARNESS_PREFIX):
            return self.app(environ, start_response)
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

    @staticmethod
    def _handle(path: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/") != "/_harness/ses/dkim-status":
            return 404, {"error": "NotFound", "message": f"no harness route {path}"}
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "GET":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            params: dict[str, Any] = {k: v[-1] for k, v in query.items()}
        elif method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b""
                params = json.loads(raw or b"null")
            except (ValueError, UnicodeDecodeError) as exc:
                return 400, {"error": "BadRequest", "message": f"invalid JSON: {exc}"}
            if not isinstance(params, dict):
                return 400, {"error": "BadRequest", "message": "body must be a JSON object"}
            if "status" not in params:
                return 400, {"error": "BadRequest", "message": "'status' is required (null clears)"}
            if params["status"] is not None and params["status"] not in VALID_STATUSES:
                return 400, {
                    "error": "BadRequest",
                    "message": f"status must be one of {list(VALID_STATUSES)} or null",
                }
        else:
            return 405, {"error": "MethodNotAllowed", "message": "use GET or POST"}

        domain = params.get("domain")
        if not isinstance(domain, str) or not domain:
            return 400, {"error": "BadRequest", "message": "'domain' is required"}
        region = params.get("region") or DEFAULT_REGION
        account_id = params.get("account_id") or DEFAULT_ACCOUNT_ID
        if not isinstance(region, str) or not isinstance(account_id, str):
            return 400, {"error": "BadRequest", "message": "region/account_id must be strings"}
        backend = _ses_backend(account_id, region)
        if method == "GET":
            info = describe(backend, domain)
        else:
            info = force_status(backend, domain, params["status"])
        if info is None:
            return 404, {
                "error": "NotFound",
                "message": f"no SES identity {domain.lower()} in {account_id}/{region}",
            }
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
