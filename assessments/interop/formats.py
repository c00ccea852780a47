"""The exchange formats by their ``format=`` name."""

from __future__ import annotations

from assessments.interop.base import Format
from assessments.interop.gift import GIFT
from assessments.interop.moodlexml import MOODLE_XML
from assessments.interop.qti import QTI2, QTI3

FORMATS: dict[str, Format] = {f.name: f for f in (QTI3, QTI2, GIFT, MOODLE_XML)}
KNOWN = ", ".join(("yaml", *FORMATS))
