"""Who may read, use and edit which bank: the bank's ownership model.

Items live in banks, as Moodle's questions live in question bank contexts:

- a **course bank** belongs to one course (``course_id``); its instructors manage it: they read
  and edit its items, use them in their quizzes, and grant other courses access;
- a course may **share** a bank with another course by a grant: to read and use its items, or
  (``can_edit``) to publish new versions of them too;
- an **open** bank (the shipped library) may be read by every instructor and used by every
  course; only administrators edit it.

Rights follow course roles (enrolments), never the global role alone: a person who teaches one
course and is a student in another reads only the banks of the course they teach. Administrators
may do everything. Reading an item is refused, whatever the bank, while the caller has an attempt
in progress that was given it (see :func:`refuse_if_in_open_attempt`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from assessments.deps import Principal
from assessments.errors import Forbidden
from assessments.models import (
    Attempt,
    AttemptState,
    Bank,
    BankGrant,
    CourseRole,
    Enrolment,
    ItemVersion,
    QuestionAttempt,
)


@dataclass(frozen=True)
class BankRights:
    """The caller's standing towards banks: administrator, or the courses they teach."""

    is_admin: bool
    is_staff: bool
    teaching: frozenset[int]

    @classmethod
    def of(cls, session: Session, principal: Principal) -> BankRights:
        teaching = frozenset(session.scalars(select(Enrolment.course_id).where(
            Enrolment.user_id == principal.user.id, Enrolment.role == CourseRole.INSTRUCTOR)))
        return cls(principal.is_admin, principal.is_staff, teaching)

    # --- as SQL conditions on ``banks`` (for listings) ----------------------------------------

    def readable(self) -> ColumnElement[bool]:
        if self.is_admin:
            return true()
        shared = select(BankGrant.bank_id).where(BankGrant.course_id.in_(self.teaching))
        return or_(Bank.course_id.in_(self.teaching), Bank.id.in_(shared),
                   Bank.open_to_all.is_(True) if self.is_staff else false())

    def editable(self) -> ColumnElement[bool]:
        if self.is_admin:
            return true()
        shared = select(BankGrant.bank_id).where(BankGrant.course_id.in_(self.teaching),
                                                 BankGrant.can_edit.is_(True))
        return or_(Bank.course_id.in_(self.teaching), Bank.id.in_(shared))

    # --- one bank ---------------------------------------------------------------------------------

    def manages(self, bank: Bank) -> bool:
        """May grant and revoke other courses' access (and move items out)."""
        return self.is_admin or (bank.course_id is not None and bank.course_id in self.teaching)

    def grants_of(self, session: Session, bank: Bank) -> dict[int, bool]:
        """The caller's teaching courses' grants on ``bank``: course id -> can_edit."""
        if not self.teaching:
            return {}
        rows = session.execute(select(BankGrant.course_id, BankGrant.can_edit).where(
            BankGrant.bank_id == bank.id, BankGrant.course_id.in_(self.teaching)))
        return dict(rows.all())

    def can_read(self, session: Session, bank: Bank) -> bool:
        if self.manages(bank) or (bank.open_to_all and self.is_staff):
            return True
        return bool(self.grants_of(session, bank))

    def can_edit(self, session: Session, bank: Bank) -> bool:
        return self.manages(bank) or any(self.grants_of(session, bank).values())


def usable_in_course(course_id: int) -> ColumnElement[bool]:
    """The banks whose items a quiz of the course may use: its own, those shared with it, and
    the open ones."""
    shared = select(BankGrant.bank_id).where(BankGrant.course_id == course_id)
    return or_(Bank.course_id == course_id, Bank.id.in_(shared), Bank.open_to_all.is_(True))


def items_in_open_attempts(session: Session, user_id: int, item_ids: list[int] | None = None) -> set[int]:
    """The items (of ``item_ids``, or all) the user was given in an attempt still in progress."""
    query = (select(ItemVersion.item_id).distinct()
             .join(QuestionAttempt, QuestionAttempt.item_version_id == ItemVersion.id)
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .where(Attempt.user_id == user_id, Attempt.state == AttemptState.IN_PROGRESS))
    if item_ids is not None:
        query = query.where(ItemVersion.item_id.in_(item_ids))
    return set(session.scalars(query))


def refuse_if_in_open_attempt(session: Session, principal: Principal, item_ids: list[int],
                              keys: dict[int, str]) -> None:
    """403 while the caller has an attempt in progress that was given any of these items: the
    bank would show them its key."""
    if not item_ids:
        return
    found = items_in_open_attempts(session, principal.user.id, item_ids)
    if found:
        names = ", ".join(repr(keys[i]) for i in sorted(found, key=keys.__getitem__))
        raise Forbidden(f"you have an attempt in progress that uses {names}: finish it first, then the bank "
                        "shows you its definition", code="item_in_open_attempt")
