"""``POST /v1/ask``: a cited answer (the capstone contract in :mod:`capstone.api`), with its ``request_id``.

``debug`` (retrieval stages, agent trace, cost per call) is returned only when the request asks
for it (``"debug": true``) and carries an API key: anonymous callers never see other documents' ids,
timings or the trace. ``"stream": true`` answers as server-sent events (:mod:`capstone.api.streaming`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field, field_validator

from capstone.api.deps import AssistantDep, CurrentUser
from capstone.api.streaming import AnswerStream
from capstone.rag.modes import RetrievalMode

router = APIRouter(prefix="/v1", tags=["answers"])

MAX_QUESTION_CHARS = 6000  # the schema's bound; Settings.max_question_chars may lower it


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description="the question, in plain text")
    retrieval: RetrievalMode | None = Field(None, description="retrieval mode (default: the server's)")
    debug: bool = Field(False, description="add retrieval stages, agent trace and cost per call (needs an API key)")
    stream: bool = Field(
        False, description="answer as server-sent events: token ..., citations (this response body), done"
    )

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
    dropped_sentences: int = Field(
        0, description="sentences taken out of the answer because their [n] did not hold against that passage"
    )
    extractive_fallback: bool = Field(
        False, description="true when no generated sentence held and the answer quotes the passages instead"
    )
    answered_by: str | None = Field(
        None, description="the model that wrote the answer (a fallback's, if one took over)"
    )
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
    200: {
        "description": "the cited answer; with stream: server-sent events (token, citations, done; error)",
        "content": {"text/event-stream": {}},
    },
}


@router.post("/ask", response_model=AskResponse, response_model_exclude_none=True, responses=ERRORS)
def ask(body: AskRequest, request: Request, assistant: AssistantDep, user: CurrentUser) -> dict | Response:
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

    def count(response: dict) -> None:
        outcome = "refused" if response["refused"] else "abstained" if response["abstained"] else "answered"
        request.app.state.metrics.answers.labels(outcome).inc()

    def run(on_token=None) -> dict:
        return assistant.ask(body.question, user=user, mode=body.retrieval, debug=body.debug, on_token=on_token)

    if body.stream:
        from sse_starlette import EventSourceResponse

        stream = AnswerStream(run, assistant.settings.canary).start()  # errors before the first event: HTTP status
        return EventSourceResponse(stream.events(on_result=count))
    response = run()
    count(response)
    return response
