"""mailbox filter state

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence



revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
