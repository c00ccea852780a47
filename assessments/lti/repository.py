"""Every LTI query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from assessments.models import (
    Course,
    CourseRole,
    Enrolment,
    LtiContext,
    LtiNonce,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreTarget,
    Practice,
    Quiz,
    User,
)


def platforms(session: Session, *, limit: int | None = None, offset: int = 0) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).order_by(LtiPlatform.id).limit(limit).offset(offset)))


def platforms_of_issuer(session: Session, issuer: str) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer).order_by(LtiPlatform.id)))


def platform(session: Session, issuer: str, client_id: str) -> LtiPlatform | None:
    return session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                     LtiPlatform.client_id == client_id)).first()


def usable_nonce(session: Session, nonce: str, platform_id: int, now: datetime) -> LtiNonce | None:
    """The login's nonce if it is this platform's, unused and unexpired (locked: used once)."""
    return session.scalars(select(LtiNonce).where(
        LtiNonce.nonce == nonce, LtiNonce.platform_id == platform_id, LtiNonce.used_at.is_(None),
        LtiNonce.expires_at > now).with_for_update()).first()


def purge_nonces(session: Session, before: datetime) -> None:
    """Forget nonces that expired before ``before``: they can no longer be used anyway."""
    session.execute(delete(LtiNonce).where(LtiNonce.expires_at < before))


def user_by_subject(session: Session, subject: str) -> User | None:
    return session.scalars(select(User).where(User.lti_subject == subject)).first()


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def context(session: Session, platform_id: int, context_id: str) -> LtiContext | None:
    return session.scalars(select(LtiContext).where(LtiContext.platform_id == platform_id,
                                                    LtiContext.context_id == context_id)).first()


def course_by_slug(session: Session, slug: str) -> Course | None:
    return session.scalars(select(Course).where(Course.slug == slug)).first()


def enrolment(session: Session, course_id: int, user_id: int) -> Enrolment | None:
    return session.scalars(select(Enrolment).where(Enrolment.course_id == course_id,
                                                   Enrolment.user_id == user_id)).first()


def resource_link(session: Session, platform_id: int, resource_link_id: str) -> LtiResourceLink | None:
    return session.scalars(select(LtiResourceLink).where(LtiResourceLink.platform_id == platform_id,
                                                         LtiResourceLink.resource_link_id == resource_link_id)).first()


def quizzes_of(session: Session, course_id: int) -> list[Quiz]:
    return list(session.scalars(select(Quiz).where(Quiz.course_id == course_id).order_by(Quiz.id)))


def practices_of(session: Session, course_id: int) -> list[Practice]:
    return list(session.scalars(select(Practice).where(Practice.course_id == course_id).order_by(Practice.id)))


def score_target(session: Session, link_id: int, user_id: int) -> LtiScoreTarget | None:
    return session.scalars(select(LtiScoreTarget).where(LtiScoreTarget.link_id == link_id,
                                                        LtiScoreTarget.user_id == user_id)).first()


_UNLINKED = "assay_lti_unlinked_quizzes"
"""session.info: (the transaction, the quizzes it found no resource link to)."""


def forget_unlinked(session: Session) -> None:
    """A link was made: quizzes found unlinked earlier in the transaction may be linked now."""
    session.info.pop(_UNLINKED, None)


def score_targets_for(session: Session, quiz_id: int, user_id: int) -> list[LtiScoreTarget]:
    """Where a student's grade at a quiz goes back to: every link to the quiz they launched.

    A quiz no LMS links to (most of them) is found so once per transaction, not once per student:
    a regrade publishes a grade change for each of thousands of attempts in a few transactions."""
    transaction = session.get_transaction()
    unlinked: set[int] = set()  # outside a transaction, nothing is kept
    if transaction is not None:
        known: tuple[object, set[int]] | None = session.info.get(_UNLINKED)
        if known is None or known[0] is not transaction:
            known = session.info[_UNLINKED] = (transaction, set())
        unlinked = known[1]
    if quiz_id in unlinked:
        return []
    if not session.scalar(select(exists().where(LtiResourceLink.quiz_id == quiz_id))):
        unlinked.add(quiz_id)
        return []
    return list(session.scalars(
        select(LtiScoreTarget).join(LtiResourceLink, LtiResourceLink.id == LtiScoreTarget.link_id)
        .where(LtiResourceLink.quiz_id == quiz_id, LtiScoreTarget.user_id == user_id)
        .order_by(LtiScoreTarget.id)))


def practice_score_targets(session: Session, practice_id: int, user_id: int) -> list[LtiScoreTarget]:
    """Where a student's completion of a practice goes back to: every link to it they launched
    whose launch gave a line item service."""
    return list(session.scalars(
        select(LtiScoreTarget).join(LtiResourceLink, LtiResourceLink.id == LtiScoreTarget.link_id)
        .where(LtiResourceLink.practice_id == practice_id, LtiScoreTarget.user_id == user_id,
               (LtiResourceLink.lineitem_url.is_not(None)) | (LtiResourceLink.lineitems_url.is_not(None)))
        .order_by(LtiScoreTarget.id)))


def all_score_targets(session: Session) -> list[LtiScoreTarget]:
    return list(session.scalars(select(LtiScoreTarget).order_by(LtiScoreTarget.id)))


def student_enrolments(session: Session, course_id: int) -> dict[int, Enrolment]:
    rows = session.scalars(select(Enrolment).where(Enrolment.course_id == course_id,
                                                   Enrolment.role == CourseRole.STUDENT))
    return {row.user_id: row for row in rows}
