"""The HTTP API (FastAPI): the ledger operations under /v1, OpenAPI at /docs."""
