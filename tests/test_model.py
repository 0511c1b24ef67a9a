"""The data model: a whole cycle's records round-trip through the database."""
from datetime import date

import pytest
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from conftest import PASSWORD
from evidence.models import (AuditEvent, CategoryDecision, Collection, CollectionEntry, CollectionSection, Document,
                             DocumentVersion, EvidenceLink, Passage, Rating, RatingRevision, Round, SelfAssessment,
                             SelfAssessmentItem, SpotCheck, StoredFile, SurveyResult, Unit)


def test_units_loaded_on_init(db_session):
    codes = {u.code for u in db_session.exec(select(Unit))}
    assert len(codes) == 32 and {"BJ", "JS", "BT"} <= codes


def test_cycle_round_trip(db_session, make_user):
    office = make_user("office", "office")
    reviewer = make_user("rev", "reviewer", home="ZJ")
    s = db_session
    s.add(Round(year=2023, indicator_version="2023.1", self_assessment_due=date(2024, 2, 29),
                spotcheck_due=date(2024, 3, 31), review_due=date(2024, 7, 31),
                category_thresholds={"优秀": 90, "良好": 75, "一般": 60}))
    s.add(StoredFile(sha256="a" * 64, size=3))
    doc = Document(unit_code="JS", year=2023, filename="纪要.pdf", indicator_hints=[4, 7])
    s.add(doc)
    s.flush()
    ver = DocumentVersion(document_id=doc.id, file_sha256="a" * 64, text="省委书记主持召开专题会议。", state="indexed",
                          doc_number="苏产改〔2023〕2号", meta_confidence={"doc_number": 0.95})
    s.add(ver)
    s.flush()
    p = Passage(version_id=ver.id, seq=0, page_no=1, start=0, end=13, text=ver.text)
    s.add(p)
    s.flush()
    rating = Rating(year=2023, unit_code="JS", indicator_no=4, indicator_version="2023.1", reviewer_id=reviewer.id,
                    level_value=4, rationale="书记主持专题会议", status="submitted")
    s.add(rating)
    s.flush()
    s.add(RatingRevision(rating_id=rating.id, revision=1, snapshot={"level_value": 4}, user_id=reviewer.id))
    s.add(EvidenceLink(owner_kind="rating", owner_id=rating.id, document_id=doc.id, version_id=ver.id,
                       passage_id=p.id, page_no=1, start=0, end=13, quote=ver.text))
    sa = SelfAssessment(year=2023, unit_code="JS", self_category="良好", report="自评报告")
    s.add(sa)
    s.flush()
    s.add(SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=23, values={"count": {"value": 120, "base_value": 100}}))
    s.add(SpotCheck(year=2023, seed=42, selected=["JS"], reasons={"JS": ["随机抽中"]}))
    s.add(CategoryDecision(year=2023, unit_code="JS", category="良好", source="spotcheck", score=82.5))
    s.add(SurveyResult(year=2023, unit_code="JS", indicator_no=83, respondent_kind="技术工人", respondents=500, score=88.0))
    col = Collection(title="2023年产改经验案例汇编", year=2023)
    s.add(col)
    s.flush()
    sec = CollectionSection(collection_id=col.id, title="组织领导", indicator_nos=[4])
    s.add(sec)
    s.flush()
    s.add(CollectionEntry(collection_id=col.id, section_id=sec.id, case_title="书记抓产改", unit_code="JS"))
    s.commit()
    s.expunge_all()

    got = s.exec(select(DocumentVersion)).one()
    assert got.doc_number == "苏产改〔2023〕2号" and got.meta_confidence == {"doc_number": 0.95}
    assert s.exec(select(Document)).one().indicator_hints == [4, 7]
    link = s.exec(select(EvidenceLink)).one()
    assert got.text[link.start:link.end] == link.quote
    assert s.exec(select(SelfAssessmentItem)).one().values["count"]["base_value"] == 100
    assert s.exec(select(SpotCheck)).one().reasons == {"JS": ["随机抽中"]}
    assert s.exec(select(CategoryDecision)).one().score == 82.5
    assert office.id != reviewer.id


def test_reviewer_home_unit_is_a_conflict(db_session, make_user):
    from evidence.accounts import conflicted_units
    reviewer = make_user("rev", "reviewer", home="ZJ")
    assert conflicted_units(db_session, reviewer) == {"ZJ"}


def test_audit_log_is_append_only(db_session):
    from evidence.audit import record
    event = record(db_session, "login", detail={"x": 1})
    db_session.commit()
    event.action = "tampered"
    with pytest.raises(DatabaseError):
        db_session.commit()
    db_session.rollback()
    with pytest.raises(DatabaseError):
        db_session.delete(db_session.get(AuditEvent, event.id))
        db_session.commit()
    db_session.rollback()
    assert db_session.get(AuditEvent, event.id).action == "login"


def test_password_is_hashed_with_argon2(db_session, make_user):
    from evidence.accounts import verify_password
    user = make_user("someone", "office")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert verify_password(user, PASSWORD) and not verify_password(user, "wrong-password")


def test_province_user_must_have_a_unit(db_session):
    from evidence.accounts import AccountError, create_user
    with pytest.raises(AccountError, match="绑定"):
        create_user(db_session, "p", PASSWORD, "province")
    with pytest.raises(AccountError, match="单位不存在"):
        create_user(db_session, "p", PASSWORD, "province", unit_code="XX")


def test_one_consensus_per_item(db_session, make_user):
    from sqlalchemy.exc import IntegrityError
    first, second = make_user("o1", "office"), make_user("o2", "office")
    for office in (first, second):
        db_session.add(Rating(year=2023, unit_code="JS", indicator_no=4, indicator_version="2022.1",
                              reviewer_id=office.id, kind="consensus", level_value=3, status="submitted"))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_migrations_match_the_models(settings):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from evidence.db import get_engine
    with get_engine(settings.database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], diff
