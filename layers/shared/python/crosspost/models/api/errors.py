"""The error envelope (API.md "Errors") as the OpenAPI document describes it. The handlers build it
as a dict (``crosspost.api.errors.envelope``); only the document imports these models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorDetailBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    rule: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    rule: str | None = None
    platform: str | None = None
    field: str | None = None
    remediation: str | None = None
    details: list[ErrorDetailBody] = []
    platformResponse: Any = None
    requestId: str
    postId: str | None = None


class ErrorEnvelope(BaseModel):
    """Every non-2xx response."""

    error: ErrorBody
