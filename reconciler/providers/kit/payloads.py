"""Answer models the providers share: ``Answer``, the base of every API answer model (unknown
fields ignored, so a newer server's additions never break a read; frozen), and ``Page``, Django
REST framework's ``PageNumberPagination`` envelope."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(Answer, Generic[T]):
    """DRF's ``PageNumberPagination`` envelope."""

    count: int
    next: str | None = None
    results: list[T]
