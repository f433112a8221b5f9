"""The web interface for support and deliverability staff: server-rendered pages
(Jinja2 templates and one style sheet, both package data here) served by
`postwarden serve` beside the API. Operators sign in per tenant (``accounts``); the
pages (``pages``) read and change the ledger only through that tenant's ``Ledger``;
``views`` turns ledger rows into what a page shows."""
