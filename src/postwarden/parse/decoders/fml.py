"""fml, the Japanese mailing-list manager (``X-MLServer: fml``), refusing a
post or a command: the list, not a recipient mailbox, answers. The address
the notice names in angle brackets is the list's; the reason is fml's own
sentence, so the sender (not any recipient) is the one to act."""

from __future__ import annotations

from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, first_address

NAME = "fml"
PRIORITY = 400

# fml's notices and what each one means.
PHRASES: dict[str, tuple[str, ...]] = {
    # You are not a member of this mailing list <list@example.org>.
    # Your mail was rejected since you are not a member of the list
    "rejected": ("are not a member", "not member", "deny to post", "rejected since",
                 "only members may post"),
    # Loop Alert: Duplicated Message-ID in <list@example.co.jp>.
    "systemerror": ("duplicated message-id", "loop alert", "looped"),
    # Your message is too big
    "mesgtoobig": ("message is too big", "mail size limit"),
    # Your mail contains invalid header / content
    "securityerror": ("security alert", "invalid command", "unsafe"),
}


def decode(msg: Message) -> Decoded | None:
    if not msg.headers.get("x-mlserver").lower().startswith("fml"):
        return None
    text = f"{msg.subject}\n{msg.body[:2000]}"
    lower = text.lower()
    reason = next((r for r, ps in PHRASES.items() if any(p in lower for p in ps)), None)
    if reason is None:
        return None
    line = next((ln.strip() for ln in msg.body.split("\n") if ln.strip()), msg.subject)
    listed = first_address(line[line.find("<"):]) if "<" in line else None
    recipient = listed or first_address(msg.from_)
    return Decoded([Finding(recipient=recipient, diagnostic=line, reason=reason, action="failed")])
