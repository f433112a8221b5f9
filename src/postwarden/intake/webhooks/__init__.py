"""Provider webhooks: each module in this package turns one email platform's event
webhook into the ledger's one record shape, :class:`~postwarden.ledger.Feedback`.

A provider module defines ``PROVIDER``, a :class:`WebhookProvider`. Modules are found
by scanning the package: adding a platform is one module and its fixtures. Two
providers with one name, or a module that is neither a provider nor listed in
:data:`NOT_PROVIDERS`, is an error when the registry is first read.

Everything here is pure but the fetching of Amazon SNS signing certificates
(:mod:`~postwarden.intake.webhooks.sns`): the HTTP route (:mod:`postwarden.api.webhooks`)
does the I/O, and the secrets and seen one-time tokens are stored by
:mod:`postwarden.intake.webhooks.store`."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import importlib
import json
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from postwarden.address import normalize
from postwarden.classify import classify_reply
from postwarden.errors import InvalidAddress, InvalidInput, NotFound, PostwardenError, Unauthorized
from postwarden.ledger.feedback import Feedback
from postwarden.ledger.policy import SENDER_SIDE_REASONS
from postwarden.settings import Settings

# Modules of this package that are not providers.
NOT_PROVIDERS = frozenset({"store", "sns"})

# The ledger's column sizes: a longer value is cut (or dropped) here so that one odd
# event can never fail the whole batch's transaction.
MAX_ADDRESS = 320
MAX_MESSAGE_ID = 998
MAX_REMOTE_MTA = 255
MAX_FEEDBACK_TYPE = 40
MAX_DIAGNOSTIC = 4000

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\Z")
_REPLY_CODE = re.compile(r"[245]\d\d\Z")
_NOT_A_REASON = frozenset({"undefined", "onhold"})


def non_empty(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput("the secret is empty")
    return value


class MalformedPayload(InvalidInput):
    """The body is not what the provider documents: not JSON, or a required field is
    missing or of the wrong type. The message says where."""

    code = "malformed_payload"
    http_status = 400


class SignatureRefused(PostwardenError):
    """A signature made with the provider's published key is missing or wrong, or
    the key cannot be had from where the settings allow. The message says which."""

    code = "signature_refused"
    http_status = 403


@dataclass
class Translation:
    """What a payload said: the feedback it carries, how many events it held, and the
    event types that carry nothing for the ledger (opens, clicks, a provider declining
    to send because of its own suppression list), counted by name."""

    feedbacks: list[Feedback] = field(default_factory=list)
    events: int = 0
    ignored: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Handshake:
    """A control message rather than feedback (Amazon SNS asks a new endpoint to
    confirm its subscription by visiting ``confirm_url``)."""

    kind: str
    topic: str
    confirm_url: str | None
    message_id: str | None = None


@dataclass(frozen=True)
class Nonce:
    """The one-time token and signing time (Unix seconds) a signed request carries."""

    token: str
    signed_at: float


@dataclass(frozen=True)
class WebhookProvider:
    """One platform's event webhook.

    ``name`` is the path segment of ``POST /webhooks/{name}/{tenant}`` and the
    ``--provider`` of ``postwarden webhook``.

    ``secret_kind`` says what the tenant stores with ``postwarden webhook secret set``:
    ``basic`` (``user:password`` that the provider sends as HTTP basic auth, put in the
    URL it is given), ``hmac`` (a signing key the provider shows) or ``public-key``
    (a verification key the provider shows). ``secret_help`` says where to find it.

    ``authenticate(headers, body, secret)`` returns ``None`` when the request is the
    provider's and raises :class:`~postwarden.errors.Unauthorized` otherwise. Header
    names are lower-case; ``body`` is the raw request body. Secrets are compared in
    constant time.

    ``translate(body)`` returns the :class:`Translation` of an authenticated body. It
    raises :class:`MalformedPayload`, and nothing else, on a body that does not have
    the documented shape. Event types it has no use for are counted as ignored, never
    an error. Each feedback carries the provider's event id as ``idempotency_key`` so
    that a retried delivery changes nothing, the event's JSON as ``raw`` evidence,
    and the address exactly as given (see :func:`prepare`).

    ``handshake(headers, body)``, where the provider has one, recognises a control
    message and returns a :class:`Handshake`, or ``None`` for ordinary events.

    ``verify(headers, body, settings)``, where the provider signs with keys it
    publishes, checks that signature once ``authenticate`` passed, fetching the key
    as ``settings`` allow, and raises :class:`SignatureRefused` (403) otherwise.

    ``nonce(body)``, where the provider signs a one-time token and a time, returns
    them as a :class:`Nonce` (``None`` when the body has none; ``authenticate``
    has refused such a body already). The route refuses a signing time outside
    ``webhook_replay_window_seconds`` and a token seen before with another body.

    ``check_secret(value)`` validates a secret before it is stored and returns the
    form to store, raising :class:`~postwarden.errors.InvalidInput` with what is wrong."""

    name: str
    description: str
    secret_kind: str
    secret_help: str
    authenticate: Callable[[Mapping[str, str], bytes, str], None]
    translate: Callable[[bytes], Translation]
    handshake: Callable[[Mapping[str, str], bytes], Handshake | None] | None = None
    verify: Callable[[Mapping[str, str], bytes, Settings], None] | None = None
    nonce: Callable[[bytes], Nonce | None] | None = None
    check_secret: Callable[[str], str] = non_empty

    @property
    def source(self) -> str:
        return f"webhook:{self.name}"


# ---- the registry -------------------------------------------------------------------

@functools.cache
def providers() -> dict[str, WebhookProvider]:
    found: dict[str, WebhookProvider] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name in NOT_PROVIDERS:
            continue
        provider = getattr(importlib.import_module(f"{__name__}.{module.name}"), "PROVIDER", None)
        if not isinstance(provider, WebhookProvider):
            raise RuntimeError(f"webhook module {module.name!r} defines no PROVIDER: a WebhookProvider "
                               "is expected (or list the module in NOT_PROVIDERS)")
        if provider.name in found:
            raise RuntimeError(f"two webhook providers are named {provider.name!r}")
        found[provider.name] = provider
    return found


def endpoint_url(public_url: str, provider: WebhookProvider, tenant: str, secret: str | None) -> str:
    """The URL to give the provider; for basic-auth providers it carries the credentials."""
    parts = urlsplit(public_url.rstrip("/"))
    netloc = parts.netloc
    if provider.secret_kind == "basic" and secret:
        netloc = f"{secret}@{netloc.rpartition('@')[2]}"
    path = f"{parts.path}/webhooks/{provider.name}/{tenant}"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def get(name: str) -> WebhookProvider:
    known = providers()
    if name not in known:
        raise NotFound(f"no webhook provider named {name!r}: one of {', '.join(sorted(known))}")
    return known[name]


# ---- after translation: what the ledger may take --------------------------------------

@dataclass(frozen=True)
class Skipped:
    address: str
    kind: str
    why: str


@dataclass
class Prepared:
    feedbacks: list[Feedback]
    skipped: list[Skipped]


def prepare(translation: Translation, now: datetime) -> Prepared:
    """Make each feedback safe for the ledger: the address in its canonical form (an
    event whose address is not an address is skipped and reported, never fatal), codes
    that are not codes moved to ``details``, long values cut to the column sizes, and
    times in the future brought back to ``now``."""
    kept: list[Feedback] = []
    skipped: list[Skipped] = []
    for feedback in translation.feedbacks:
        try:
            address = normalize(feedback.address)
        except InvalidAddress as exc:
            skipped.append(Skipped(feedback.address[:MAX_ADDRESS], feedback.kind, exc.message))
            continue
        if len(address) > MAX_ADDRESS:
            skipped.append(Skipped(address[:MAX_ADDRESS], feedback.kind,
                                   f"the address is longer than {MAX_ADDRESS} characters"))
            continue
        kept.append(_fit(replace(feedback, address=address), now))
    return Prepared(kept, skipped)


def _fit(feedback: Feedback, now: datetime) -> Feedback:
    details = dict(feedback.details)
    status, reply_code = feedback.status, feedback.reply_code
    if status is not None and not _STATUS.match(status):
        details["provider_status"] = status[:100]
        status = None
    if reply_code is not None and not _REPLY_CODE.match(reply_code):
        details["provider_reply_code"] = reply_code[:100]
        reply_code = None
    occurred = feedback.occurred_at
    if occurred is not None and occurred > now:
        occurred = now
    return replace(
        feedback, status=status, reply_code=reply_code, occurred_at=occurred, details=details,
        reason=feedback.reason[:40] if feedback.reason else None,
        diagnostic=feedback.diagnostic[:MAX_DIAGNOSTIC] if feedback.diagnostic else None,
        remote_mta=feedback.remote_mta[:MAX_REMOTE_MTA] if feedback.remote_mta else None,
        message_id=feedback.message_id[:MAX_MESSAGE_ID] if feedback.message_id else None,
        feedback_type=feedback.feedback_type[:MAX_FEEDBACK_TYPE].lower() if feedback.feedback_type else None,
        idempotency_key=feedback.idempotency_key[:500] if feedback.idempotency_key else None,
    )


# ---- helpers the provider modules share -----------------------------------------------

def load_json(body: bytes) -> Any:
    """The body as JSON, or :class:`MalformedPayload` saying why not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"the body is not UTF-8 text (byte {exc.start}): expected JSON") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedPayload("the JSON body is nested too deeply") from None
    except ValueError as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def evidence(event: Mapping[str, Any]) -> bytes:
    """One event's JSON, as kept for evidence beside the feedback it became."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Fields:
    """Typed access to one JSON object, naming the place in the payload in every
    error (``event 3``, ``bounce.bouncedRecipients[0]``)."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise MalformedPayload(f"{where} is not a JSON object (found {_type_name(value)})")
        self.data: dict[str, Any] = value
        self.where = where

    def obj(self, key: str, *, required: bool = False) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise MalformedPayload(f"{self.where} has no {key!r} object")
            return None
        return Fields(value, f"{self.where}.{key}")

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string; numbers are accepted as their text (providers are loose here)."""
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise MalformedPayload(f"{self.where} has no {key!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise MalformedPayload(f"{self.where}.{key} is not a string (found {_type_name(value)})")
        return value if isinstance(value, str) else str(value)

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise MalformedPayload(f"{self.where}.{key} is not true or false (found {_type_name(value)})")
        return value

    def list(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            if required:
                raise MalformedPayload(f"{self.where} has no {key!r} list")
            return []
        if not isinstance(value, list):
            raise MalformedPayload(f"{self.where}.{key} is not a list (found {_type_name(value)})")
        return value

    def unix_time(self, key: str) -> datetime | None:
        """Seconds since 1970 (an integer or a fraction), as naive UTC."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                shown = str(value)[:40]
                raise MalformedPayload(f"{self.where}.{key} is not a Unix time: {shown!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedPayload(f"{self.where}.{key} is not a Unix time (found {_type_name(value)})")
        try:
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise MalformedPayload(f"{self.where}.{key} is not a Unix time in range: {value}") from None

    def iso_time(self, key: str) -> datetime | None:
        """An ISO 8601 time, any number of fractional digits, as naive UTC."""
        value = self.text(key)
        if value is None:
            return None
        parsed = parse_iso(value)
        if parsed is None:
            raise MalformedPayload(f"{self.where}.{key} is not an ISO 8601 time: {value[:40]!r}")
        return parsed


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_iso(value: str) -> datetime | None:
    text = _FRACTION.sub(r"\1", value.strip(), count=1).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def each_object(items: list[Any], where: str) -> list[Fields]:
    return [Fields(item, f"{where}[{n}]") for n, item in enumerate(items)]


# ---- bounce fields from a provider's words --------------------------------------------

@dataclass(frozen=True)
class BounceFields:
    reason: str | None
    status: str | None
    reply_code: str | None
    hard_bounce: bool | None


def bounce_fields(
    diagnostic: str | None, *, status: str | None = None, reply_code: str | None = None,
    permanent: bool | None = None, reason: str | None = None, fallback: str | None = None,
    sender_side: str | None = None,
) -> BounceFields:
    """Reason, status, reply code and hardness of one failed delivery.

    ``reason`` is what the provider itself said, when it names one of our reasons;
    otherwise the diagnostic text is classified, and when the text names nothing,
    ``fallback`` (the provider's coarser category) is used. ``sender_side`` is the reason to use
    when the provider says the *sender* was refused (a block, its reputation): a
    sender-side reason found in the text is kept, any other is replaced by it, so
    such a failure never suppresses the recipient. ``permanent`` is the provider's
    own verdict on whether it will retry."""
    verdict = classify_reply(diagnostic) if diagnostic else None
    found = reason
    if found is None and verdict is not None and verdict.reason not in _NOT_A_REASON:
        found = verdict.reason
    if found is None:
        found = fallback
    if sender_side is not None and found not in SENDER_SIDE_REASONS:
        found = sender_side
    status = status or (verdict.status if verdict else None)
    reply_code = reply_code or (verdict.reply_code if verdict else None)
    if found in SENDER_SIDE_REASONS:
        hard: bool | None = False
    elif permanent is not None:
        hard = permanent
    else:
        hard = verdict.hard_bounce if verdict else None
    return BounceFields(found, status, reply_code, hard)


# ---- authentication ----------------------------------------------------------------

def basic_auth(headers: Mapping[str, str], secret: str, provider: str) -> None:
    """HTTP basic auth against ``user:password``, compared in constant time."""
    given = headers.get("authorization", "")
    scheme, _, encoded = given.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Unauthorized(f"{provider} webhooks are authenticated by HTTP basic auth: put the "
                           "credentials in the URL given to the provider (`postwarden webhook url`)")
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("the basic-auth credentials are not valid base64") from None
    if not hmac.compare_digest(credentials, secret.encode()):
        raise Unauthorized(f"wrong basic-auth credentials for the {provider} webhook: compare the URL "
                           "configured at the provider with `postwarden webhook url`")


def basic_secret(value: str) -> str:
    value = value.strip()
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise InvalidInput("a basic-auth secret is 'user:password' (both parts non-empty)")
    if any(c in value for c in "@/?#%[]") or any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidInput("the secret goes into a URL: leave out spaces and the characters @ / ? # % [ ]")
    return value
