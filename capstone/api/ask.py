"""``POST /v1/ask``: a cited answer (see DESIGN.md, "Capstone contract")."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from capstone.api.deps import AssistantDep, CurrentUser

router = APIRouter(prefix="/v1", tags=["answers"])

MAX_QUESTION_CHARS = 6000  # the schema's bound; Settings.max_question_chars may lower it


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description="the question, in plain text")
    retrieval: Literal["hybrid", "bm25", "dense"] | None = Field(None, description="retrieval mode (default: the server's)")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"question": "What does the assert statement do?"}]}}

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must not be blank")
        if "\x00" in value:
            raise ValueError("question must not contain NUL characters")
        return value


class Citation(BaseModel):
    marker: str
    source: str
    chunk_id: str
    quote: str


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    cost_usd: float


class AskResponse(BaseModel):
    answer: str
    citations: list[Citation]
    usage: UsageOut
    latency_ms: float
    abstained: bool = Field(description="true when the service declined to answer (nothing relevant, or refused)")
    refused: bool = Field(description="true when a guard refused: the injection screen, or the canary check on the answer")
    request_id: str
    debug: dict = Field(description="retrieval stages (bm25, dense, fused, reranked), agent trace, guard actions, cost per call")


ERRORS = {
    401: {"description": "unknown API key"},
    402: {"description": "over the per-request cost limit"},
    422: {"description": "invalid question"},
    429: {"description": "daily cost ceiling reached"},
    503: {"description": "model provider failed"},
}


@router.post("/ask", response_model=AskResponse, responses=ERRORS)
def ask(body: AskRequest, request: Request, assistant: AssistantDep, user: CurrentUser) -> dict:
    """Answer a question from the documents the caller may see, with inline [n] citations."""
    limit = assistant.settings.max_question_chars
    if len(body.question) > limit:
        raise HTTPException(422, f"question is {len(body.question)} characters; the limit is {limit}")
    response = assistant.ask(body.question, user=user, mode=body.retrieval)
    outcome = "refused" if response["refused"] else "abstained" if response["abstained"] else "answered"
    request.app.state.metrics.answers.labels(outcome).inc()
    return response
