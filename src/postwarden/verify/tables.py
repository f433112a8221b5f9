"""The tables verification works from, kept as data: role accounts, popular mailbox
domains (what typo suggestions point at) and the keyboard layout (which mistypes are
likely). Add a row here, not a rule in code."""

from __future__ import annotations

# Local parts that name a function, not a person: mail to them reaches a team, a ticket
# queue or nobody, and complaints from them weigh heavily. Matched on the local part
# without its +tag, lower-cased.
ROLE_ACCOUNTS: frozenset[str] = frozenset({
    # RFC 2142: mailbox names for common services, roles and functions.
    "postmaster", "abuse", "hostmaster", "webmaster", "noc", "security", "info",
    "marketing", "sales", "support", "usenet", "news", "uucp", "www", "ftp",
    # Addresses that send but never read.
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
    "mailer-daemon", "bounce", "bounces", "notifications", "notification",
    # Administrative and system mailboxes.
    "admin", "administrator", "root", "sysadmin", "system", "it", "helpdesk", "help",
    "hello", "contact", "enquiries", "enquiry", "inquiries", "office", "team", "staff",
    "all", "everyone", "billing", "accounts", "accounting", "finance", "invoices",
    "hr", "jobs", "careers", "recruiting", "legal", "privacy", "compliance", "press",
    "media", "pr", "feedback", "service", "customerservice", "orders", "shop",
    "newsletter", "list", "list-request", "subscribe", "unsubscribe", "reception",
})

# Mailbox providers whose users make up most of a typical list, so that a near miss
# of one is far more likely a typo than a real domain. Country variants are listed
# because a typo of ``hotmail.fr`` should be corrected to ``hotmail.fr``, not ``.com``.
POPULAR_DOMAINS: tuple[str, ...] = (
    # Google
    "gmail.com", "googlemail.com",
    # Yahoo
    "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.ca",
    "yahoo.com.au", "yahoo.com.br", "yahoo.co.in", "yahoo.co.jp", "yahoo.com.mx",
    "ymail.com", "rocketmail.com",
    # Microsoft
    "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
    "outlook.com", "outlook.fr", "outlook.de", "outlook.es", "live.com", "live.co.uk", "live.fr",
    "live.nl", "live.ca", "msn.com",
    # Apple
    "icloud.com", "me.com", "mac.com",
    # AOL and Verizon
    "aol.com", "aim.com", "verizon.net",
    # Privacy-focused and independent providers
    "protonmail.com", "proton.me", "pm.me", "tutanota.com", "fastmail.com", "zoho.com",
    "mail.com", "email.com", "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch",
    "mailbox.org", "posteo.de", "hushmail.com",
    # North American ISPs
    "comcast.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
    "earthlink.net", "optonline.net", "juno.com", "shaw.ca", "rogers.com", "sympatico.ca",
    "telus.net",
    # European providers and ISPs
    "web.de", "t-online.de", "freenet.de", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr",
    "laposte.net", "libero.it", "virgilio.it", "tiscali.it", "alice.it", "btinternet.com",
    "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net", "blueyonder.co.uk",
    "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "ziggo.nl", "telenet.be",
    "skynet.be", "bluewin.ch",
    # Russia and neighbours
    "yandex.ru", "yandex.com", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
    "ukr.net", "abv.bg",
    # Asia and Oceania
    "qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net", "hanmail.net",
    "rediffmail.com", "bigpond.com", "optusnet.com.au", "xtra.co.nz",
    # Latin America
    "uol.com.br", "bol.com.br", "terra.com.br",
)

# The QWERTY layout, row by row, each row offset half a key from the one above as on a
# real keyboard. Two keys are neighbours when they touch.
KEYBOARD_ROWS: tuple[str, ...] = (
    "1234567890-",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm,.",
)

# Country-code top-level domains (ISO 3166-1 alpha-2 in use as TLDs, plus uk, eu and ac).
# ``yahoo.gr`` beside ``yahoo.fr`` is another country's site, not a typo; ``gmx.ed`` is.
_COUNTRY_CODES = """
ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo bq br
bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec
ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk
hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la
lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my
mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro
rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl
tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
COUNTRY_CODES: frozenset[str] = frozenset(_COUNTRY_CODES.split())
