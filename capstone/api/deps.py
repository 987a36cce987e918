"""Dependencies shared by the routers: the assistant of this app and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from capstone.guard.auth import User, authenticate
from capstone.service import Assistant

__all__ = ["get_assistant", "current_user", "AssistantDep", "CurrentUser", "RequiredUser"]


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def current_user(request: Request, assistant: AssistantDep) -> User | None:
    """None for an anonymous request; 401 for a malformed header or an unknown key."""
    header = request.headers.get("authorization")
    if header is None or not header.strip():
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(401, "Authorization must be 'Bearer <API key>'", headers={"WWW-Authenticate": "Bearer"})
    user = authenticate(assistant.db, key.strip())
    if user is None:
        raise HTTPException(
            401, "unknown API key (create one with `aie user add NAME`)", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


CurrentUser = Annotated[User | None, Depends(current_user)]


def required_user(user: CurrentUser) -> User:
    if user is None:
        raise HTTPException(
            401, "this needs an API key: send 'Authorization: Bearer <key>'", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


RequiredUser = Annotated[User, Depends(required_user)]
