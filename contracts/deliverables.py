"""Deliverables: what a goal must produce, stated as checks that workflow code evaluates
against the files as written, so "succeeded" means the output is there and has the
shape the goal asks for, not that a reviewer model liked the step previews."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, JsonValue

DeliverableFormat = Literal["json", "csv", "text"]
Shape = Literal["any", "list", "object", "number", "string", "collection", "total"]
ValueType = Literal["any", "number", "string", "object"]
BoundOp = Literal[">", ">=", "<", "<="]
SHOWN_CHARS = 2000  # of a deliverable's content, for the reviewer and the planner


def format_by_extension(path: str) -> DeliverableFormat:
    """How a file is parsed when nobody says: .json -> json, .csv -> csv, else text."""
    lowered = path.lower()
    if lowered.endswith(".json"):
        return "json"
    return "csv" if lowered.endswith(".csv") else "text"


class Bound(BaseModel):
    """A number every item of a list keeps to: ``field`` ``op`` ``value`` (revenue > 200)."""

    field: str
    op: BoundOp
    value: float


class Ranking(BaseModel):
    """The top of the data by a number ("the 3 rows with the highest revenue"): the
    items' ``field`` values are ``values``, in that order."""

    field: str
    descending: bool = Field(description="Highest first")
    values: list[float] = Field(description="The field's values the items hold, in order")


class Deliverable(BaseModel):
    """A workspace file the goal must produce, and what its content must be."""

    path: str = Field(description="Workspace path the goal names, e.g. out/paris.json")
    format: DeliverableFormat | None = Field(
        default=None, description="json, csv or text; default: from the file extension"
    )
    shape: Shape = Field(
        default="any",
        description="JSON: list, object, number or string at the top; collection: a list "
        "or an object (one value per group), not a single value; total: one number, alone "
        'or as the one value of an object or list ({"count": 12})',
    )
    per: str | None = Field(
        default=None, description="What the goal asks one value for (per region): for messages"
    )
    max_sentences: int | None = Field(
        default=None, ge=1, description='Text of at most this many sentences ("in two sentences")'
    )
    holds_data: bool = Field(
        default=False,
        description="Holds data: not a whole HTTP response (status, headers, body), and "
        "not the text null (a reference that matched nothing)",
    )
    non_empty: bool = Field(default=True, description="Not empty: no [], {}, '' or null")
    item_fields: list[str] = Field(
        default_factory=list, description="Every item (JSON list of objects, CSV row) has these"
    )
    where: dict[str, JsonValue] = Field(
        default_factory=dict,
        description='Every item has these field values, e.g. {"city": "Paris"}',
    )
    bounds: list[Bound] = Field(
        default_factory=list,
        description="Every item's field compares so with a number, e.g. revenue > 200",
    )
    ranked: Ranking | None = Field(
        default=None, description="A list of the top records by a field, in order"
    )
    value_type: ValueType = Field(
        default="any", description="Every value of an object (or item of a list) is this"
    )
    keys: list[str] = Field(default_factory=list, description="An object has these keys")
    items: int | None = Field(
        default=None, ge=0, description="A list of exactly this many items (a conversion)"
    )

    def file_format(self) -> DeliverableFormat:
        return self.format if self.format is not None else format_by_extension(self.path)

    def checks_content(self) -> bool:
        """Whether anything beyond "exists, parses, not empty" is checked."""
        return bool(
            self.shape != "any"
            or self.item_fields
            or self.where
            or self.bounds
            or self.ranked is not None
            or self.value_type != "any"
            or self.keys
            or self.items is not None
        )


class InspectRequest(BaseModel):
    """The files whose content the workflow checks (read-only)."""

    workspace: str
    deliverables: list[Deliverable]


class Inspected(BaseModel):
    """One file as read back: its parsed content, or why there is none."""

    path: str
    exists: bool
    content: JsonValue = Field(
        default=None, description="JSON value, CSV rows as objects, or text; None if unread"
    )
    problem: str | None = Field(default=None, description="Unreadable or does not parse")
    size: int = 0
    too_large: bool = Field(default=False, description="Too large to check in the workflow")


class DeliverableCheck(BaseModel):
    """The verdict on one deliverable, as the run reports it."""

    path: str
    passed: bool
    problems: list[str] = Field(default_factory=list)
    content_checked: bool = Field(description="More than presence and format was checked")
    shown: str = Field(default="", description="The start of the content, as read back")
    size: int = Field(default=0, description="Bytes of the file as read back")
