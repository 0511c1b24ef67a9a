"""One data model for the whole evaluation cycle.

The tables follow the cycle: who takes part (users, units, assignments,
conflicts), what was submitted (documents → immutable versions → pages and
passages), what the machine suggested and what people decided (tags), what
reviewers concluded (ratings linked to evidence), and what the office decided
(rounds, self-assessments, spot-checks, categories, case collections). The
audit log is append-only.

Conventions: timestamps are timezone-aware UTC; indicator numbers are the seed's
third-level numbers (1–88) interpreted under the indicator-system version a
row records; unit codes are those of rubrics/units.yaml.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def json_field(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def text_field(default: str = "") -> Any:
    return Field(default=default, sa_column=Column(Text, nullable=False))


ROLES = {"province": "省级填报人员", "reviewer": "评审专家", "office": "协调小组办公室"}
CATEGORIES = ("优秀", "良好", "一般", "差")


# ── People ──────────────────────────────────────────────────────────────────

class Unit(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=8)
    name: str
    short_name: str
    gb_code: str = ""


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = ""
    password_hash: str
    role: str = Field(max_length=16)  # province | reviewer | office
    unit_code: Optional[str] = Field(default=None, foreign_key="unit.code")
    home_unit_code: Optional[str] = Field(default=None, foreign_key="unit.code")  # a reviewer's own province
    email: str = Field(default="", max_length=254)  # deadline reminders by e-mail; empty: reminders in the app only
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Conflict(SQLModel, table=True):
    """A reviewer must neither be assigned to nor see a conflicted unit."""
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    unit_code: str = Field(foreign_key="unit.code")
    kind: str = "declared"  # declared | home | pinned (set by the office; reviewer cannot lift it)
    reason: str = ""
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "unit_code"),)


class Assignment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    unit_code: str = Field(foreign_key="unit.code")
    indicator_no: int  # a rated (qualitative/mixed) indicator
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("year", "reviewer_id", "unit_code", "indicator_no"),)


class WebSession(SQLModel, table=True):
    """A logged-in browser. The cookie carries only a random token; the table keeps its SHA-256,
    so a copy of the database opens no session. Ended by logout, by the office, or for the whole
    user when the account is disabled, its role or password changes (evidence/sessions.py)."""
    __tablename__ = "web_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)  # the synchronizer token of this session's forms
    data: dict = json_field()  # what a request leaves for the next (the flash message)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ended_at: Optional[datetime] = None
    end_reason: str = Field(default="", max_length=32)  # logout | disabled | role | password | everywhere | office


class LoginAttempt(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(index=True)
    ip: str = Field(default="", index=True)
    ok: bool = False
    at: datetime = Field(default_factory=utcnow, index=True)


# ── Rounds ──────────────────────────────────────────────────────────────────

class Round(SQLModel, table=True):
    """One evaluation round per year: it reviews the work of `year`."""
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(unique=True, index=True)
    indicator_version: str
    self_assessment_due: date
    spotcheck_due: date
    review_due: date
    upload_due: Optional[date] = None
    status: str = "open"  # open | spotcheck | review | closed
    category_thresholds: dict = json_field()
    is_demo: bool = False  # loaded by `kaoping demo`: every page and document of it says so
    created_at: datetime = Field(default_factory=utcnow)


# ── Evidence ────────────────────────────────────────────────────────────────

class StoredFile(SQLModel, table=True):
    """A file's bytes, stored once under files/<sha[:2]>/<sha>."""
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    mime: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """A piece of evidence a unit submitted for a year; its content lives in versions."""
    id: Optional[int] = Field(default=None, primary_key=True)
    unit_code: str = Field(foreign_key="unit.code", index=True)
    year: int = Field(index=True)
    filename: str
    kind_hint: Optional[str] = None
    indicator_hints: list = json_field(list)
    current_version_id: Optional[int] = None
    status: str = "active"  # active | withdrawn
    withdrawn_at: Optional[datetime] = None
    withdrawn_by: Optional[int] = Field(default=None, foreign_key="user.id")
    withdraw_reason: str = ""
    archive_name: Optional[str] = None  # the zip it came from, if any
    near_duplicate_of: Optional[int] = None
    uploaded_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class DocumentVersion(SQLModel, table=True):
    """Immutable once indexed: re-ingesting makes a new version."""
    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    version_no: int = 1
    file_sha256: str = Field(foreign_key="storedfile.sha256")
    state: str = Field(default="queued", index=True)  # queued|extracting|ocr|tagging|indexed|failed
    error_code: str = ""
    error: str = ""  # Chinese, user-facing
    format: str = ""
    text: str = text_field()
    page_count: int = 0
    ocr_pages: list = json_field(list)
    title: str = ""
    doc_number: str = ""
    issuer: str = ""
    doc_date: Optional[str] = None
    doc_kind: str = "other"
    about_unit: Optional[str] = None
    meta_confidence: dict = json_field()
    warnings: list = json_field(list)
    extractor_version: str = ""
    tagger_version: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    indexed_at: Optional[datetime] = None


