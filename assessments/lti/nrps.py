"""Names and Role Provisioning Services: the roster of a platform's course, page by page.

Every active member is provisioned (user and enrolment, roles mapped as at launch); members the
platform marks Inactive or Deleted lose their student enrolment. Pages follow the ``Link`` header's
``rel="next"``. ``assay lti sync-roster`` and the ``lti.roster`` job run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from assessments import jobs
from assessments.lti import http, repository
from assessments.lti.roles import course_role
from assessments.lti.service import enrol, provision_user, subject_of
from assessments.lti.tokens import service_token
from assessments.models import Course, CourseRole, LtiContext, LtiPlatform, utcnow

ROSTER_JOB = "lti.roster"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 1000


@dataclass(frozen=True)
class RosterSync:
    pages: int
    active: int
    removed: int


def _next_page(reply: Any) -> str | None:
    link = reply.links.get("next")
    return str(link["url"]) if link else None


def sync_roster(session: Session, context: LtiContext, now: datetime) -> RosterSync:
    platform = session.get(LtiPlatform, context.platform_id)
    course = session.get(Course, context.course_id)
    if platform is None or course is None or not context.memberships_url:
        raise LookupError("the platform gave this course no roster service")
    token = service_token(session, platform, {NRPS_SCOPE}, now)
    url: str | None = context.memberships_url
    pages = active = removed = 0
    with http.client() as client:
        while url and pages < MAX_PAGES:
            reply = client.get(url, headers={"authorization": f"Bearer {token}", "accept": MEMBERSHIP_TYPE})
            if reply.status_code != 200:
                raise http.PlatformUnavailable(f"the roster service answered {reply.status_code}")
            pages += 1
            for member in reply.json().get("members", []):
                role = course_role(member.get("roles", []))
                if role is None or not member.get("user_id"):
                    continue
                if member.get("status", "Active") == "Active":
                    enrol(session, course, provision_user(session, platform, member, role, now), role, now)
                    active += 1
                    continue
                user = repository.user_by_subject(session, subject_of(platform, str(member["user_id"])))
                enrolment = repository.enrolment(session, course.id, user.id) if user else None
                if enrolment is not None and enrolment.role == CourseRole.STUDENT:
                    session.delete(enrolment)
                    removed += 1
            url = _next_page(reply)
    session.flush()
    return RosterSync(pages, active, removed)


@jobs.handler(ROSTER_JOB)
def _roster_job(session: Session, payload: dict[str, Any], _progress: jobs.Progress) -> dict[str, Any] | None:
    context = session.get(LtiContext, payload["context_id"])
    if context is None:
        return None
    done = sync_roster(session, context, utcnow())
    return {"pages": done.pages, "active": done.active, "removed": done.removed}
