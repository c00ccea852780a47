"""SQLAlchemy 2.0 tables. The schema itself comes only from the Alembic migrations."""

from assessments.models.attempts import Attempt, AttemptState, QuestionAttempt, Step
from assessments.models.audit import GradeChange, GradeChangeKind
from assessments.models.bank import (
    Bank,
    BankGrant,
    Concept,
    Declarations,
    ImportDraft,
    Item,
    ItemConcept,
    ItemLink,
    ItemTag,
    ItemVersion,
    VersionOrigin,
)
from assessments.models.base import Base, utcnow
from assessments.models.jobs import Job, JobState
from assessments.models.lti import (
    LtiContext,
    LtiKey,
    LtiNonce,
    LtiPlatform,
    LtiRegistrationLink,
    LtiResourceLink,
    LtiScoreTarget,
)
from assessments.models.overrides import CourseGroup, CourseGroupMember, QuizOverride
from assessments.models.practice import ItemCalibration, Practice, PracticeQuestion
from assessments.models.prepared import PreparedStart, PreparedVariant
from assessments.models.quizzes import Quiz, QuizItem, QuizStatus
from assessments.models.reports import AnswerSummary, AttemptSummary, QuizStatisticsCache
from assessments.models.users import ApiToken, Course, CourseRole, Enrolment, Role, User

__all__ = [
    "AnswerSummary",
    "ApiToken",
    "Attempt",
    "AttemptState",
    "AttemptSummary",
    "Bank",
    "BankGrant",
    "Base",
    "Concept",
    "Course",
    "CourseGroup",
    "CourseGroupMember",
    "CourseRole",
    "Declarations",
    "Enrolment",
    "GradeChange",
    "GradeChangeKind",
    "ImportDraft",
    "Item",
    "ItemCalibration",
    "ItemConcept",
    "ItemLink",
    "ItemTag",
    "ItemVersion",
    "Job",
    "JobState",
    "LtiContext",
    "LtiKey",
    "LtiNonce",
    "LtiPlatform",
    "LtiRegistrationLink",
    "LtiResourceLink",
    "LtiScoreTarget",
    "Practice",
    "PracticeQuestion",
    "PreparedStart",
    "PreparedVariant",
    "QuestionAttempt",
    "Quiz",
    "QuizItem",
    "QuizOverride",
    "QuizStatisticsCache",
    "QuizStatus",
    "Role",
    "Step",
    "User",
    "VersionOrigin",
    "utcnow",
]
