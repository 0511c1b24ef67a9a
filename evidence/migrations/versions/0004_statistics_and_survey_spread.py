"""Statistic values entered or corrected by the office; the spread of survey scores; demo rounds.

StatisticValue holds a unit's value for one measure when it does not come from (or overrides)
the self-assessment, with its source and the reason of a correction. SurveyResult gains the
standard deviation of the scores so the satisfaction index carries a confidence interval.
Round.is_demo marks a round loaded by `kaoping demo`, so its pages and documents say so.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statisticvalue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("indicator_no", sa.Integer(), nullable=False),
        sa.Column("measure_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("base_value", sa.Float(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_code"], ["unit.code"]),
        sa.ForeignKeyConstraint(["updated_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "unit_code", "indicator_no", "measure_key"),
    )
    with op.batch_alter_table("statisticvalue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statisticvalue_year"), ["year"], unique=False)
    with op.batch_alter_table("surveyresult", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score_sd", sa.Float(), nullable=True))
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("is_demo")
    with op.batch_alter_table("surveyresult", schema=None) as batch_op:
        batch_op.drop_column("score_sd")
    with op.batch_alter_table("statisticvalue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statisticvalue_year"))
    op.drop_table("statisticvalue")
