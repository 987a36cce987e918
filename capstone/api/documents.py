"""``POST /v1/documents`` (upload one file), ``GET /v1/documents``, ``GET /v1/chunks``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel

from capstone.api.deps import AssistantDep, CurrentUser, RequiredUser
from capstone.rag.connectors import UPLOAD_TYPES, UnsupportedDocument

router = APIRouter(prefix="/v1", tags=["documents"])


class UploadResult(BaseModel):
    source: str
    status: Literal["added", "updated", "unchanged"]
    visibility: Literal["public", "private"]
    chunks: int
    quarantined_chunks: int


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


@router.post(
    "/documents", status_code=201, response_model=UploadResult,
    responses={401: {"description": "no or unknown API key"}, 413: {"description": "file too large"},
               415: {"description": "unsupported file type"}, 422: {"description": "unreadable file or bad form"},
               429: {"description": "ingest cost ceiling reached"}},
)
def upload_document(
    assistant: AssistantDep,
    user: RequiredUser,
    file: Annotated[UploadFile, File(description=f"one file: {', '.join(sorted(UPLOAD_TYPES))}")],
    visibility: Annotated[Literal["public", "private"], Form(description="public: everyone; private: only you")] = "private",
) -> dict:
    """Ingest one file; re-uploading the same name replaces the previous version in one transaction."""
    limit = assistant.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{file.filename}: larger than the upload limit of {limit} bytes")
    try:
        return assistant.upload(filename=file.filename or "upload", data=data, visibility=visibility, user=user)
    except UnsupportedDocument as exc:
        raise HTTPException(exc.status_code, str(exc)) from None


@router.get("/documents", response_model=list[DocumentOut])
def list_documents(assistant: AssistantDep, user: CurrentUser) -> list[dict]:
    """The documents the caller may see."""
    return assistant.store.documents(user.id if user else None)


@router.get("/chunks", response_model=ChunkOut, responses={404: {"description": "no such chunk, or not yours"}})
def get_chunk(assistant: AssistantDep, user: CurrentUser, id: Annotated[str, Query(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]) -> dict:
    """One chunk by id (the web page shows it when a citation is clicked)."""
    found = assistant.chunk(id, user=user)
    if found is None:
        raise HTTPException(404, f"no chunk {id!r} that you may see")
    return found
