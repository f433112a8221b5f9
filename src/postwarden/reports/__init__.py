"""Deliverability reports: per-provider statistics, alerts, the remediation log, the
provider dossier, sending-domain health and DMARC aggregate reports."""
