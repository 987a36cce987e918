"""``POST /v1/ask``: a cited answer (the capstone contract in :mod:`capstone.api`), with its ``request_id``.

``debug`` (retrieval stages, agent trace, cost per call) is returned only when the request asks
for it (``"debug": true``) and carries an API key: anonymous callers never see other documents' ids,
timings or the trace.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from capstone.api.deps import AssistantDep, CurrentUser
from capstone.rag.modes import RetrievalMode

router = APIRouter(prefix="/v1", tags=["answers"])

MAX_QUESTION_CHARS = 6000  # the schema's bound; Settings.max_question_chars may lower it


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description="the question, in plain text")
    retrieval: RetrievalMode | None = Field(None, description="retrieval mode (default: the server's)")
    debug: bool = Field(False, description="add retrieval stages, agent trace and cost per call (needs an API key)")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"question": "What does the assert statement do?"}]},
    }

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
    refused: bool = Field(
        description="true when a guard refused: the injection screen, or the canary check on the answer"
    )
    request_id: str = Field(description="names this answer in POST /v1/feedback")
    debug: dict | None = Field(
        None,
        description="only when asked for with an API key: retrieval stages, agent trace, guard actions, cost per call",
    )


ERRORS = {
    401: {"description": "unknown API key, or debug asked for without one"},
    402: {"description": "over the per-request cost limit"},
    413: {"description": "request body over the limit"},
    422: {"description": "invalid question"},
    429: {"description": "daily cost ceiling or the caller's daily quota reached (Retry-After says when it resets)"},
    503: {"description": "model provider failed"},
}


@router.post("/ask", response_model=AskResponse, response_model_exclude_none=True, responses=ERRORS)
def ask(body: AskRequest, request: Request, assistant: AssistantDep, user: CurrentUser) -> dict:
    """Answer a question from the documents the caller may see, with inline [n] citations."""
    limit = assistant.settings.max_question_chars
    if len(body.question) > limit:
        raise HTTPException(422, f"question is {len(body.question)} characters; the limit is {limit}")
    if body.debug and user is None:
        raise HTTPException(
            401,
            "debug output is for signed-in callers: send 'Authorization: Bearer <key>' or leave debug out",
            headers={"WWW-Authenticate": "Bearer"},
        )
    response = assistant.ask(body.question, user=user, mode=body.retrieval, debug=body.debug)
    outcome = "refused" if response["refused"] else "abstained" if response["abstained"] else "answered"
    request.app.state.metrics.answers.labels(outcome).inc()
    return response
