"""Answers on record and the feedback on them: thumbs up/down and a comment, exported as eval candidates.

Every ``/v1/ask`` answer is stored in ``requests`` (question, answer, citations) under its
``request_id``. ``POST /v1/feedback`` rates one of them: only the caller who asked (the same API
key's user, or an anonymous caller for an anonymous request) or an admin may, and rating again
replaces the earlier rating. ``aie feedback export`` writes one JSON line per rating in the shape
of :class:`capstone.evals.suite.EvalCase` (``id``, ``kind``, ``question``, ``sources``, ``related``,
``facts``) plus a ``feedback`` object (rating, comment, the answer given, its request id):

* an answer rated *up* that cited sources -> ``kind: "fact"`` with those sources;
* an abstention rated *up* -> ``kind: "out_of_scope"``;
* anything rated *down* -> ``kind: "fact"`` with no sources: a person decides what the right
  sources and facts are (``load_cases`` refuses unknown keys, so the ``feedback`` object is
  removed when a candidate becomes a case).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from capstone.db import Database
from capstone.guard.auth import User

__all__ = ["UnknownRequest", "record_answer", "add_feedback", "export_candidates", "candidate"]


class UnknownRequest(LookupError):
    """No answer with that request id that this caller may rate (HTTP 404)."""


def record_answer(db: Database, *, request_id: str, user: User | None, question: str, response: dict) -> None:
    """Keep the answer of one request (what feedback refers to)."""
    citations = [{k: c[k] for k in ("marker", "source", "chunk_id", "quote")} for c in response["citations"]]
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO requests (request_id, user_id, anonymous, question, answer, citations, abstained, refused) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (request_id) DO NOTHING",
            (
                request_id,
                user.id if user else None,
                user is None,
                question,
                response["answer"],
                Jsonb(citations),
                bool(response["abstained"]),
                bool(response["refused"]),
            ),
        )


def add_feedback(db: Database, *, request_id: str, rating: str, comment: str | None, user: User | None) -> int:
    """Store (or replace) the rating of one answer; returns the feedback id."""
    if rating not in ("up", "down"):
        raise ValueError(f"rating must be 'up' or 'down', got {rating!r}")
    with db.transaction() as conn:
        row = conn.execute("SELECT user_id, anonymous FROM requests WHERE request_id = %s", (request_id,)).fetchone()
        mine = row is not None and (
            (user is not None and (user.is_admin or row[0] == user.id)) or (user is None and row[1])
        )
        if not mine:  # someone else's answer looks exactly like no answer at all
            raise UnknownRequest(f"no answer with request id {request_id!r} that you may rate")
        return conn.execute(
            "INSERT INTO feedback (request_id, rating, comment, user_id) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (request_id) DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, "
            "user_id = EXCLUDED.user_id, created_at = now() RETURNING id",
            (request_id, rating, comment, user.id if user else None),
        ).fetchone()[0]


@dataclass(frozen=True)
class _Rated:
    id: int
    rating: str
    comment: str | None
    created_at: str
    request_id: str
    question: str
    answer: str
    citations: list[dict]
    abstained: bool


def candidate(rated: _Rated) -> dict:
    """One rating as an eval-case candidate (see the module docs for the mapping)."""
    sources = list(dict.fromkeys(c["source"] for c in rated.citations if not c["source"].startswith("tool/")))
    if rated.rating == "up" and rated.abstained:
        kind, sources = "out_of_scope", []
    else:
        kind, sources = "fact", (sources if rated.rating == "up" else [])
    return {
        "id": f"feedback-{rated.id}",
        "kind": kind,
        "question": rated.question,
        "sources": sources,
        "related": [],
        "facts": [],
        "feedback": {
            "rating": rated.rating,
            "comment": rated.comment,
            "answer": rated.answer,
            "request_id": rated.request_id,
            "cited": [c["source"] for c in rated.citations],
            "rated_at": rated.created_at,
        },
    }


def export_candidates(db: Database) -> Iterator[dict]:
    """Every rating, oldest first, as eval-case candidates."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT f.id, f.rating, f.comment, f.created_at, r.request_id, r.question, r.answer, r.citations, r.abstained "
            "FROM feedback f JOIN requests r ON r.request_id = f.request_id ORDER BY f.id"
        ).fetchall()
    for row in rows:
        citations = row[7] if isinstance(row[7], list) else json.loads(row[7])
        yield candidate(_Rated(row[0], row[1], row[2], row[3].isoformat(), row[4], row[5], row[6], citations, row[8]))