class MetadataCorrection(SQLModel, table=True):
    """A person's correction of a document's metadata (an OCR-misread 文号, a wrong date).

    The extracted value stays on the version untouched; the latest correction per field is the value
    every screen, the index and the outputs use. value None means "back to the extracted value".
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    version_id: int = Field(foreign_key="documentversion.id")  # the version read when it was corrected
    field: str = Field(max_length=16)  # title | issuer | doc_date | doc_number | doc_kind
    value: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    previous: str = text_field()  # the value shown before this correction
    user_id: int = Field(foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)


class Page(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="documentversion.id", index=True)
    no: int
    start: int
    end: int
    ocr: bool = False


class Passage(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="documentversion.id", index=True)
    seq: int
    page_no: int
    start: int  # Unicode character offsets into DocumentVersion.text
    end: int
    text: str = text_field()


class Job(SQLModel, table=True):
    """The persistent ingest queue: a restart picks up what was not finished.

    A running job is leased: `owner` (host, process, start) holds it until `lease_until`, which the
    owner's heartbeat keeps moving; only an expired lease (or one whose process is provably gone) is
    taken back. A queued job waits until `available_at` (a back-off after a passing failure).
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = "ingest"  # ingest | retag
    version_id: int = Field(foreign_key="documentversion.id", index=True)
    state: str = Field(default="queued", index=True)  # evidence.states.JobState
    attempts: int = 0  # claims since it was queued by an upload or a retry
    error: str = ""
    owner: str = Field(default="", max_length=160)
    lease_until: Optional[datetime] = None
    heartbeat_at: Optional[datetime] = None
    available_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None


class TagSuggestion(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="documentversion.id", index=True)
    passage_id: Optional[int] = Field(default=None, foreign_key="passage.id", index=True)
    indicator_no: int = Field(index=True)
    score: float
    suggested: bool = True  # above threshold; otherwise a candidate
    reason: str = ""
    matched_terms: list = json_field(list)
    tagger_version: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class TagDecision(SQLModel, table=True):
    """A reviewer's confirmation or rejection; the latest per target counts."""
    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    passage_id: Optional[int] = Field(default=None, foreign_key="passage.id")
    indicator_no: int = Field(index=True)
    decision: str  # confirm | reject
    quote: str = text_field()
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


# ── Judgements ──────────────────────────────────────────────────────────────

class Rating(SQLModel, table=True):
    """A reviewer's rating (or the office's consensus) of one indicator for a unit and year."""
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_code: str = Field(foreign_key="unit.code", index=True)
    indicator_no: int
    indicator_version: str
    reviewer_id: int = Field(foreign_key="user.id")
    kind: str = "independent"  # independent | consensus
    level_value: Optional[int] = None
    rationale: str = text_field()
    status: str = "draft"  # draft | submitted
    revision: int = 1  # optimistic lock: an edit names the revision it started from
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: Optional[datetime] = None
    __table_args__ = (UniqueConstraint("year", "unit_code", "indicator_no", "reviewer_id", "kind"),)


