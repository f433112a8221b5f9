"""Helpers for plain-text bounces: finding the words about one recipient."""

from __future__ import annotations

MAX_LINES = 8


def text_about(body: str, address: str, max_lines: int = MAX_LINES) -> str:
    """The paragraph of ``body`` that mentions ``address``: its line and the
    lines after it up to a blank line, whitespace collapsed."""
    if not address:
        return ""
    lower = body.lower()
    pos = lower.find(address.lower())
    if pos < 0:
        return ""
    start = body.rfind("\n", 0, pos) + 1
    lines: list[str] = []
    for line in body[start:start + 4000].split("\n"):
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.strip())
        if len(lines) >= max_lines:
            break
    return " ".join(" ".join(lines).split())


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, whitespace collapsed."""
    out: list[str] = []
    for chunk in text.split("\n\n"):
        joined = " ".join(chunk.split())
        if joined:
            out.append(joined)
    return out
