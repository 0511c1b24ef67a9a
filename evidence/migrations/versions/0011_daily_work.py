"""Daily work: users' e-mail and the reminders sent, metadata corrections, saved searches, and case
collection entries that know their passage and can be deleted and restored.

User.email lets `kaoping remind` mail deadline reminders; ReminderSent records each one (one per
user, deadline and threshold). MetadataCorrection keeps a person's corrections of a document's
title, issuer, date, 文号 or kind beside the extracted values. SavedSearch holds a user's named
searches. CollectionEntry gains the passage it quotes (backfilled from its evidence link; the same
passage may be in a collection once, enforced by a partial unique index) and a soft delete.

Revision ID: 0011
Revises: 0004
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False,
                                      server_default=""))
    op.create_table(
        "remindersent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "deadline", "due", "threshold"),
    )
    with op.batch_alter_table("remindersent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remindersent_user_id"), ["user_id"], unique=False)
    op.create_table(
        "metadatacorrection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("previous", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["documentversion.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metadatacorrection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metadatacorrection_document_id"), ["document_id"], unique=False)
    op.create_table(
        "savedsearch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name"),
    )
    with op.batch_alter_table("savedsearch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_savedsearch_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("collectionentry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passage_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_collectionentry_passage_id_passage", "passage", ["passage_id"], ["id"])
        batch_op.create_foreign_key("fk_collectionentry_deleted_by_user", "user", ["deleted_by"], ["id"])
    # Each entry quotes the passage of its first evidence link. Entries that repeat a passage already in
    # their collection (possible before this revision) keep no passage_id, so the unique index can be made;
    # they stay visible for the office to delete.
    op.execute(sa.text(
        "UPDATE collectionentry SET passage_id = (SELECT l.passage_id FROM evidencelink l "
        "WHERE l.owner_kind = 'collection_entry' AND l.owner_id = collectionentry.id ORDER BY l.id LIMIT 1)"))
    op.execute(sa.text(
        "UPDATE collectionentry SET passage_id = NULL WHERE EXISTS (SELECT 1 FROM collectionentry e2 "
        "WHERE e2.collection_id = collectionentry.collection_id AND e2.passage_id = collectionentry.passage_id "
        "AND e2.id < collectionentry.id)"))
    op.create_index("uq_collection_passage", "collectionentry", ["collection_id", "passage_id"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def downgrade() -> None:
    op.drop_index("uq_collection_passage", table_name="collectionentry")
    with op.batch_alter_table("collectionentry", schema=None) as batch_op:
        batch_op.drop_constraint("fk_collectionentry_deleted_by_user", type_="foreignkey")
        batch_op.drop_constraint("fk_collectionentry_passage_id_passage", type_="foreignkey")
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("passage_id")
    for table, index in (("savedsearch", "ix_savedsearch_user_id"),
                         ("metadatacorrection", "ix_metadatacorrection_document_id"),
                         ("remindersent", "ix_remindersent_user_id")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("email")
