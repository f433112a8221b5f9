"""postwarden: self-hosted deliverability service.

The packages follow the flow of a message: ``intake`` -> ``parse`` -> ``classify``
-> ``ledger`` -> ``gate`` / reports; ``api`` and ``cli`` are the edges people and
programs talk to.
"""

__version__ = "0.1.0"
