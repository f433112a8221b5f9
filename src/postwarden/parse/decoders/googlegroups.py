"""Google Groups refusing a post: the group does not exist or the sender may
not post to it. The group address is in X-Failed-Recipients; the sender (not
the group) is the problem, so the reason is ``rejected``."""

from __future__ import annotations

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, all_addresses

NAME = "googlegroups"
PRIORITY = 300

# We're writing to let you know that the group you tried to contact (libsisimai) may not exist,
# or you may not have permission to post messages to the group.
# The notice is translated into the poster's language, but always links the help
# centre and signs off as Google Groups:
#   ... go to the Help Center at https://groups.google.com/support/. ... Google Groups
_MARKS = ("the group you tried to contact", "グループ", "you may not have permission to post",
          "groups.google.com/support", "google groups")


def decode(msg: Message) -> Decoded | None:
    if "googlemail.com" not in msg.from_.lower() and "google.com" not in msg.from_.lower():
        return None
    failed = [a for v in msg.headers.get_all("x-failed-recipients") for a in all_addresses(v)]
    if not failed or not any(m in msg.body_lower[:4000] for m in _MARKS):
        return None
    text = " ".join(msg.body[:1200].split())
    return Decoded([
        Finding(recipient=a, diagnostic=text, reason="rejected", action="failed") for a in failed
    ])
