"""The user's mailbox side: a spam filter that learns from each user's spam and
not-spam clicks (see :mod:`postwarden.mailbox.filter`)."""

from postwarden.mailbox.filter import PreparedMessage, SpamFilter
from postwarden.mailbox.message import MailView, read_message
from postwarden.mailbox.model import LearnedModel, ModelParams
from postwarden.mailbox.store import FileModelStore, MemoryModelStore, ModelStore, load_model, save_model
from postwarden.mailbox.verdict import Action, FilterPolicy, Reason, Signal, Verdict

__all__ = [
    "Action",
    "FileModelStore",
    "FilterPolicy",
    "LearnedModel",
    "MailView",
    "MemoryModelStore",
    "ModelParams",
    "ModelStore",
    "PreparedMessage",
    "Reason",
    "Signal",
    "SpamFilter",
    "Verdict",
    "load_model",
    "read_message",
    "save_model",
]
