"""Requests and responses for courses and enrolments."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from assessments.models import CourseRole


class CourseCreate(BaseModel):
    slug: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    title: str = Field(min_length=1, max_length=300)


class CourseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str


class EnrolmentCreate(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    role: CourseRole = CourseRole.STUDENT


class EnrolmentOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: CourseRole
