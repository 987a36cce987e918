"""``POST /v1/feedback``: thumbs up or down, and a comment, on one answer (by its ``request_id``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from capstone.api.deps import AssistantDep, CurrentUser
from capstone.feedback import UnknownRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackIn(BaseModel):
    request_id: str = Field(
        ..., min_length=1, max_length=64, pattern=r"^[0-9a-f]+$", description="the request_id of a /v1/ask answer"
    )
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000, description="what was right or wrong (optional)")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"request_id": "3f2a...", "rating": "down", "comment": "cites the wrong page"}]
        },
    }


class FeedbackOut(BaseModel):
    id: int


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={
        401: {"description": "unknown API key"},
        404: {"description": "no answer with that id that you may rate"},
        413: {"description": "request body over the limit"},
        422: {"description": "invalid rating or request id"},
    },
)
def give_feedback(body: FeedbackIn, assistant: AssistantDep, user: CurrentUser) -> dict:
    """Rate one of your answers (the same API key, or anonymously for an anonymous answer); rating again replaces it."""
    try:
        return assistant.feedback(request_id=body.request_id, rating=body.rating, comment=body.comment, user=user)
    except UnknownRequest as exc:
        raise HTTPException(404, str(exc)) from None
