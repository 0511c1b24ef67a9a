"""Survey answers held for the office: status (counted | held | discarded), why, who decided, and a hash
of the answers to find identical sheets.

An online answer beyond what one address may give one survey in a day, in a burst, or repeating the same
answers is kept but not counted until the office reviews it (rounds/surveys.py). Every existing answer
is counted, as it was.

Revision ID: 0012
Revises: 0007
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveyresponse", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default="counted"))
        batch_op.add_column(sa.Column("hold_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("pattern", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key("fk_surveyresponse_reviewed_by_user", "user", ["reviewed_by"], ["id"])
        batch_op.create_index("ix_surveyresponse_status", ["survey_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveyresponse", schema=None) as batch_op:
        batch_op.drop_index("ix_surveyresponse_status")
        batch_op.drop_constraint("fk_surveyresponse_reviewed_by_user", type_="foreignkey")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("pattern")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("status")
