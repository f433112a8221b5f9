"""Disposable domains: the package's list, the settings' additions and exceptions, and
an override file read again when it changes."""

from __future__ import annotations

import os
from pathlib import Path

from postwarden.settings import Settings
from postwarden.verify.disposable import DisposableDomains


def test_the_package_list_and_names_under_it() -> None:
    domains = DisposableDomains()
    assert "mailinator.com" in domains and "inbox.x.Mailinator.COM." in domains
    assert "gmail.com" not in domains and "com" not in domains


def test_settings_add_and_except() -> None:
    domains = DisposableDomains.from_settings(Settings({
        "disposable_domains_extra": ["throwaway.example.net"],
        "disposable_domains_allow": ["mailinator.com"]}))
    assert "throwaway.example.net" in domains and "a.throwaway.example.net" in domains
    assert "mailinator.com" not in domains


def test_the_override_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    listing = tmp_path / "disposable.txt"
    listing.write_text("# ours\nburner.example.org\n")
    domains = DisposableDomains(file=str(listing))
    assert "burner.example.org" in domains and "mailinator.com" in domains
    listing.write_text("!mailinator.com  # a customer's real team uses it\nother-burner.example.org\n")
    os.utime(listing, (1, 1))  # the same second as the first write would not look changed
    domains.refresh()
    assert "burner.example.org" not in domains
    assert "other-burner.example.org" in domains and "mailinator.com" not in domains
    listing.unlink()
    domains.refresh()
    assert "other-burner.example.org" not in domains and "mailinator.com" in domains