class RatingRevision(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    rating_id: int = Field(foreign_key="rating.id", index=True)
    revision: int
    snapshot: dict = json_field()
    user_id: int = Field(foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)


class EvidenceLink(SQLModel, table=True):
    """A pointer from a judgement to a place in a document version.

    The quote, its page and some context are kept so the link stays readable
    even if the document is withdrawn or re-ingested; `status` turns to
    needs_attention instead of the link disappearing.
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    owner_kind: str = Field(index=True)  # rating | self_item | collection_entry
    owner_id: int = Field(index=True)
    document_id: int = Field(foreign_key="document.id")
    version_id: int = Field(foreign_key="documentversion.id")
    passage_id: Optional[int] = Field(default=None, foreign_key="passage.id")
    page_no: int
    start: int
    end: int
    quote: str = text_field()
    prefix: str = ""
    suffix: str = ""
    status: str = "ok"  # ok | needs_attention
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class SelfAssessment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int
    unit_code: str = Field(foreign_key="unit.code")
    self_category: Optional[str] = None
    report: str = text_field()
    status: str = "draft"  # draft | submitted
    submitted_at: Optional[datetime] = None
    submitted_by: Optional[int] = Field(default=None, foreign_key="user.id")
    reopen_reason: str = ""
    __table_args__ = (UniqueConstraint("year", "unit_code"),)


class SelfAssessmentItem(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    self_assessment_id: int = Field(foreign_key="selfassessment.id", index=True)
    indicator_no: int
    level_value: Optional[int] = None
    narrative: str = text_field()
    values: dict = json_field()  # measure key → {value, base_value}
    __table_args__ = (UniqueConstraint("self_assessment_id", "indicator_no"),)


class SurveyResult(SQLModel, table=True):
    """Satisfaction surveys feeding indicators 83–85."""
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int
    unit_code: str = Field(foreign_key="unit.code")
    indicator_no: int
    respondent_kind: str  # 普通职工 | 技术工人 | 劳模工匠 | 企业管理者 | 工会干部 | 工作人员 …
    respondents: int = 0
    score: float = 0.0  # 0–100 satisfaction
    score_sd: Optional[float] = None  # standard deviation of the response scores, for the interval
    source: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Survey(SQLModel, table=True):
    """A satisfaction survey published for one unit, year and audience (rounds/surveys.py).

    Reached without an account through its unguessable link (token); open until the office closes it
    or the round closes.  The questionnaire (rubrics/questionnaires/<audience>.yaml) is recorded by version.
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_code: str = Field(foreign_key="unit.code")
    audience: str = Field(max_length=16)  # workers | enterprise | staff
    indicator_no: int
    questionnaire_version: str = Field(max_length=32)
    token: str = Field(max_length=64, unique=True, index=True)
    status: str = Field(default="open", max_length=16)  # open | closed
    max_responses: int = 3000
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: Optional[datetime] = None
    __table_args__ = (UniqueConstraint("year", "unit_code", "audience"),)


class SurveyResponse(SQLModel, table=True):
    """One anonymous answer sheet: given online through a survey's link, or imported from a file.

    No name, no account, no IP address: `browser` is a hash of the browser's signed id (one response
    per browser), `ip_hash` a keyed hash of the address used only for the rate limit and to hold what
    one network sends beyond its share, `page_nonce` the one-time token of the page that was answered.
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_code: str = Field(foreign_key="unit.code")
    indicator_no: int
    audience: str = Field(max_length=16)
    survey_id: Optional[int] = Field(default=None, foreign_key="survey.id", index=True)
    answers: dict = json_field()  # item key → 1..5, 0 = 不了解
    score: float  # 0–100
    source: str = ""  # 在线填写 | 导入（文件名）
    browser: Optional[str] = Field(default=None, max_length=64)
    page_nonce: Optional[str] = Field(default=None, max_length=64, unique=True)
    ip_hash: Optional[str] = Field(default=None, max_length=64)
    batch: Optional[str] = Field(default=None, max_length=64, index=True)  # SHA-256 of the imported file
    created_at: datetime = Field(default_factory=utcnow)
    # Only counted answers make the index. An online answer beyond what one address may give a survey in a
    # day, in a burst, or repeating the same answers is held for the office (rounds/surveys.py), which
    # counts or discards it; hold_reason says why, in Chinese.
    status: str = Field(default="counted", max_length=16)  # counted | held | discarded
    hold_reason: str = ""
    pattern: Optional[str] = Field(default=None, max_length=64)  # a hash of the answers, to find identical sheets
    reviewed_by: Optional[int] = Field(default=None, foreign_key="user.id")
    reviewed_at: Optional[datetime] = None
    __table_args__ = (UniqueConstraint("survey_id", "browser"),)


class StatisticValue(SQLModel, table=True):
    """A unit's statistic for one measure, entered or corrected by the office (overrides the self-assessment).

    source says where it came from (统计导入 / 办公室更正 / 演示数据); a correction keeps its reason,
    and the value it replaced stays in the audit log.
    """
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_code: str = Field(foreign_key="unit.code")
    indicator_no: int
    measure_key: str = Field(max_length=64)
    value: Optional[float] = None
    base_value: Optional[float] = None
    source: str = ""
    reason: str = ""
    confirmed: bool = False  # a plausibility flag the office has looked at and accepted
    updated_by: Optional[int] = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("year", "unit_code", "indicator_no", "measure_key"),)


class SpotCheck(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    seed: int
    change_basis: str = "previous_category"
    selected: list = json_field(list)
    reasons: dict = json_field()
    conflicts: list = json_field(list)
    overrides: list = json_field(list)  # [{add, remove, reason, by, at}]
    draw: dict = json_field()  # the sampler's full result, so overrides can re-check the rules
    status: str = "proposed"  # proposed | approved
    approved_at: Optional[date] = None
    approval_meeting: str = ""
    thematic: dict = json_field()  # 专项评价: member unit → indicator numbers
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class CategoryDecision(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_code: str = Field(foreign_key="unit.code")
    category: str
    source: str  # initial | spotcheck | self | adjusted
    score: Optional[float] = None
    note: str = ""
    decided_by: Optional[int] = Field(default=None, foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("year", "unit_code"),)


# ── Knowledge ───────────────────────────────────────────────────────────────

class Collection(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = "collection"  # collection (案例汇编) | briefing (简报)
    title: str
    year: int
    issue_no: Optional[int] = None
    preface: str = text_field()
    revision: int = 1
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CollectionSection(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="collection.id", index=True)
    position: int = 0
    title: str
    indicator_nos: list = json_field(list)


class CollectionEntry(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="collection.id", index=True)
    section_id: Optional[int] = Field(default=None, foreign_key="collectionsection.id")
    position: int = 0
    case_title: str = ""
    unit_code: Optional[str] = Field(default=None, foreign_key="unit.code")
    summary: str = text_field()
    note: str = text_field()
    indicator_nos: list = json_field(list)
    status: str = "candidate"  # candidate | included
    passage_id: Optional[int] = Field(default=None, foreign_key="passage.id")  # the passage it quotes
    created_by: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    deleted_at: Optional[datetime] = None  # deleted entries are kept, so a deletion can be undone
    deleted_by: Optional[int] = Field(default=None, foreign_key="user.id")


class SavedSearch(SQLModel, table=True):
    """A user's own named search (words and filters), listed on their search page and 工作台."""
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=60)
    params: dict = json_field()  # q, unit, year, kind, indicator, sort: what /search takes
    created_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "name"),)


