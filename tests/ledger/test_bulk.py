"""The bulk helpers' own rules."""

from __future__ import annotations

import gc

from postwarden.ledger import bulk


def test_paused_gc_comes_back_as_it_was_after_the_last_of_overlapping_pauses() -> None:
    assert gc.isenabled()
    first, second = bulk.paused_gc(), bulk.paused_gc()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # the other pause still holds
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk.paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()
