"""Writing items: check a YAML text as its author types it, preview it before it is saved, save it
as a new version, start from a template or a copy, and compare versions.

The editor (web page or REST client) sends the item as the YAML of ``content/README.md``. The
text is read with its line numbers, validated and checked by the same checker as ``assay content
check`` (:func:`engine.content.checker.check_item`), and every problem comes back at its line.
Saving is refused while any problem remains; a save makes a new version (versions are never
edited in place) and keeps the author's text, so that an export writes back what they wrote.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.bank import banks, declarations, repository
from assessments.bank.access import BankRights
from assessments.bank.banks import readable_current
from assessments.bank.declarations import Undeclared
from assessments.bank.schemas import CheckOut, CheckProblem, ItemSaved, Preview
from assessments.bank.service import preview_of, save_for
from assessments.deps import Principal
from assessments.errors import DomainError, Invalid, NotFound
from assessments.models import (
    Attempt,
    Bank,
    Course,
    CourseRole,
    Enrolment,
    Item,
    ItemVersion,
    Quiz,
    QuizItem,
    User,
    VersionOrigin,
)
from engine.content.checker import check_item
from engine.content.loader import LoadedItem, item_from_document
from engine.content.source import Problem, SourceDocument, parse_yaml
from engine.expressions import ExpressionError
from engine.items import ItemBase
from engine.variants import Variant, VariantError, generate

MAX_TEXT_CHARS = 100_000
"""The longest item text the editor takes (the longest shipped item is under 10,000 characters)."""
TEXT_NAME = "item.yaml"


@dataclass(frozen=True)
class Checked:
    """An item text as the checker read it: the engine's item (None when it does not load), its
    data, and every problem at its line."""

    text: str
    document: SourceDocument | None
    item: ItemBase | None
    problems: list[Problem]
    undeclared: tuple[Undeclared, ...] = ()
    """The facet values and concepts the bank does not declare (each among the problems)."""
    bank: Bank | None = None
    """The bank the text is checked for (its declarations), when known."""

    def declarable(self, problem: Problem) -> Undeclared | None:
        """What declaring would settle ``problem``, when it is an undeclared value."""
        return next((u for u in self.undeclared if u.problem is problem), None)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.is_warning]

    @property
    def ok(self) -> bool:
        """Nothing stands in the way of saving (warnings are shown, and do not)."""
        return self.item is not None and not self.errors

    def _field(self, name: str) -> str | None:
        """A top-level field as written (when the item does not load, what it says of itself)."""
        data = self.document.data if self.document is not None else None
        value = data.get(name) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    def out(self) -> CheckOut:
        return CheckOut(ok=self.ok, key=self.item.id if self.item else self._field("id"),
                        type=self.item.type_name if self.item else self._field("type"),
                        title=self.item.title if self.item else self._field("title"),
                        problems=[CheckProblem(line=p.line, message=p.message, severity=p.severity)
                                  for p in sorted(self.problems, key=lambda p: (p.is_warning, p.line))])


def _text(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(f"the item is {len(text):,} characters long; the editor takes at most {MAX_TEXT_CHARS:,}",
                      code="item_too_long")
    return text.replace("\r\n", "\n")


def check_text(session: Session, principal: Principal, text: str, *, editing: str | None = None,
               new: bool = False, bank_slug: str | None = None) -> Checked:
    """Read, validate and check an item text, as the caller would save it.

    ``editing`` is the item the text is a new version of (its id must stay); ``new`` says the
    text is meant as a new item (an id that exists already is a problem at the ``id`` line). An
    id that belongs to a bank the caller cannot see is a problem in either case. Tag values and
    concepts are held to the declarations of the bank the text goes to (the item's, else
    ``bank_slug``, else the caller's own bank): an undeclared one is a problem at its line.
    """
    principal.require_staff()
    text = _text(text)
    document, problems = parse_yaml(text, TEXT_NAME)
    if document is None:
        return Checked(text, None, None, problems)
    item, problems = item_from_document(document)
    if item is None:
        return Checked(text, document, None, problems)
    problems = [*problems, *_id_problems(session, principal, document, item.id, editing=editing, new=new)]
    bank = _bank_of(session, principal, editing or (None if new else item.id), bank_slug)
    held = declarations.declared_bank(declarations.effective(session, bank))
    missing = declarations.undeclared(item, document, held) if held is not None else []
    found, _ = check_item(LoadedItem(item, document))
    return Checked(text, document, item, [*problems, *(u.problem for u in missing), *found], tuple(missing), bank)


def _bank_of(session: Session, principal: Principal, key: str | None, bank_slug: str | None) -> Bank | None:
    """The bank a text goes to: the existing item's, else the one named, else the caller's own."""
    item = repository.item_by_key(session, key) if key else None
    if item is not None:
        return session.get(Bank, item.bank_id)
    try:
        if bank_slug:
            return banks.readable_bank(session, principal, bank_slug)[0]
        return banks.target_bank(session, principal, None)
    except DomainError:
        return None  # the save says which bank to name; meanwhile the shared declarations hold


def _id_problems(session: Session, principal: Principal, document: SourceDocument, key: str, *,
                 editing: str | None, new: bool) -> list[Problem]:
    if editing is not None and key != editing:
        return [document.problem(("id",), f"the id must stay {editing!r}: this is a new version of that item "
                                          "(to make another item, duplicate this one)")]
    existing = repository.item_by_key(session, key)
    if existing is None:
        return []
    bank = session.get(Bank, existing.bank_id)
    if bank is None or not BankRights.of(session, principal).can_read(session, bank):
        return [document.problem(("id",), f"an item {key!r} exists in a bank you cannot see: choose another id")]
    if new:
        return [document.problem(("id",), f"an item {key!r} exists already (in the bank {bank.slug!r}): choose "
                                          "another id, or edit that item")]
    return []


@dataclass(frozen=True)
class Previewed:
    """A text checked, and (when it loads and makes the variant) that variant's preview."""

    checked: Checked
    preview: Preview | None = None
    variant: Variant | None = None


def preview_text(session: Session, principal: Principal, text: str, seed: int, *,
                 editing: str | None = None, new: bool = False, bank_slug: str | None = None) -> Previewed:
    """The text checked, and the variant of ``seed`` as an instructor's preview shows it (none
    when the item does not load or cannot make that variant: a problem says why)."""
    checked = check_text(session, principal, text, editing=editing, new=new, bank_slug=bank_slug)
    if checked.item is None:
        return Previewed(checked)
    try:
        variant = generate(checked.item, seed)
        return Previewed(checked, preview_of(checked.item, variant, key=checked.item.id, version=None, seed=seed),
                         variant)
    except (ExpressionError, VariantError) as exc:
        line = checked.document.line_of(tuple(getattr(exc, "path", ()))) if checked.document else 1
        problem = Problem(TEXT_NAME, line, f"the variant of seed {seed} cannot be made: {exc}")
        return Previewed(Checked(checked.text, checked.document, checked.item, [*checked.problems, problem],
                                 checked.undeclared, checked.bank))


def save_text(session: Session, principal: Principal, text: str, *, bank_slug: str | None, now: datetime,
              editing: str | None = None, new: bool = False,
              origin: VersionOrigin = VersionOrigin.BROWSER) -> tuple[Checked, ItemSaved | None]:
    """Save the text as a new version when the checker finds nothing; otherwise nothing is saved
    and the problems say why."""
    checked = check_text(session, principal, text, editing=editing, new=new, bank_slug=bank_slug)
    if not checked.ok:
        return checked, None
    assert checked.item is not None
    assert checked.document is not None
    saved = save_for(session, principal, checked.document.data, bank_slug=bank_slug, now=now, key=editing,
                     item=checked.item, origin=origin, source_text=checked.text)
    return checked, saved


# --- where an item text starts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A worked example of ``content/README.md``: a question type's item to start from."""

    type: str
    title: str
    text: str


_EXAMPLE = re.compile(r"```yaml\n(id: .*?)```", re.DOTALL)


def templates(content_dir: Path) -> list[Template]:
    """One template per question type, from the format's documentation (the first worked
    example of each type); none when the documentation is not installed."""
    readme = content_dir / "README.md"
    if not readme.is_file():
        return []
    found: dict[str, Template] = {}
    for block in _EXAMPLE.findall(readme.read_text(encoding="utf-8")):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and isinstance(data.get("type"), str) and data["type"] not in found:
            found[data["type"]] = Template(data["type"], str(data.get("title", data["type"])), block)
    return sorted(found.values(), key=lambda t: t.type)


class _Dumper(yaml.SafeDumper):
    """YAML as an author writes it: text of several lines as a ``|`` block."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.startswith(" ") and "\t" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def text_of(version: ItemVersion) -> str:
    """A version as YAML: the author's own text when it came as YAML, else its definition."""
    if version.source_text is not None:
        return version.source_text
    return yaml.dump(version.definition, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


_ID_LINE = re.compile(r"^id:[ \t]*\S.*$", re.MULTILINE)
_TITLE_LINE = re.compile(r"^title:[ \t]*(\S.*)$", re.MULTILINE)


def copy_text(session: Session, principal: Principal, key: str) -> str:
    """The current version of an item the caller may read, as a new item: another id and "Copy
    of" its title, the rest as its author wrote it."""
    _, version, _ = readable_current(session, principal, key)
    text = text_of(version)
    taken = set(session.scalars(select(Item.key).where(Item.key.like(f"{key}-copy%"))))
    new_id = next(f"{key}-copy{n or ''}" for n in range(1000) if f"{key}-copy{n or ''}" not in taken)
    text = _ID_LINE.sub(f"id: {new_id}", text, count=1)
    title = yaml.safe_dump(f"Copy of {version.title}", allow_unicode=True, width=1000).removesuffix("\n...\n").strip()
    return _TITLE_LINE.sub(lambda _: f"title: {title}", text, count=1)


# --- versions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizUse:
    quiz_id: int
    title: str
    course: str
    version: int
    attempts: int


@dataclass(frozen=True)
class VersionRow:
    number: int
    created_at: datetime
    author: str | None
    origin: str
    source: str | None
    content_hash: str
    used_by: list[QuizUse]


@dataclass(frozen=True)
class History:
    key: str
    title: str
    bank: str
    current: int | None
    can_edit: bool
    versions: list[VersionRow]
    hidden_uses: int
    """Quizzes of courses the caller does not teach that give a version of the item."""
    quizzes: list[QuizUse]
    """The caller's quizzes that give the item, with the version each gives."""


def _teaching(session: Session, principal: Principal) -> set[int] | None:
    """The courses whose quizzes the caller may see (None: every course, an administrator)."""
    if principal.is_admin:
        return None
    return set(session.scalars(select(Enrolment.course_id).where(
        Enrolment.user_id == principal.user.id, Enrolment.role == CourseRole.INSTRUCTOR)))


def history(session: Session, principal: Principal, key: str) -> History:
    """Every version of the item: when, who, from where, and which of the caller's quizzes give it."""
    item, _, bank = readable_current(session, principal, key)
    rows = session.execute(select(ItemVersion, User.display_name).outerjoin(User, User.id == ItemVersion.created_by_id)
                           .where(ItemVersion.item_id == item.id).order_by(ItemVersion.number))
    teaching = _teaching(session, principal)
    uses: dict[int, list[QuizUse]] = {}
    hidden = 0
    for quiz_id, title, course, course_id, number in session.execute(
            select(Quiz.id, Quiz.title, Course.slug, Course.id, ItemVersion.number)
            .join(QuizItem, QuizItem.quiz_id == Quiz.id).join(Course, Course.id == Quiz.course_id)
            .join(ItemVersion, ItemVersion.id == QuizItem.item_version_id)
            .where(QuizItem.item_id == item.id).distinct().order_by(Quiz.id)):
        if teaching is not None and course_id not in teaching:
            hidden += 1
            continue
        uses.setdefault(number, []).append(QuizUse(quiz_id, title, course, number, _attempts(session, quiz_id)))
    versions = [VersionRow(v.number, v.created_at, author, v.origin.value, v.source, v.content_hash,
                           uses.get(v.number, [])) for v, author in rows]
    return History(key=item.key, title=_title(session, item), bank=bank.slug,
                   current=item.current_number, can_edit=BankRights.of(session, principal).can_edit(session, bank),
                   versions=versions, hidden_uses=hidden, quizzes=[u for rows_ in uses.values() for u in rows_])


def _title(session: Session, item: Item) -> str:
    version = repository.current_version(session, item)
    return version.title if version is not None else item.key


def _attempts(session: Session, quiz_id: int) -> int:
    return session.scalar(select(func.count(Attempt.id)).where(Attempt.quiz_id == quiz_id)) or 0


@dataclass(frozen=True)
class DiffLine:
    """One line of a comparison: ``kind`` is ``same``, ``removed`` or ``added``; the line's
    number in the older and newer text (None where it has none)."""

    kind: str
    old: int | None
    new: int | None
    text: str


def diff(session: Session, principal: Principal, key: str, older: int, newer: int) -> list[DiffLine]:
    """Two versions of the item compared line by line (their YAML)."""
    item, _, _ = readable_current(session, principal, key)
    texts = {}
    for number in (older, newer):
        version = session.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                            ItemVersion.number == number)).first()
        if version is None:
            raise NotFound(f"item {key!r} has no version {number}")
        texts[number] = text_of(version).splitlines()
    return list(_lines(texts[older], texts[newer]))


def _lines(a: list[str], b: list[str]) -> Iterator[DiffLine]:
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            yield from (DiffLine("same", i1 + n + 1, j1 + n + 1, a[i1 + n]) for n in range(i2 - i1))
            continue
        yield from (DiffLine("removed", n + 1, None, a[n]) for n in range(i1, i2))
        yield from (DiffLine("added", None, n + 1, b[n]) for n in range(j1, j2))


__all__ = ["Checked", "Previewed", "Template", "check_text", "copy_text", "diff", "history", "preview_text",
           "save_text", "templates", "text_of"]
