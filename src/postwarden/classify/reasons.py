"""The reason table: one row per bounce reason, with its name, a one-line
description, whether it blames the *sender* (and so must never suppress the
recipient), whether it is a hard bounce, and the phrases that identify it.

Phrases are lower-case substrings matched against the diagnostic text. Each
group sits under a comment quoting a real response it came from. The rows are
tried in :data:`MATCH_ORDER`: specific reasons before general ones, so that
"550 5.7.1 ... mailbox unavailable, your IP is blocklisted" is a block, not an
unknown user.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    name: str
    description: str
    sender_side: bool
    hard: bool
    phrases: tuple[str, ...] = ()


REASONS: tuple[Reason, ...] = (
    Reason("authfailure", "SPF, DKIM or DMARC failed for the sender", True, False, (
        # 550 5.7.26 This mail has been blocked because the sender is unauthenticated.
        "sender is unauthenticated",
        # 550 5.7.1 Email rejected per DMARC policy for example.org
        "dmarc policy", "rejected per dmarc", "dmarc check", "dmarc verification",
        "failed dmarc", "fails dmarc", "dmarc validation", "dmarc reject",
        # 550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification
        "does not pass dmarc", "not pass dmarc",
        # 550 5.7.23 The message was rejected because of Sender Policy Framework violation
        "sender policy framework", "spf check",
        # 550 5.1.0 192.0.2.1 is not allowed to send from <example.net> per it's SPF Record.
        #   Please inspect your SPF settings, and try again. IB508
        "please inspect your spf settings", "spf validation", "spf fail", "spf=fail",
        "spf record", "spf permerror", "spf softfail", "spf violation",
        "failed spf", "fails spf", "did not pass spf", "designates",
        # 550 5.7.1 DKIM signature verification failed
        "dkim signature", "dkim verification", "dkim check", "dkim fail", "dkim=fail",
        "failed dkim", "domainkeys", "authentication checks", "arc validation",
        # 550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy
        "unauthenticated email", "is not authorized by", "not authorized to send on behalf",
        "sender authentication failed", "sender authentication",
        # 550-5.7.1 This message does not have authentication information or fails to pass
        #   authentication checks
        "does not have authentication information",
    )),
    Reason("badreputation", "the sending IP or domain has a poor reputation", True, False, (
        # 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints
        "temporarily deferred due to user complaints", "due to user complaints",
        "or user complaints",
        # 550 5.7.1 Our system has detected that this message is likely suspicious due to the very
        #   low reputation of the sending domain
        "low reputation", "poor reputation", "bad reputation", "ip reputation",
        "sender reputation", "domain reputation", "reputation of the sending",
        "sending ip has a poor", "not been verified for reputation",
        # 421 4.7.28 ... has been rate limited due to very low reputation
    )),
    Reason("blocked", "the sending IP or host is refused (blocklist, no relation)", True, False, (
        # 550 5.7.606 Access denied, banned sending IP [192.0.2.1]
        "banned sending ip", "access denied, banned", "banned ip",
        # 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org
        "blocked using", "client host rejected", "client host blocked",
        "blacklisted", "blocklisted", "black listed", "block listed", "blacklist", "blocklist",
        "on our block list", "listed at", "listed in", "listed on", "dnsbl", "rbl",
        "spamhaus", "spamcop", "sorbs", "barracudacentral", "abuseat", "cbl.",
        "your ip", "your network", "your host", "ip address is", "connection refused by",
        "connections from your", "sender ip", "sending ip", "ip blocked", "ip is blocked",
        "has been blocked", "have been blocked", "is blocked", "are blocked", "was blocked",
        "blocked by", "host blocked", "refused to talk to me",
        "not allowed to send mail from", "mail from your", "poor sending",
        "rejected due to", "connection rejected", "rejecting connection", "ip not allowed",
        "no access from", "not welcome", "banned", "temporarily blocked", "block",
        # 550 5.7.0 <a@b>... Please use the smtp server of your ISP.
        "smtp server of your isp",
        # 550 SC-004 Unfortunately, messages from 192.0.2.22 weren't sent. ... too many
        #   unwanted messages have been sent from the following IP address
        "unfortunately, messages from",
        # Connected to 192.0.2.112 but my name was rejected.
        "my name was rejected",
        # 554 INVALID IP FOR SENDING MAIL OF DOMAIN example.com
        "invalid ip for sending mail",
        "your domain is", "unauthenticated connections",
    )),
    Reason("contenterror", "the message content or headers are malformed", True, False, (
        # 550 5.6.0 Illegal header: Message-Id
        "illegal header", "invalid header", "headers are malformed",
        "message header", "mime", "improper use of 8-bit", "8bit data",
        "message contains invalid", "content error", "invalid content",
        "bare lf", "line too long", "invalid characters", "headers too large",
    )),
    Reason("delivered", "a success notice: the message was delivered", False, False, ()),
    Reason("exceedlimit", "over a size or count limit set by the receiver", False, False, (
        # 552 5.2.3 Message exceeds local size limit
        "exceeds local size limit", "message length exceeds administrative limit",
        "exceeded the maximum", "exceeds the limit", "too many recipients",
        "recipient count exceeds", "number of recipients", "message too many",
        # 550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient
        "recipsizelimit", "too large for this recipient",
    )),
    Reason("expired", "the sending MTA gave up after retrying", False, False, (
        # 4.4.7 Message expired
        "message expired", "delivery expired", "delivery time expired", "has expired",
        "retry timeout exceeded", "retry time exceeded", "gave up", "given up",
        "could not be delivered within", "not been delivered for", "has not been delivered",
        "too long in queue",
        # I'm not going to try again; this message has been in the queue too long.
        "in the queue too long", "in queue too long", "time limit exceeded", "message timed out",
        "maximum time", "was not delivered within", "delay exceeded", "queue expired",
        "deferred for too long", "expired after", "retry period", "unable to deliver in",
        "delivery attempts will continue", "still undelivered", "message will be retried",
        "have been failing for a long time",
        # There was an error delivering your mail to <a@b>. Could not deliver for the last 432000
        #   seconds. Giving up.
        "giving up", "could not deliver for the last",
        # OpenSMTPD: "Envelope expired"
        "envelope expired",
    )),
    Reason("failedstarttls", "TLS was required and could not be negotiated", True, False, (
        # 530 5.7.0 Must issue a STARTTLS command first
        "starttls", "tls required", "tls is required", "requires tls", "require tls",
        "encryption required", "tls negotiation", "tls handshake", "ssl handshake",
        # 500 Remote server does not support TLS (state 6).
        "does not support tls", "tls not available",
    )),
    Reason("feedback", "a complaint (feedback loop report)", False, False, ()),
    Reason("filtered", "rejected after DATA by a filter on the receiver", False, False, (
        # 550 5.2.1 <a@b>: Recipient address rejected: user refuses mail
        "user refuses", "refused by recipient", "rejected by recipient",
        "message filtered", "filtered", "content filter",
        "rejected by the recipient", "refused by the recipient",
        "not allowed by recipient", "recipient has blocked", "blocked by recipient",
        "the user does not accept", "does not accept mail from", "sender is on the blacklist",
        "address is blacklisted by", "rejected by user", "denied by recipient",
    )),
    Reason("hasmoved", "the mailbox has moved to a new address", False, True, (
        # 550 5.1.6 recipient no longer on server: ***@icloud.com
        "recipient no longer on server", "has moved", "address has changed",
        "mailbox has moved", "user has moved", "no longer valid, new address",
        "new address is", "moved to",
    )),
    Reason("hostunknown", "the recipient domain does not exist", False, True, (
        # 550 5.1.2 Host unknown (Name server: example.invalid: host not found)
        "host unknown", "unknown host", "host not found", "domain not found",
        "no such domain", "domain does not exist", "domain doesn't exist",
        "domain name not found", "unknown domain", "invalid domain", "non-existent domain",
        "nonexistent domain", "host or domain name not found", "name or service not known",
        "nxdomain", "unrouteable mail domain", "domain is not valid", "no such host",
        "domain isn't in my list of allowed rcpthosts", "domain not exist",
        "recipient domain", "bad destination system address", "unknown mail domain",
        "domain name does not exist", "the domain does not exist", "invalid hostname",
        "mx points to", "hostname not found", "domain is not reachable", "couldn't find any host",
        "no mx record", "not a valid domain", "dns lookup failure: host",
        # The mail server could not deliver mail to a@b. The account or domain may not
        #   exist, they may be blacklisted, or missing the proper dns entries.
        "the account or domain may not exist",
        # Exim: "Unrouteable address" (no route to the recipient's domain)
        "unrouteable address",
    )),
    Reason("mailboxfull", "the recipient's mailbox is full", False, False, (
        # 552 5.2.2 The email account that you tried to reach is over quota.
        "mailbox full", "mailbox is full", "mailbox is over", "over quota", "overquota",
        "quota exceeded", "exceeded quota", "exceeds quota", "quota exceed",
        "over its quota", "over the quota", "quota full", "disk quota", "storage quota",
        "exceeded storage allocation", "mailbox size limit", "insufficient storage",
        "account is full", "inbox is full", "mailfolder is full", "mail box full",
        "mailbox has exceeded", "would exceed", "exceeded its", "user is over",
        "out of storage", "not enough storage", "no space left", "is full",
        "mailbox exceeds", "mailbox size exceed", "storage limit", "user over quota",
        "quota violation", "over the allowed quota", "full mailbox", "mailbox over",
        "maildir over", "exceed mailbox",
        # The number of messages in recipient's mailbox exceeded the local limit.
        "messages in recipient's mailbox exceeded",
    )),
    Reason("mailererror", "a local delivery program on the receiver failed", False, False, (
        # 554 5.3.0 unknown mailer error 255
        "mailer error", "unknown mailer", "mailer failed", "command failed",
        "program failed", "delivery to program", "pipe to", "exited with", "procmail",
        "x-unix;", "command died", "error in processing",
    )),
    Reason("mesgtoobig", "the message is larger than the receiver accepts", False, False, (
        # 552 5.3.4 Message size exceeds fixed limit
        "message size exceeds", "message too big", "message too large",
        "message is too large", "message is too big", "size exceeds", "exceeds size limit",
        "exceeds maximum message size", "message size limit", "mail size limit",
        "message exceeds maximum", "message length exceeds", "message file too big",
        "size limit exceeded", "too large", "line limit exceeded", "exceeds the maximum size",
        "exceeded maximum size", "fixed limit",
    )),
    Reason("networkerror", "DNS or network failure between the MTAs", False, False, (
        # 451 4.4.0 DNS resolution failed
        "dns", "name server", "nameserver", "network is unreachable", "no route to host",
        "host unreachable", "connection timed out", "connection refused", "timed out",
        "lost connection", "connection reset", "could not connect", "unable to connect",
        "connect to", "temporary lookup failure", "mail loop", "loops back to myself",
        "routing loop", "too many hops", "hop count exceeded", "mx records",
        "unable to route", "unroutable", "no answer from host", "network error",
        "bad connection", "malformed or unexpected name server reply",
        # Network error on destination MXs
        "network error on destination",
        # Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)
        "establish an smtp connection",
        # [Status: Error, Address: <a@b>, ResponseCode 421, , Host not reachable.]
        "host not reachable",
        # Status: 4.0.0 (cat.example.net: host name lookup failure)
        "host name lookup failure",
    )),
    Reason("norelaying", "relaying through the receiver is not allowed", True, False, (
        # 554 5.7.1 <a@b>: Relay access denied
        "relay access denied", "relaying denied", "relay denied", "relay not permitted",
        "not permitted to relay", "we do not relay", "unable to relay", "relay not allowed",
        "relaying not allowed", "not allowed to relay", "no relaying", "relay prohibited",
        "relaying prohibited", "relaying to", "not a gateway", "cannot relay",
        "does not relay", "relay is not allowed", "mail relay", "open relay",
        "relaying mail to", "relay attempt", "not configured to relay",
        # 554 Message rejected: Email address is not verified. The following identities failed the check
        "address is not verified",
    )),
    Reason("notaccept", "the domain accepts no mail (null MX or refused)", False, False, (
        # 556 5.1.10 Recipient address has null MX
        "has null mx", "null mx", "does not accept mail",
        # No mx record found for domain=example.org
        "no mx record found",
        # Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)
        "couldn't find a mail exchanger", "accepts no mail", "not accepting mail",
        "no mail is accepted", "does not accept e-mail",
        # 550 5.1.10 ... No MX found for domain
        "no mx found",
        # Exim: "an MX or SRV record indicated no SMTP service"
        "indicated no smtp service",
    )),
    Reason("notcompliantrfc", "the message breaks RFC 5322", True, False, (
        # 550 5.7.1 [IRR] Our system has detected that this message is not RFC 5322 compliant
        "rfc 5322", "rfc5322", "rfc 2822", "rfc2822", "rfc 822", "not rfc compliant",
        "multiple addresses in from", "duplicate header", "multiple from",
        "multiple message-id", "missing a message-id", "no date header", "missing date",
    )),
    Reason("onhold", "not enough information to tell", False, False, ()),
    Reason("policyviolation", "the receiver's policy refused the message", True, False, (
        # 552-5.7.0 This message was blocked because its content presents a potential
        #   security issue.
        "content presents a potential security issue",
        # 550 5.7.1 Message rejected due to local policy
        # 554 5.7.0 Header error
        "header error", "protocol violation", "denied by policy",
        "local policy", "policy violation", "violates our policy", "policy rejection",
        "content policy", "rejected by policy", "due to policy", "policy reasons",
        "prohibited", "not allowed by policy", "by administrative policy",
        "against policy", "message rejected because of policy", "policy restrictions",
        "acceptable use", "usage policy", "email policy", "security policy",
        "attachment", "executable", "file type",
        # 552-5.7.0 This message was blocked because its content presents a potential security issue.
        "content presents a potential security issue",
    )),
    Reason("rejected", "the envelope sender was refused", True, False, (
        # "Sorry, you are sending to/from an address that has been blacklisted"
        "from an address that has been blacklisted",
        # 550-5.1.0 MXIN506 MailFrom domain is listed in Spamhaus.
        "mailfrom domain is listed", "sender domain is listed",
        # 550 5.1.8 <a@b>: Sender address rejected: Domain not found
        "sender address rejected", "sender rejected", "sender verify failed",
        "sender verification", "domain of sender address", "sender domain",
        "invalid sender", "sender not allowed", "sender is not allowed", "bad sender",
        "from address", "envelope sender", "return path", "return-path",
        "mail from", "sender unknown", "unknown sender", "sender denied",
        "sender address", "sender blocked", "purported responsible address",
        # (qmail's "Connected to 192.0.2.225 but sender was rejected." names the
        # stage, MAIL FROM, not the reason: the remote reply after it says why;
        # see classify.command)
        "sender refused", "your address",
        "the sender", "not allowed to send", "sender mismatch", "from: domain is invalid",
        # Exchange Online refusing the sending organisation as a whole:
        # 550 5.4.1 All recipient addresses rejected : Access denied [HOST.protection.outlook.com]
        "recipient addresses rejected : access denied",
        # a gateway that accepts mail only from its registered senders:
        # 550 'a@b.example' is not a registered gateway user
        "is not a registered gateway user",
    )),
    Reason("requireptr", "the sending IP has no PTR (reverse DNS) record", True, False, (
        # 550 5.7.25 The IP address sending this message does not have a PTR record setup
        "ptr record", "reverse dns", "reverse lookup", "no ptr", "ptr lookup",
        "rdns", "reverse hostname", "cannot find your hostname", "cannot find your reverse",
        "reverse ip", "no reverse", "does not have a reverse", "ip name lookup failed",
        "ip name possibly forged", "hostname of your ip", "dns ptr", "unresolvable",
        "not resolve your", "client host name", "resolve to your address",
        # 550 5.7.1 Connections not accepted from servers without a valid sender domain. Fix reverse DNS
        "fix reverse dns", "reverse dns validation", "mismatches client ip", "invalid rdns",
        "unverifyable sending ip",
    )),
    Reason("securityerror", "authentication or another security check failed", True, False, (
        # 530 5.7.0 Authentication required
        "authentication required", "authentication is required", "auth required",
        "must be authenticated", "must authenticate", "not authenticated",
        "authentication failed", "authentication mechanism", "smtp auth",
        "unauthorized", "not authorized", "delivery not authorized", "access denied",
        "security", "password", "credentials",
        "submission requires", "weak", "insecure",
        # 550 Unauthenticated senders not allowed
        "unauthenticated senders not allowed",
    )),
    Reason("spamdetected", "the message was judged to be spam", True, False, (
        # 550 5.7.1 Message considered as spam or virus
        "spam", "junk mail", "unsolicited", "bulk mail", "bulk e-mail", "bulk email",
        "classified as", "detected as", "suspicious", "content rejected", "uce",
        "looks like", "phishing", ", ube", "scored as spam", "high probability of being",
        "message rejected as",
        # amavisd-new: 554 5.7.0 Reject, id=22222-22 - SPAM. See http://example.org/block
        "- spam.",
        # 550-REJECTED - Blacklisted URL in message. (example.com) in [black].
        "blacklisted url", "blocklisted url", "uribl",
    )),
    Reason("speeding", "the sender is sending too fast (rate limited)", True, False, (
        # 421 4.7.28 ... has been rate limited
        "rate limit", "rate limited", "ratelimit", "too fast", "sending rate",
        "too many messages", "too many emails", "receiving mail at a rate",
        "exceeded the rate", "throttl", "try again later", "slow down",
        "message rate", "messages per", "mail rate",
    )),
    Reason("suspend", "the recipient mailbox is suspended or disabled", False, False, (
        # 550 5.2.1 The email account that you tried to reach is disabled.
        "is disabled", "account disabled", "account has been disabled",
        "mailbox disabled", "mailbox is disabled", "suspended", "inactive",
        "is not active", "not an active", "deactivated", "account expired",
        "account is locked", "mailbox locked", "has been terminated",
        "temporarily unavailable", "recipient unavailable", "temporary locked",
        "temporarily locked", "mailbox is frozen",
        "user unavailable", "account unavailable", "no longer active", "disabled",
        "expired account",
    )),
    Reason("syntaxerror", "the SMTP conversation had a syntax error", False, False, (
        # 501 5.5.4 Syntax error in parameters or arguments
        "syntax error", "command unrecognized", "unrecognized command",
        "bad sequence", "command not recognized", "invalid command", "command not implemented",
        "parameter not implemented", "malformed address",
    )),
    Reason("systemerror", "the receiving system had an internal error", False, False, (
        # 451 4.3.0 Internal server error
        "system error", "internal error", "server error", "local error",
        "configuration error", "temporary error", "service unavailable",
        "not available", "server configuration", "system problem", "internal failure",
        "too many errors", "transaction failed", "processing error", "try again",
        "resources", "misconfigured", "unexpected", "system config",
        # 451 4.3.0 Error: queue file write error
        "queue file write error",
        # 554 Service currently unavailable
        "currently unavailable",
        # 451 Could not load DRD for domain (example.com)
        "could not load",
    )),
    Reason("systemfull", "the receiving system is out of disk space", False, False, (
        # 452 4.3.1 Insufficient system storage
        "insufficient system storage", "system storage", "disk full", "disk is full",
        "out of disk", "no space", "system full", "file system full", "volume full",
        # 452 4.3.1 Insufficient system resources (UsedDiskSpace[D:\Program Files\...\Queue])
        "insufficient system resources", "useddiskspace",
    )),
    Reason("toomanyconn", "too many connections from the sender", True, False, (
        # 421 4.7.0 Too many concurrent SMTP connections; please try again later
        "too many connections", "too many concurrent", "too many simultaneous",
        "connection limit", "too many smtp sessions", "maximum connections",
        "too many open connections", "concurrent connections", "exceed connection",
        # 452 4.3.2 Connection rate limit exceeded.
        "connection rate limit",
        "too many sessions",
    )),
    Reason("undefined", "nothing tells what went wrong", False, False, ()),
    Reason("userunknown", "the recipient mailbox does not exist", False, True, (
        # 550 5.1.1 <a@b>: Recipient address rejected: User unknown in virtual mailbox table
        "user unknown", "unknown user", "no such user", "user not found", "no such mailbox",
        "mailbox not found", "recipient unknown", "unknown recipient", "invalid recipient",
        "recipient not found", "recipientnotfound", "recipnotfound", "no such recipient",
        "recipient does not exist", "mailbox does not exist", "mailbox doesn't exist",
        "user does not exist", "user doesn't exist", "address does not exist",
        "account does not exist", "does not exist", "doesn't exist", "user not exist",
        # 550-5.1.1 The email account that you tried to reach does not exist.
        "email account that you tried to reach does not exist",
        # 550 5.1.1 <a@b>... User unknown
        "no mailbox here by that name", "no such account", "unknown local part",
        "invalid mailbox", "not a valid mailbox",
        "mailbox unavailable", "mailbox not available", "addressee unknown",
        "unknown address", "bad recipient", "invalid address",
        "recipient rejected", "recipient address rejected: user unknown", "user invalid",
        "unknown or illegal alias", "not our customer", "no such person",
        "this user doesn't have a", "is not a valid", "undeliverable address",
        "address unknown", "no mailbox", "mailbox is not", "not a known user",
        "unknown account", "user is unknown", "not listed in", "invalid user",
        "no user", "unknown alias", "unknown e-mail",
        "unknown email", "address not valid", "invalid e-mail", "nonexistent user",
        "non-existent user", "not a registered", "mailbox unknown",
        # Your message wasn't delivered to a@b because the address couldn't be found.
        "address couldn't be found", "address could not be found",
        # 554 5.7.1 <a@b>: Recipient address rejected: Access denied
        "recipient address rejected: access denied",
        # 550 #5.1.0 Address rejected.
        "address rejected.",
    )),
    Reason("vacation", "an automatic reply such as out-of-office", False, False, ()),
    Reason("virusdetected", "the message was judged to carry a virus", True, False, (
        # 554 5.7.0 Message rejected: virus found
        "virus", "malware", "infected", "trojan", "worm", "malicious",
    )),
)

# A few phrases that decide on their own, ahead of the table: a longer phrase of
# another reason would otherwise win.
OVERRIDES: tuple[tuple[str, str], ...] = (
    # Name service error for domain example.com: Host not found, try again
    ("host not found, try again", "networkerror"),
    # DNS Error: DNS type 'mx' lookup of example.org responded with code NOERROR
    #   The domain example.org doesn't receive email according to the administrator: returned Null MX
    ("returned null mx", "notaccept"),
    # DNS Error: 80335577 DNS type 'mx' lookup of example.jp responded with code NXDOMAIN
    ("dns type 'mx' lookup of", "networkerror"),
    # 550 Virus Detected; Content Rejected
    ("virus detected", "virusdetected"),
    # procmail: Couldn't create "/var/spool/mail/neko"
    ("procmail:", "mailererror"),
)

# Words of a receiver that looked the address up in its own directory and did
# not find it: said at RCPT time (or by the mailbox host itself), so they name a
# missing mailbox even where no SMTP command or status code is given.
DIRECTORY_MISSES: tuple[str, ...] = (
    # User some.name (a@b) not listed in Domino Directory
    "not listed in domino directory", "not listed in public name & address book",
    # The recipient name is not recognized ... MSEXCH:IMS:... (000C05A6) Unknown Recipient
    "recipient name is not recognized",
    # Your message wasn't delivered to a@b because the address couldn't be found.
    "address couldn't be found", "address could not be found",
    # the local delivery agent found no such mailbox on the host itself:
    # 554 <a@b>... Service unavailable  mail.local: unknown user: a
    "mail.local: unknown user",
)

# Words that, said in reply to MAIL FROM, refuse the sender rather than name a
# security problem of the session:
# 550 5.7.1 Access denied (in reply to MAIL FROM command)
REFUSED_AT_MAIL: tuple[str, ...] = ("access denied",)

BY_NAME: dict[str, Reason] = {r.name: r for r in REASONS}

SENDER_SIDE: frozenset[str] = frozenset(r.name for r in REASONS if r.sender_side)

# Newer names some tools use, mapped onto the vocabulary above.
ALIASES: dict[str, str] = {"ratelimited": "speeding", "emailtoolarge": "mesgtoobig"}
