"""Banks and the caller's rights to them: listing, making and sharing banks, where a caller's new
items go, and the checks every bank read and write goes through (rules in
:mod:`assessments.bank.access`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.access import BankRights, refuse_if_in_open_attempt
from assessments.bank.schemas import BankCreate, BankOut, GrantOut
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden, Invalid, NotFound
from assessments.models import Bank, BankGrant, Course, CourseRole, Enrolment, Item, ItemVersion


def _bank_out(session: Session, rights: BankRights, bank: Bank, items: int) -> BankOut:
    course = session.get(Course, bank.course_id) if bank.course_id is not None else None
    manages = rights.manages(bank)
    return BankOut(
        slug=bank.slug, title=bank.title, course=course.slug if course else None, open_to_all=bank.open_to_all,
        items=items, can_edit=rights.can_edit(session, bank), can_manage=manages,
        grants=[GrantOut(course=c.slug, can_edit=g.can_edit) for g, c in repository.grants(session, bank)]
        if manages else None)


def list_banks(session: Session, principal: Principal) -> list[BankOut]:
    """The banks the caller may read, with what they may do in each (the own bank of every
    course they teach among them, made on first sight)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    for course in session.scalars(select(Course).where(Course.id.in_(rights.teaching))):
        repository.course_bank(session, course)
    found = repository.banks(session, rights.readable())
    counts = repository.item_counts(session, [b.id for b in found])
    return [_bank_out(session, rights, bank, counts.get(bank.id, 0)) for bank in found]


def readable_bank(session: Session, principal: Principal, slug: str) -> tuple[Bank, BankRights]:
    """The bank if the caller may read it (404 otherwise: its existence does not leak)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    bank = repository.bank_by_slug(session, slug)
    if bank is None and slug.startswith(repository.COURSE_BANK_PREFIX):
        # A course's own bank is made on first use, by its instructors only.
        course = session.scalars(select(Course).where(
            Course.slug == slug.removeprefix(repository.COURSE_BANK_PREFIX))).first()
        if course is not None and (rights.is_admin or course.id in rights.teaching):
            bank = repository.course_bank(session, course)
    if bank is None or not rights.can_read(session, bank):
        raise NotFound(f"no bank {slug!r}")
    return bank, rights


def get_bank(session: Session, principal: Principal, slug: str) -> BankOut:
    bank, rights = readable_bank(session, principal, slug)
    return _bank_out(session, rights, bank, repository.item_counts(session, [bank.id]).get(bank.id, 0))


def editable_bank(session: Session, principal: Principal, slug: str) -> Bank:
    bank, rights = readable_bank(session, principal, slug)
    if not rights.can_edit(session, bank):
        raise Forbidden(f"you may use the bank {slug!r} but not edit it", code="bank_read_only")
    return bank


def _managed_bank(session: Session, principal: Principal, slug: str) -> Bank:
    bank, rights = readable_bank(session, principal, slug)
    if not rights.manages(bank):
        raise Forbidden(f"only the instructors of the course that owns {slug!r} (or an administrator) may "
                        "share it", code="bank_not_managed")
    return bank


def create_bank(session: Session, principal: Principal, data: BankCreate, now: datetime) -> BankOut:
    """A new bank owned by one of the caller's courses (administrators may make unowned and open
    banks)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    course: Course | None = None
    if data.course is not None:
        course = session.scalars(select(Course).where(Course.slug == data.course)).first()
        if course is None or not (rights.is_admin or course.id in rights.teaching):
            raise NotFound(f"no course {data.course!r} that you teach")
    elif not rights.is_admin:
        raise Invalid("name the course that owns the bank (one you teach)", code="bank_course_required",
                      details=[{"path": ["course"], "message": "required"}])
    if data.open_to_all and not rights.is_admin:
        raise Forbidden("only administrators may open a bank to every course", code="bank_open_admin_only")
    if repository.bank_by_slug(session, data.slug) is not None:
        raise Conflict(f"a bank {data.slug!r} exists", code="bank_exists")
    bank = Bank(slug=data.slug, title=data.title, course_id=course.id if course else None,
                open_to_all=data.open_to_all, created_at=now)
    session.add(bank)
    session.flush()
    return _bank_out(session, rights, bank, 0)


