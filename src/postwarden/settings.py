"""Every setting declared once, with its default and help text.

Values come from, in order of precedence: explicit overrides (CLI flags, tests),
``POSTWARDEN_<NAME>`` environment variables, a TOML file named by
``POSTWARDEN_CONFIG`` (or ``./postwarden.toml`` when present), then the default.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postwarden.errors import InvalidInput


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


# The suppression policy as data. Each reason class names what suppresses, for how
# long, and what alone may lift it. ``suppress_after`` counts events of the class
# within ``window_days`` (a delivery resets the count).
DEFAULT_POLICY: dict[str, dict[str, Any]] = {
    "complaint": {"suppress_after": 1, "scope": "*", "expires_days": None, "lift": "consent"},
    "hard_bounce": {"suppress_after": 1, "scope": "*", "expires_days": None, "lift": "recheck"},
    "soft_bounce": {
        "suppress_after": 5,
        "window_days": 14,
        "scope": "*",
        "expires_days": 30,
        "lift": "operator",
    },
    "unsubscribe": {"suppress_after": 1, "scope": None, "expires_days": None, "lift": "resubscribe"},
    "invalid": {"suppress_after": 1, "scope": "*", "expires_days": None, "lift": "recheck"},
    "manual": {"suppress_after": 1, "scope": None, "expires_days": None, "lift": "operator"},
}

SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "sqlite:///postwarden.db", "SQLAlchemy URL of the ledger database."),
    Setting("http_host", "127.0.0.1", "Address the HTTP API listens on."),
    Setting("http_port", 8025, "Port the HTTP API listens on."),
    Setting("http_access_log", False, "Log every HTTP request (one line each; off by default: "
            "checks run on every send)."),
    Setting("policy", DEFAULT_POLICY, "Suppression policy per reason class (see docs)."),
    Setting("scopes", ["*"], "Known scopes (topics) besides '*'; '*' means all mail. "
            "Unknown scopes are refused unless allow_any_scope is true."),
    Setting("allow_any_scope", True, "Accept any well-formed scope name without declaring it."),
    Setting("page_size", 100, "Default page size of HTTP list endpoints."),
    Setting("public_url", "http://127.0.0.1:8025", "Base URL recipients reach the HTTP server at "
            "(used in List-Unsubscribe links)."),
    Setting("smtp_host", "127.0.0.1", "Address the SMTP feedback intake listens on."),
    Setting("smtp_port", 2525, "Port of the SMTP feedback intake; 0 turns it off."),
    Setting("smtp_max_message_size", 10_485_760, "Largest message the intake accepts (bytes); "
            "larger ones get 552."),
    Setting("intake_domain", "bounce.localhost", "Domain of the feedback addresses: bounces@, "
            "bounces+<token>@ (VERP), fbl@ and unsubscribe+<token>@."),
    Setting("intake_tenant", "default", "Tenant for feedback that carries no token naming one."),
    Setting("token_key", "", "HMAC key of VERP and unsubscribe tokens; empty: the key made "
            "by `postwarden init` and kept in the database."),
    Setting("intake_workers", 1, "Intake worker processes `postwarden serve` starts (at least 1)."),
    Setting("worker_lease_seconds", 15.0, "How long a worker's claim on spool entries lasts; a "
            "worker that dies leaves them to others once it runs out."),
    Setting("expiry_sweep_seconds", 60.0, "How often intake workers lift suppressions whose expiry "
            "has passed, logging each (checks ignore expired ones meanwhile)."),
    Setting("worker_poll_seconds", 0.2, "How often an intake worker looks for new spool entries "
            "written by other processes."),
    Setting("sns_verify_signatures", True, "Check the signature of every Amazon SNS message "
            "(SES webhooks) against the certificate at its SigningCertURL; off only where AWS "
            "cannot be reached (basic auth is then the only check)."),
    Setting("sns_cert_host_pattern", r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$", "Regular "
            "expression an SNS SigningCertURL's host must match before the certificate is "
            "fetched (over https only)."),
    Setting("sns_cert_ca_file", "", "CA certificates (PEM file) to trust instead of the system's "
            "when fetching SNS signing certificates, e.g. behind a TLS-inspecting proxy; empty: "
            "the system's."),
    Setting("webhook_replay_window_seconds", 300.0, "How far a signed webhook's timestamp may be "
            "from now (Mailgun), and so how long its one-time token is remembered; 0: no check."),
    Setting("intake_backlog_limit", 100, "Spool entries waiting for a worker beyond which `serve` "
            "holds new SMTP messages (up to 2 s) before storing them, so that acknowledged feedback "
            "reaches the ledger quickly even when the workers fall behind; 0: never hold."),
    Setting("max_page_size", 1000, "Largest page size a client may ask for."),
    Setting("relay_host", "127.0.0.1", "Address `postwarden relay` listens on for submission."),
    Setting("relay_port", 2587, "Port of `postwarden relay`."),
    Setting("relay_upstream", "127.0.0.1:25", "The MTA or smarthost the relay hands mail to, as host:port."),
    Setting("relay_upstream_starttls", False, "Use STARTTLS to the upstream."),
    Setting("relay_upstream_username", "", "Login at the upstream; empty: no AUTH."),
    Setting("relay_upstream_password", "", "Password at the upstream."),
    Setting("relay_tls_cert", "", "PEM certificate for the relay's STARTTLS; empty: no STARTTLS, and "
            "AUTH only from loopback."),
    Setting("relay_tls_key", "", "PEM private key of relay_tls_cert."),
    Setting("relay_loopback_tenant", "", "Tenant that loopback clients send as without AUTH; empty: "
            "every client must authenticate (login: tenant name, password: an API key of it)."),
    Setting("relay_rate_per_minute", 600, "Messages one authenticated sender may submit per minute; "
            "more get 451 4.7.1 until the rate drops."),
    Setting("relay_spam_threshold", 5.0, "Outgoing spam score at which the relay refuses a message "
            "with 554 5.7.1 (see docs/gate.md for the rules)."),
    Setting("relay_max_message_size", 26_214_400, "Largest message the relay accepts (bytes)."),
    Setting("dkim_domain", "", "Domain (d=) the relay DKIM-signs with; empty: no signing."),
    Setting("dkim_selector", "postwarden", "DKIM selector (s=); its key is published at "
            "<selector>._domainkey.<domain>."),
    Setting("dkim_private_key", "", "Path of the PEM RSA private key the relay signs with."),
    Setting("dns_servers", [], "Name servers for verification, health and authentication checks, "
            "as 'host' or 'host:port'; empty: the system's resolvers."),
    Setting("dns_timeout", 3.0, "Seconds a DNS question may take before it counts as a timeout."),
    Setting("verify_concurrency", 100, "DNS questions address verification keeps in flight at once."),
    Setting("verify_negative_ttl", 300.0, "Seconds a 'no such domain' or 'no such record' answer stays "
            "cached when the name server sends no SOA saying how long."),
    Setting("verify_on_check", False, "Verify the addresses POST /v1/check allows; undeliverable ones "
            "become 'invalid' suppressions."),
    Setting("verify_on_import", False, "Verify the addresses of a suppression import; undeliverable "
            "ones also get an 'invalid' suppression."),
    Setting("disposable_domains_extra", [], "Domains to treat as disposable besides the "
            "disposable-email-domains package's list."),
    Setting("disposable_domains_allow", [], "Domains never to treat as disposable, whatever the lists say."),
    Setting("disposable_domains_file", "", "A file of disposable domains, one a line ('!domain' for an "
            "exception), read again whenever it changes; empty: none."),
    # The mailbox side (docs/filter.md): the learning spam filter and its inbound proxy.
    Setting("mailbox_authserv_id", "postwarden.localhost", "Name the mailbox side signs its "
            "Authentication-Results with (RFC 8601 authserv-id); arriving ones claiming it are removed."),
    Setting("mailbox_trusted_authserv_ids", [], "Upstream servers whose Authentication-Results the "
            "mailbox side believes instead of checking SPF, DKIM and DMARC itself."),
    Setting("mailbox_model_bits", 22, "log2 of the learned model's slots: 10 bytes each in memory "
            "(22: 40 MiB per tenant), whatever the number of users."),
    Setting("mailbox_spam_at", 2.5, "Spam log-odds at or above which mail goes to the spam folder."),
    Setting("mailbox_reload_seconds", 1.0, "How often a process classifying mail looks for a model "
            "trained by another process."),
    Setting("mailbox_smtp_upstream", "", "SMTP server (host:port) complaint reports are sent "
            "through; empty: reports are logged as skipped."),
    Setting("mailbox_report_from", "abuse@localhost", "Sender address of complaint reports."),
    Setting("mailbox_spam_partner", "", "Address that also gets every complaint report users agreed "
            "to share; empty: none."),
    Setting("mailbox_allow_http_unsubscribe", False, "Accept plain-http one-click unsubscribe links "
            "(RFC 8058 asks for https; for closed networks and tests)."),
    Setting("inbound_host", "127.0.0.1", "Address `postwarden inbound` listens on."),
    Setting("inbound_port", 2526, "Port of `postwarden inbound`."),
    Setting("inbound_domains", [], "Domains `postwarden inbound` takes mail for; empty: any."),
    Setting("inbound_tenant", "default", "Tenant whose filter and users `postwarden inbound` serves."),
    Setting("inbound_deliver", "maildir:mail", "Where `postwarden inbound` stores mail: "
            "'maildir:PATH' (PATH/<address>/, spam in .Junk) or 'smtp:HOST:PORT'."),
    Setting("inbound_max_message_size", 26_214_400, "Largest message `postwarden inbound` accepts (bytes)."),
    Setting("inbound_lmtp", False, "Speak LMTP instead of SMTP (a reply per recipient, for a mail "
            "server that hands mail on by LMTP)."),
    Setting("report_complaint_rate_lines", [0.001, 0.003], "Complaint rate lines of reports and "
            "alerts, warning then critical (Gmail and Yahoo: under 0.1%, never 0.3%)."),
    Setting("report_bounce_rate_lines", [0.05, 0.10], "Bounce rate lines of reports and alerts, "
            "warning then critical."),
    Setting("report_alert_min_sent", 200, "Messages a provider must have been sent in a day before "
            "its rates can raise an alert (a few bounces out of ten say little)."),
    Setting("report_burst_count", 20, "Sender-side failures (blocked, badreputation, authfailure, ...) "
            "at one provider within report_burst_minutes that raise an alert."),
    Setting("report_burst_minutes", 60, "The window of report_burst_count."),
    Setting("report_rollup_seconds", 30.0, "How often intake workers add new messages and feedback to "
            "the daily statistics and look for alert conditions (a stats query also does it first)."),
    Setting("report_gap_seconds", 600.0, "How long the statistics rollup waits for a row whose id it "
            "passed before it was committed; after that the id counts as rolled back."),
    Setting("alert_webhook_url", "", "URL every new report alert is POSTed to as JSON, signed with "
            "alert_webhook_secret; empty: no webhook."),
    Setting("alert_webhook_secret", "", "HMAC-SHA256 key of the alert webhook's X-Postwarden-Signature "
            "header."),
    Setting("alert_webhook_attempts", 8, "Attempts to deliver one alert to the webhook, backing off "
            "from alert_webhook_retry_seconds doubling, before it is marked failed."),
    Setting("alert_webhook_retry_seconds", 30.0, "Wait before the first retry of a failed alert "
            "webhook delivery; each later retry waits twice as long."),
    Setting("sending_domains", [], "Your sending domains: the dossier shows their SPF, DKIM and DMARC "
            "status and workers check them against domain blocklists."),
    Setting("sending_ips", [], "Your sending IP addresses, checked against the IP blocklists by the "
            "dossier and periodically by workers."),
    Setting("blocklist_check_seconds", 3600.0, "How often intake workers look up sending_ips and "
            "sending_domains in the blocklists; 0 turns it off."),
    Setting("dkim_selectors", ["default", "selector1", "selector2", "google", "k1", "s1", "s2",
                               "dkim", "mail"],
            "DKIM selectors the domain health check looks up."),
    Setting("dnsbl_ip_zones", ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"],
            "IP blocklists (DNSBL zones) sending IPs are looked up in."),
    Setting("dnsbl_domain_zones", ["dbl.spamhaus.org", "multi.uribl.com"],
            "Domain blocklists sending domains are looked up in."),
    Setting("dmarc_max_bytes", 20_971_520, "Largest DMARC aggregate report accepted once "
            "decompressed (bytes); larger ones are refused as a possible decompression bomb."),
    Setting("web_session_hours", 12.0, "How long a web interface sign-in lasts before the operator "
            "must sign in again."),
    Setting("web_cookie_secure", False, "Mark the web interface's cookies Secure (sent over HTTPS "
            "only); turn on when the interface is served over HTTPS."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            setting = _BY_NAME[name]
        except KeyError:
            raise AttributeError(name) from None
        return self.values.get(name, setting.default)

    def with_overrides(self, **overrides: Any) -> Settings:
        merged = dict(self.values)
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(merged)


def _coerce(setting: Setting, text: str) -> Any:
    default = setting.default
    if isinstance(default, bool):
        return text.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, dict | list):
        return json.loads(text)
    return text


def _merge_policy(base: dict[str, dict[str, Any]], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) for k, v in base.items()}
    for reason_class, rule in extra.items():
        if reason_class not in merged:
            raise InvalidInput(f"policy names unknown reason class {reason_class!r}")
        merged[reason_class].update(rule)
    return merged


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    config_path = env.get("POSTWARDEN_CONFIG")
    if config_path is None and Path("postwarden.toml").exists():
        config_path = "postwarden.toml"
    if config_path:
        with open(config_path, "rb") as fh:
            for key, value in tomllib.load(fh).items():
                if key not in _BY_NAME:
                    raise InvalidInput(f"{config_path}: unknown setting {key!r}")
                values[key] = value
    for setting in SETTINGS:
        raw = env.get(f"POSTWARDEN_{setting.name.upper()}")
        if raw is not None:
            values[setting.name] = _coerce(setting, raw)
    if "policy" in values:
        values["policy"] = _merge_policy(DEFAULT_POLICY, values["policy"])
    return Settings(values).with_overrides(**overrides)
