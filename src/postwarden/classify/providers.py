"""Provider phrase tables: what a given receiving provider means by its own
wording. A provider's table is used only when the remote MTA is one of its
hosts (or its text names it), and it wins over the general reason table.

Each phrase sits under a comment quoting the real response it came from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provider:
    name: str
    hosts: tuple[str, ...]  # host-name suffixes of its MX and relays
    marks: tuple[str, ...]  # lower-case substrings of its replies that name it
    phrases: dict[str, tuple[str, ...]]
    # Recipient domains whose mail only this provider receives: its table then
    # applies even when the report names no remote host.
    domains: tuple[str, ...] = ()
    # Phrases whose meaning depends on where the provider said them: phrase ->
    # rows of (status, SMTP command, reason); None in a row matches anything,
    # the first matching row wins, and a phrase with no matching row falls
    # through to the general rules.
    staged: dict[str, tuple[tuple[str | None, str | None, str], ...]] = field(
        default_factory=dict
    )


PROVIDERS: tuple[Provider, ...] = (
    Provider("apple", ("icloud.com", "me.com", "mac.com", "apple.com", "appleid.com"),
             ("support.apple.com",), {
        # 550 5.1.6 recipient no longer on server: ***@icloud.com
        "hasmoved": ("recipient no longer on server",),
        # 550 5.1.1 <***@icloud.com>: inactive email address
        "userunknown": ("inactive email address", "user does not exist", "user not found"),
        # 552 5.2.2 <***@icloud.com>: user is over quota
        "mailboxfull": ("user is over quota",),
        # 554 5.7.1 Your message was rejected due to example.org's DMARC policy.
        "authfailure": ("dmarc policy",),
        # 550 5.7.0 Blocked - see https://support.apple.com/en-us/HT204137
        "blocked": ("blocked - see",),
    }),
    Provider("google", ("google.com", "googlemail.com", "gmail.com"), ("gsmtp", "support.google.com"), {
        # 550-5.2.1 The email account that you tried to reach is inactive.
        "suspend": ("account that you tried to reach is disabled",
                    "account that you tried to reach is inactive"),
        # 552-5.2.2 The recipient's inbox is out of storage space and inactive.
        "mailboxfull": ("out of storage space", "over quota", "overquotaperm"),
        # 552-5.7.0 This message was blocked because its content presents a potential
        #   security issue.
        "policyviolation": ("content presents a potential",),
        # 550-5.7.1 This message is not RFC 5322 compliant.
        "notcompliantrfc": ("not rfc 5322 compliant",),
        # 550-5.7.26 This mail has been blocked because the sender is unauthenticated.
        "authfailure": ("sender is unauthenticated", "fails to pass spf", "dmarc policy"),
        # 550-5.7.25 The IP address sending this message does not have a PTR record setup
        "requireptr": ("does not have a ptr record",),
        # 421-4.7.0 ... Our system has detected an unusual rate of unsolicited mail
        "spamdetected": ("unusual rate of unsolicited mail", "spam classification"),
        # The recipient server did not accept our requests to connect.
        "expired": ("did not accept our requests to connect",),
        # DNS type 'mx' lookup of example.org responded with code NOERROR ... returned Null MX
        "notaccept": ("returned null mx",),
        # DNS type 'mx' lookup of example.jp responded with code NXDOMAIN
        "networkerror": ("dns error:", "lookup of"),
    }),
    Provider("microsoft", ("outlook.com", "hotmail.com", "live.com", "msn.com",
                           "protection.outlook.com"), ("postmaster.live.com", "sender.office.com"), {
        # 550 5.7.606 Access denied, banned sending IP [192.0.2.1].
        "blocked": ("banned sending ip",),
        # 451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to IP reputation.
        "badreputation": ("rate limited due to ip reputation",),
        # 550 5.4.1 [a@b]: Recipient address rejected: Access denied
        "userunknown": ("recipient address rejected: access denied",
                        "recipientnotfound", "mailbox unavailable"),
        # 550 5.7.509 Access denied, sending domain [EXAMPLE.JP] does not pass DMARC verification
        "authfailure": ("does not pass dmarc",),
        # 554 The mail could not be delivered to the recipient because the domain is not reachable.
        "hostunknown": ("the domain is not reachable",),
        # 550 domain [example.com] mismatches client ip 192.0.2.225.
        "requireptr": ("mismatches client ip",),
    }),
    Provider("yahoo", ("yahoodns.net", "yahoo.com", "aol.com", "yahoo.co.jp"), (), {
        # 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or
        #   user complaints
        "rejected": ("[tss04]",),
        # 554 5.7.9 Message not accepted for policy reasons.
        "policyviolation": ("not accepted for policy reasons",),
        # 554 delivery error: dd This user doesn't have a yahoo.com account
        "userunknown": ("user doesn't have a",),
        # 421 4.7.0 [TSS04] / 553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1
        "blocked": ("[bl21]", "[bl22]", "[bl23]"),
    }),
    Provider("aol", ("aol.com",), (), {
        # Name service error for name=example.org type=MX: Malformed or unexpected name
        #   server reply   (AOL's MTA, when the domain's MX answer is unusable: no mail
        #   exchanger will take the mail)
        "notaccept": ("type=mx: malformed or unexpected name server reply",),
        # Host or domain name not found. Name service error for name=example.invalid type=A
        "hostunknown": ("host or domain name not found",),
    }),
    Provider("tencent", ("qq.com",), ("service.mail.qq.com",), {
        # 550 Ip frequency limited [...]
        "toomanyconn": ("frequency limited",),
        # 550 DMARC check failed.
        "authfailure": ("dmarc check failed",),
        # 550 Mailbox not found.
        "userunknown": ("mailbox not found",),
        # 550 Mailbox unavailable or access denied
        "suspend": ("mailbox unavailable or access denied",),
    }),
    Provider("cox", ("cox.net", "cloudfilter.net"), ("cox.com",), {
        # 550 5.1.0 <a@b> sender rejected. Refer to Error Codes section at https://www.cox.com/... AUP#CDRBL
        "blocked": ("aup#cdrbl", "aup#rbl", "aup#cxrbl", "aup#dnsbl"),
        # 550 5.1.1 <a@b> recipient rejected  AUP#RCPT
        "userunknown": ("recipient rejected",),
    }),
    Provider("spectrum", ("charter.net", "rr.com", "spectrum.net"), ("spectrum.net",), {
        # 550 5.1.0 <a@b> sender rejected. Please see
        #   https://www.spectrum.net/support/internet/understanding-email-error-codes
        "toomanyconn": ("understanding-email-error-codes",),
    }),
    Provider("godaddy", ("secureserver.net",), ("x.co/rlbounce", "x.co/irbounce"), {
        # 550 5.1.1 <a@b> - 192.0.2.1 has sent to too many recipients this hour. IB607
        "speeding": ("too many recipients this hour", "ib607"),
        # 553 http://www.spamhaus.org/query/bl?ip=192.0.2.222
        "blocked": ("spamhaus.org", "ib401", "ib501"),
    }),
    Provider("orange", ("orange.fr", "wanadoo.fr", "laposte.net"), ("ofr_", "lpn00"), {
        # 550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked. LPN007_426
        "suspend": ("recipient account is blocked",),
        # 550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]
        "userunknown": ("invalid recipient",),
        # 550 mwinf ME Adresse IP source bloquee pour incident de spam. Client host blocked for
        #   spamming issues. OFR006_102
        # 421 mwinf ME Service refuse. Veuillez essayer plus tard. Service refused, please try later.
        #   OFR_999 [999]
        "blocked": ("client host blocked", "lpn001_108", "lpn006_107", "ofr_999"),
        # 421 4.2.0 Service refuse. Veuillez essayer plus tard. OFR005_505 [505]
        "systemerror": ("ofr005_505",),
        # 554 5.7.1 <host[ip]:port>: Client host rejected: #216 lpn LPN000_630
        "policyviolation": ("lpn000_630",),
        # 550 5.2.0 Mail rejete. Mail rejected. OUK_513
        "spamdetected": ("mail rejected. ouk_513", "mail rejete"),
    }),
    Provider("mimecast", ("mimecast.com",), ("mimecast.com",), {
        # 554 Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554
        "policyviolation": ("host network not allowed",),
        # 554 email rejected due to security policies - MCSpamSignature.sa.2.2
        "virusdetected": ("mcspamsignature",),
    }),
    Provider("facebook", ("facebook.com", "fb.com"), ("postmaster.facebook.com",), {
        # 550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes?ip=192.0.2.1#rcp Refused due
        #   to recipient preferences
        "filtered": ("rcp-p2", "refused due to recipient preferences"),
        # 550 5.1.1 RCP-P1 ... Recipient address does not exist
        "userunknown": ("rcp-p1",),
    }),
    Provider("messagelabs", ("messagelabs.com",), ("messagelabs",), {
        # 550-Please turn on SMTP Authentication in your mail client.
        "securityerror": ("turn on smtp authentication",),
        # 542 a@b Rejected
        "userunknown": ("no such user", " rejected"),
    }),
    Provider("kddi", ("ezweb.ne.jp", "au.com", "auone-net.jp"), (), domains=(
        "ezweb.ne.jp", "au.com", "biz.ezweb.ne.jp"), phrases={
        # 550 : User unknown   (au answers so, with no address, when its domain filter refuses)
        "filtered": ("550 : user unknown",),
        # 550 <a@ezweb.ne.jp>: User unknown
        "userunknown": (">: user unknown",),
    }),
    Provider("nttdocomo", ("docomo.ne.jp",), (), {
        # 552 Too many recipients   (docomo caps the recipients of one session)
        "toomanyconn": ("too many recipients",),
        # 552 Too much mail data
        "mailboxfull": ("too much mail data",),
        # 503 Bad sequence of commands / 504 Command parameter not implemented
        "syntaxerror": ("bad sequence of commands", "command parameter not implemented"),
    }, staged={
        # docomo answers "550 Unknown user" both for a missing mailbox (at RCPT
        # TO) and for its subscribers' reception settings that refuse the
        # sender (after DATA, or summarised by the sending MTA as X.2.0):
        #   >>> RCPT To:<a@docomo.ne.jp>  <<< 550 Unknown user a@docomo.ne.jp
        #   550 Unknown user a@docomo.ne.jp (in reply to end of DATA command)
        "unknown user": (
            ("5.1.1", None, "userunknown"),
            ("5.2.0", None, "filtered"),
            (None, "RCPT", "userunknown"),
            ("5.0.0", "DATA", "rejected"),
        ),
    }),
    Provider("iua", ("email.ua", "i.ua"), ("mail.i.ua",), {
        # 550 Mailbox is frozen. See http://mail.i.ua/err/3/
        "suspend": ("mailbox is frozen",),
    }),
    Provider("cloudflare", ("cloudflare.net",), ("cloudflare.com/email-routing",), {
        # 421 4.3.0 Upstream error, please check https://developers.cloudflare.com/email-routing/postmaster
        "systemerror": ("upstream error",),
    }),
    Provider("zoho", ("zoho.com", "zohomail.com"), (), {
        # 554 5.7.7 Email policy violation detected
        "policyviolation": ("email policy violation",),
        # 554 5.7.1 Email cannot be delivered. Reason: Email flagged as Spam.
        # 541 5.4.1 Mail rejected by destination domain
        "rejected": ("email flagged as spam", "mail rejected by destination domain"),
    }),
)


def _host_matches(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


@functools.lru_cache(maxsize=4096)
def _known_by(host: str, domain: str) -> frozenset[str]:
    """The names of the providers a remote host or a recipient domain points at."""
    return frozenset(
        p.name for p in PROVIDERS
        if (host and _host_matches(host, p.hosts)) or (domain and _host_matches(domain, p.domains))
    )


def match(
    text: str, remote_mta: str | None, domain: str | None = None,
    status: str | None = None, command: str | None = None,
) -> str | None:
    """The reason a provider's own table gives for ``text`` (lower-case), or
    None. The provider is known by the remote MTA's name, by the recipient's
    domain (its mail goes to that provider), or by a mark in its reply;
    ``status`` and ``command`` select among its staged rows."""
    host = (remote_mta or "").lower().strip().rstrip(".")
    domain = (domain or "").lower().strip().rstrip(".")
    known = _known_by(host, domain)
    for provider in PROVIDERS:
        if provider.name not in known and not any(mark in text for mark in provider.marks):
            continue
        for reason, phrases in provider.phrases.items():
            for phrase in phrases:
                if phrase in text:
                    return reason
        for phrase, rows in provider.staged.items():
            if phrase not in text:
                continue
            for want_status, want_command, reason in rows:
                if want_status not in (None, status) or want_command not in (None, command):
                    continue
                return reason
    return None
