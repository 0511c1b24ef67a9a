"""Satisfaction surveys: published surveys with their links, and the anonymous responses.

Survey is one unit's survey of one year and audience (workers, enterprise, staff), reached by an
unguessable token; SurveyResponse is one answer sheet, given online or imported, with its 0–100 score.

Revision ID: 0007
Revises: 0004
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("indicator_no", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("max_responses", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["unit.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "unit_code", "audience"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_year"), ["year"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_token"), ["token"], unique=True)
    op.create_table(
        "surveyresponse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("indicator_no", sa.Integer(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("browser", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("page_nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ip_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("batch", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["unit.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("page_nonce"),
        sa.UniqueConstraint("survey_id", "browser"),
    )
    with op.batch_alter_table("surveyresponse", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveyresponse_year"), ["year"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveyresponse_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveyresponse_batch"), ["batch"], unique=False)
        batch_op.create_index("ix_surveyresponse_ip", ["survey_id", "ip_hash", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveyresponse", schema=None) as batch_op:
        batch_op.drop_index("ix_surveyresponse_ip")
        batch_op.drop_index(batch_op.f("ix_surveyresponse_batch"))
        batch_op.drop_index(batch_op.f("ix_surveyresponse_survey_id"))
        batch_op.drop_index(batch_op.f("ix_surveyresponse_year"))
    op.drop_table("surveyresponse")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_token"))
        batch_op.drop_index(batch_op.f("ix_survey_year"))
    op.drop_table("survey")
