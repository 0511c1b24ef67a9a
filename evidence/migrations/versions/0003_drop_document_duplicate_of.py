"""Drop document.duplicate_of: never written (a byte-identical upload is refused and named instead).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.drop_column("duplicate_of")


def downgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
