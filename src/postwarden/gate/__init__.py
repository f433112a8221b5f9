"""The gate: the send-time check and the relay."""
