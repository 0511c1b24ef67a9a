"""One consensus rating per (year, unit, indicator).

Independent ratings are unique per reviewer; a consensus is the panel's single
record, so two office users recording it at the same moment must not both succeed.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_rating_consensus", "rating", ["year", "unit_code", "indicator_no"], unique=True,
                    sqlite_where=sa.text("kind = 'consensus'"), postgresql_where=sa.text("kind = 'consensus'"))


def downgrade() -> None:
    op.drop_index("uq_rating_consensus", table_name="rating")