def set_grant(session: Session, principal: Principal, slug: str, course_slug: str, *, can_edit: bool,
              now: datetime) -> BankOut:
    """Share the bank with another course (to read and use, or also to edit)."""
    bank = _managed_bank(session, principal, slug)
    course = session.scalars(select(Course).where(Course.slug == course_slug)).first()
    if course is None:
        raise NotFound(f"no course {course_slug!r}")
    if course.id == bank.course_id:
        raise Invalid("the bank's own course has every right to it already", code="grant_to_owner")
    found = repository.grant(session, bank, course)
    if found is None:
        session.add(BankGrant(bank_id=bank.id, course_id=course.id, can_edit=can_edit, created_at=now))
    else:
        found.can_edit = can_edit
    session.flush()
    return get_bank(session, principal, slug)


def revoke_grant(session: Session, principal: Principal, slug: str, course_slug: str) -> BankOut:
    """Stop sharing the bank with a course. Its quizzes keep the versions they pinned."""
    bank = _managed_bank(session, principal, slug)
    course = session.scalars(select(Course).where(Course.slug == course_slug)).first()
    found = repository.grant(session, bank, course) if course is not None else None
    if found is None:
        raise NotFound(f"the bank {slug!r} is not shared with {course_slug!r}")
    session.delete(found)
    session.flush()
    return get_bank(session, principal, slug)


def target_bank(session: Session, principal: Principal, slug: str | None) -> Bank:
    """Where the caller's new items go: the bank named, else the caller's one course's bank (an
    administrator's: the shared library). Refused unless the caller may edit it."""
    if slug is not None:
        return editable_bank(session, principal, slug)
    principal.require_staff()
    if principal.is_admin:
        return repository.library(session)
    teaching = list(session.scalars(select(Course).join(Enrolment, Enrolment.course_id == Course.id).where(
        Enrolment.user_id == principal.user.id, Enrolment.role == CourseRole.INSTRUCTOR).order_by(Course.slug)))
    if len(teaching) == 1:
        return repository.course_bank(session, teaching[0])
    rights = BankRights.of(session, principal)
    choices = [b.slug for b in repository.banks(session, rights.editable())]
    choices += [repository.COURSE_BANK_PREFIX + c.slug for c in teaching
                if repository.COURSE_BANK_PREFIX + c.slug not in choices]
    raise Invalid("name the bank for the item (bank=...): "
                  + (f"you may add items to {', '.join(sorted(choices))}" if choices
                     else "you teach no course, so there is no bank you may add items to"),
                  code="bank_required")


def editable_item(session: Session, principal: Principal, key: str) -> Item:
    principal.require_staff()
    item = repository.item_by_key(session, key)
    bank = session.get(Bank, item.bank_id) if item is not None else None
    rights = BankRights.of(session, principal)
    if item is None or bank is None or not rights.can_read(session, bank):
        raise NotFound(f"no item {key!r}")
    if not rights.can_edit(session, bank):
        raise Forbidden(f"the item {key!r} is in the bank {bank.slug!r}, which you may use but not edit: "
                        "save a copy under another id in a bank of yours", code="bank_read_only")
    return item


def readable_current(session: Session, principal: Principal, key: str) -> tuple[Item, ItemVersion, Bank]:
    """The item and its current version if the caller may read it now: 404 outside their banks,
    403 while an attempt of theirs in progress was given it."""
    principal.require_staff()
    item, version = current(session, key)
    bank = session.get(Bank, item.bank_id)
    assert bank is not None
    if not BankRights.of(session, principal).can_read(session, bank):
        raise NotFound(f"no item {key!r}")
    refuse_if_in_open_attempt(session, principal, [item.id], {item.id: item.key})
    return item, version, bank


def current(session: Session, key: str) -> tuple[Item, ItemVersion]:
    item = repository.item_by_key(session, key)
    version = repository.current_version(session, item) if item else None
    if item is None or version is None:
        raise NotFound(f"no item {key!r}")
    return item, version




def can_edit_item(session: Session, principal: Principal, key: str) -> bool:
    """Whether the caller may publish a new version of the item (an item they may read)."""
    item = repository.item_by_key(session, key)
    bank = session.get(Bank, item.bank_id) if item is not None else None
    return bank is not None and BankRights.of(session, principal).can_edit(session, bank)
