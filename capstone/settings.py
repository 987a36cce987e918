"""The capstone's one configuration object: every knob, its default, and the variable that sets it.

Values come from the environment (prefix ``AIE_``, e.g. ``AIE_STORE=chroma``) or a ``.env`` file;
``DATABASE_URL`` and ``AIE_CANARY`` keep their well-known names. Example::

    >>> s = Settings(store="pgvector", daily_ceiling_usd={"ask": 0.5})
    >>> s.ceiling_for("ask"), s.ceiling_for("ingest")
    (0.5, 1.0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from capstone.rag.modes import RetrievalMode
from curriculum.paths import REPO_ROOT

__all__ = ["FEATURES", "Settings"]

#: Cost is recorded and budgeted per feature.
FEATURES = ("ask", "agent", "ingest")


class Settings(BaseSettings):
    """Configuration of the capstone service (see ``wiki/capstone.md`` for the operator's view)."""

    model_config = SettingsConfigDict(env_prefix="AIE_", env_file=".env", extra="ignore", populate_by_name=True)

    # -- model and storage -------------------------------------------------------------------
    model: str = Field(
        "offline", description="model spec for curriculum.llm.get_model: offline, openai:<m>, anthropic:<m>, hf:<path>"
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "AIE_DATABASE_URL"),
        description="Postgres URL; empty means the embedded pgserver database `pg_name`",
    )
    pg_name: str = Field("capstone", description="name of the embedded Postgres data folder under .aie/pg")
    pg_root: Path | None = Field(None, description="parent folder of embedded Postgres data folders (default .aie/pg)")
    store: Literal["pgvector", "chroma"] = Field("pgvector", description="where chunks and vectors live")
    chroma_path: Path = Field(REPO_ROOT / ".aie" / "chroma", description="Chroma persistence folder (store=chroma)")

    # -- corpus and ingestion ------------------------------------------------------------------
    default_corpus: bool = Field(True, description="ingest the Python reference and the wiki on first start")
    wiki_dir: Path = Field(REPO_ROOT / "wiki", description="folder of the project's wiki pages")
    embedding_cache: Path | None = Field(
        None, description="on-disk cache of chunk vectors (default .aie/cache/capstone/embeddings.npz)"
    )
    chunk_chars: int = Field(1000, ge=200, le=4000, description="target chunk size in characters")
    max_upload_bytes: int = Field(2_000_000, ge=1, description="largest accepted upload")
    embedding_price_per_mtok: float = Field(
        0.02,
        ge=0,
        description="USD per million embedded tokens charged to the ingest budget (stand-in: a hosted small embedding model's list price)",
    )

    # -- retrieval and answering ---------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=20, description="chunks handed to the model")
    candidates: int = Field(30, ge=5, le=200, description="chunks each retriever returns before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank-fusion constant")
    retrieval: RetrievalMode = Field("hybrid", description="retrieval mode (benchmarks compare them)")
    rerank: bool = Field(True, description="apply the reranking stage after fusion")
    min_relevance: float = Field(0.25, description="below this dense cosine similarity a chunk counts as irrelevant")
    max_question_chars: int = Field(
        6000, ge=10, le=6000, description="longest accepted question (the API schema allows 6000)"
    )
    max_output_tokens: int = Field(400, ge=16, le=4096, description="max output tokens of each model call")
    answering: Literal["auto", "agent", "generative"] = Field(
        "auto",
        description="agent: the tool loop; generative: one checked call over the top passages; "
        "auto: generative for a model served on this machine (local:smollm2), the agent loop otherwise",
    )
    generative_passages: int = Field(
        3, ge=1, le=10, description="passages in the prompt of a generative model (not the extractive reference)"
    )
    generative_chars: int = Field(
        480, ge=80, le=4000, description="characters of each passage a generative model sees (cut at a sentence end)"
    )
    generative_max_tokens: int = Field(
        64, ge=8, le=4096, description="max output tokens of a generative model's answer (SmolLM2 streams ~30/s)"
    )

    torch_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="intra-op threads for embedding a question (1 is fastest for one short text on a shared machine)",
    )

    # -- agent ---------------------------------------------------------------------------------
    agent_max_steps: int = Field(4, ge=1, le=20, description="model calls per request before the loop stops")
    tickets_per_user_per_day: int = Field(
        3,
        ge=0,
        le=1000,
        description="docs tickets one signed-in caller may file per UTC day (0: no ticket tool); anonymous callers never can",
    )

    # -- guard ---------------------------------------------------------------------------------
    canary: str | None = Field(
        None,
        validation_alias=AliasChoices("AIE_CANARY"),
        description="secret placed in the system prompt; never returned",
    )
    allowed_link_hosts: list[str] = Field(
        default_factory=lambda: ["docs.python.org", "github.com", "roadmap.sh"],
        description="hosts an answer may link to (anything else is removed)",
    )

    # -- cost ----------------------------------------------------------------------------------
    request_limit_usd: float = Field(0.01, gt=0, description="most one request may cost (all its model calls)")
    daily_ceiling_usd: dict[str, float] = Field(
        default_factory=dict,
        description="hard daily ceiling per feature (ask, agent, ingest); missing ones use default_daily_ceiling_usd",
    )
    default_daily_ceiling_usd: float = Field(
        1.0, gt=0, description="daily ceiling of a feature not named in daily_ceiling_usd"
    )
    alert_webhook_url: str | None = Field(None, description="URL that receives a JSON POST when a ceiling is crossed")

    # -- per-caller quotas (per UTC day, in Postgres; admins have none) -------------------------
    user_daily_requests: int = Field(2000, ge=0, description="requests one API key may make per day (asks and uploads)")
    user_daily_usd: float = Field(0.2, ge=0, description="USD of model calls one API key may spend per day")
    anonymous_daily_requests: int = Field(
        5000, ge=0, description="requests all anonymous callers together may make per day"
    )
    anonymous_daily_usd: float = Field(0.3, ge=0, description="USD all anonymous callers together may spend per day")

    # -- server --------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("daily_ceiling_usd")
    @classmethod
    def _known_features(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown feature(s) {sorted(unknown)}; features are {', '.join(FEATURES)}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("daily ceilings must be positive")
        return value

    @field_validator("canary")
    @classmethod
    def _canary_not_trivial(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and len(value.strip()) < 8:
            raise ValueError("AIE_CANARY must be at least 8 characters (a short canary matches ordinary text)")
        return value.strip() or None if value is not None else None

    def ceiling_for(self, feature: str) -> float:
        """The daily hard ceiling in USD of ``feature``."""
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}")
        return self.daily_ceiling_usd.get(feature, self.default_daily_ceiling_usd)
