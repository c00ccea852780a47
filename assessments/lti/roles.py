"""The course role a platform's roles give: only context (membership) roles count.

LTI 1.3 (Core §5.3.7, §A.2) sends a user's roles as URIs from three vocabularies: system
(``.../lis/v2/system/person#...``), institution (``.../lis/v2/institution/person#...``) and
context (``.../lis/v2/membership#...``, with sub-roles as ``.../membership/{role}#{sub-role}``).
Only a context role says what the user is *in this course*; an institution Instructor (a member of
staff, a teaching assistant of another course) taking this course as a Learner is a student here.
So the principal context role decides, and institution and system roles are ignored. The
deprecated forms of context roles that LTI 1.3 still allows are read too: simple names
(``Instructor``, ``Learner``) and LTI 1.1's ``urn:lti:role:ims/lis/{role}[/{sub-role}]``.

A context role that teaches (Instructor, its sub-roles such as TeachingAssistant, ContentDeveloper,
Administrator of the course) outranks Learner: the platform says the user teaches this course. Any
other context role (Mentor, Manager, Member, Officer) gives no role, and neither does a launch with
no context role at all: the launch is refused.
"""

from __future__ import annotations

from typing import Any

from assessments.models import CourseRole

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
LEGACY_CONTEXT_ROLE = "urn:lti:role:ims/lis/"
TEACHING = frozenset({"Instructor", "ContentDeveloper", "Administrator", "TeachingAssistant"})
"""Principal context roles that teach (TeachingAssistant was a principal role in LTI 1.1; LTI 1.3
makes it a sub-role of Instructor)."""
LEARNING = frozenset({"Learner"})


def context_role(role: str) -> str | None:
    """The principal context role that ``role`` names, or None (an institution, system or unknown role)."""
    if role.startswith(MEMBERSHIP + "#"):
        return role.removeprefix(MEMBERSHIP + "#")
    if role.startswith(MEMBERSHIP + "/"):
        principal, fragment, _sub_role = role.removeprefix(MEMBERSHIP + "/").partition("#")
        return principal if fragment else None
    if role.startswith(LEGACY_CONTEXT_ROLE):
        return role.removeprefix(LEGACY_CONTEXT_ROLE).split("/", 1)[0]
    if role.isascii() and role.isalpha():
        return role  # a deprecated simple name, which LTI 1.3 allows for context roles only
    return None


def course_role(roles: list[Any]) -> CourseRole | None:
    """Instructor if a context role teaches, else student if one is Learner, else None."""
    principals = {context_role(role) for role in roles if isinstance(role, str)}
    if principals & TEACHING:
        return CourseRole.INSTRUCTOR
    if principals & LEARNING:
        return CourseRole.STUDENT
    return None
