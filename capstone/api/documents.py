"""``POST /v1/documents`` (upload one file), ``DELETE /v1/documents/{source}``, ``GET /v1/documents``, ``GET /v1/chunks``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from capstone.api.deps import AssistantDep, CurrentUser, RequiredUser
from capstone.guard.auth import Forbidden
from capstone.rag.connectors import UPLOAD_TYPES, UnsupportedDocument
from capstone.service import UnknownDocument

router = APIRouter(prefix="/v1", tags=["documents"])


class UploadResult(BaseModel):
    source: str
    status: Literal["added", "updated", "unchanged"]
    visibility: Literal["public", "private"]
    chunks: int
    quarantined_chunks: int


class DeleteResult(BaseModel):
    deleted: str
    chunks: int


class DocumentOut(BaseModel):
    source: str
    title: str
    connector: str
    visibility: str
    chunks: int


class ChunkOut(BaseModel):
    chunk_id: str
    source: str
    title: str
    heading: str
    text: str
    visibility: str


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": f"one file: {', '.join(sorted(UPLOAD_TYPES))}",
                    },
                    "visibility": {
                        "type": "string",
                        "enum": ["public", "private"],
                        "default": "private",
                        "description": "public: everyone (editors and admins only); private: only you",
                    },
                },
            }
        }
    },
}


@router.post(
    "/documents",
    status_code=201,
    response_model=UploadResult,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        401: {"description": "no or unknown API key (checked before the body is read)"},
        403: {"description": "a reader asked for a public document"},
        413: {"description": "file or body too large"},
        415: {"description": "unsupported file type"},
        422: {"description": "unreadable or corrupt file (a PDF that cannot be parsed, say), or a bad form"},
        429: {"description": "ingest cost ceiling or the caller's daily quota reached"},
    },
)
async def upload_document(request: Request, assistant: AssistantDep, user: RequiredUser) -> dict:
    """Ingest one file; re-uploading the same name replaces the previous version in one transaction.

    The API key is checked first: the form is read only for a known caller.
    """
    limit = assistant.settings.max_upload_bytes
    async with request.form(max_files=1, max_fields=2, max_part_size=1024) as form:
        file, visibility = form.get("file"), form.get("visibility", "private")
        if not isinstance(file, StarletteUpload):
            raise HTTPException(422, "the form needs a file field named 'file' (multipart/form-data)")
        if visibility not in ("public", "private"):
            raise HTTPException(422, f"visibility must be 'public' or 'private', got {str(visibility)[:40]!r}")
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{file.filename}: larger than the upload limit of {limit} bytes")
        filename = file.filename or "upload"
    try:
        return await run_in_threadpool(assistant.upload, filename=filename, data=data, visibility=visibility, user=user)
    except UnsupportedDocument as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None


@router.delete(
    "/documents/{source:path}",
    response_model=DeleteResult,
    responses={
        401: {"description": "no or unknown API key"},
        403: {"description": "not the owner (and not an admin)"},
        404: {"description": "no such document that you may see"},
    },
)
def delete_document(source: str, assistant: AssistantDep, user: RequiredUser) -> dict:
    """Remove a document and its chunks: its owner or an admin (the index follows at once, on every worker)."""
    try:
        return assistant.delete(source, user=user)
    except UnknownDocument as exc:
        raise HTTPException(404, str(exc)) from None
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None


@router.get("/documents", response_model=list[DocumentOut], responses={401: {"description": "unknown API key"}})
def list_documents(assistant: AssistantDep, user: CurrentUser) -> list[dict]:
    """The documents the caller may see."""
    return assistant.store.documents(user.id if user else None)


@router.get(
    "/chunks",
    response_model=ChunkOut,
    responses={
        401: {"description": "unknown API key"},
        404: {"description": "no such chunk, or not yours"},
        422: {"description": "invalid id"},
    },
)
def get_chunk(
    assistant: AssistantDep,
    user: CurrentUser,
    id: Annotated[str, Query(min_length=1, max_length=500, pattern=r"^[^\x00]+$")],
) -> dict:
    """One chunk by id (the web page shows it when a citation is clicked)."""
    found = assistant.chunk(id, user=user)
    if found is None:
        raise HTTPException(404, f"no chunk {id!r} that you may see")
    return found
