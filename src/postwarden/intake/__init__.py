"""Intake: every way feedback and suppression data reach postwarden."""