class ReminderSent(SQLModel, table=True):
    """A deadline reminder e-mailed: one per user, deadline and threshold, so `kaoping remind` may run
    as often as a timer likes and nobody gets the same reminder twice."""
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    deadline: str = Field(max_length=64)  # which deadline: the year and the task (2024:self_assessment)
    due: date
    threshold: int  # days before the due date it was sent for (7, 3, 1, 0), or -1 once overdue
    email: str = Field(default="", max_length=254)
    sent_at: datetime = Field(default_factory=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "deadline", "due", "threshold"),)


# ── Accountability ──────────────────────────────────────────────────────────

class AuditEvent(SQLModel, table=True):
    """Append-only: the database refuses UPDATE and DELETE on this table."""
    __tablename__ = "audit_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: Optional[int] = None
    username: str = ""
    action: str = Field(index=True)
    object_type: str = ""
    object_id: str = ""
    detail: dict = json_field()
    ip: str = ""


Index("ix_rating_item", Rating.year, Rating.unit_code, Rating.indicator_no)
Index("uq_rating_consensus", Rating.year, Rating.unit_code, Rating.indicator_no, unique=True,
      sqlite_where=text("kind = 'consensus'"), postgresql_where=text("kind = 'consensus'"))
Index("ix_link_owner", EvidenceLink.owner_kind, EvidenceLink.owner_id)
# The same passage once per collection (deleted entries aside): the database refuses a second, so two
# editors adding it at the same moment cannot both succeed.
Index("uq_collection_passage", CollectionEntry.collection_id, CollectionEntry.passage_id, unique=True,
      sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL"))
Index("ix_surveyresponse_ip", SurveyResponse.survey_id, SurveyResponse.ip_hash, SurveyResponse.created_at)
Index("ix_surveyresponse_status", SurveyResponse.survey_id, SurveyResponse.status)
