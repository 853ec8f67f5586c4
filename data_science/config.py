"""One settings object for the whole product.

Every limit, path, flag and model option lives here, read from the environment (or a `.env`
file) and validated once at start-up. Nothing else in the code base reads `os.environ`.

`load_settings()` is called only where the process starts (server/launch.py,
verify_production.py and `data_science.agent` when `adk web`/`adk api_server` ask for the
app); everything else is handed the `Settings` it needs. There is no process-wide copy to
fall back on.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_NAME = "data_science"  # the ADK app name: URL segment of every ADK route

DEFAULT_EXTENSIONS = (
    "csv",
    "tsv",
    "txt",
    "json",
    "xlsx",
    "parquet",
    "zip",
    "png",
    "jpg",
    "jpeg",
    "webp",
    "gif",
)


MIN_PII_SECRET_CHARS = 32
MIN_TOKEN_CHARS = 16
# What a client may send after "Bearer " (RFC 6750's b64token): a configured token must fit it.
BEARER_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A user id becomes a URL segment of every route and a folder name in the artifact store:
# ASCII letters, digits and ._@+- only (no "/", spaces, control, bidi or invisible characters),
# and not dots alone ("." and ".." would name a folder above it).
USER_ID_PATTERN = re.compile(r"(?!\.+$)[A-Za-z0-9._@+-]{1,128}")
# A session id, ADK's (a uuid4) or one a client chose: also a URL segment and a folder name.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_data_dir() -> Path:
    """A per-user directory under the system temp dir, so two accounts never share one."""
    return Path(tempfile.gettempdir()) / f"data_science_agent-{getpass.getuser()}"


class ConfigError(ValueError):
    """Raised when the environment holds invalid settings; the message names every bad one."""


class Settings(BaseSettings):
    """All options of the product. Each field is an environment variable of the same name."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Storage
    DATA_DIR: Path = Field(default_factory=_default_data_dir)
    SESSION_SERVICE_URI: str | None = None
    # This server's name among replicas (logs, job rows, audit records); None: host name + pid.
    REPLICA_ID: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # How long a replica that died mid-turn keeps its chat from taking a new turn.
    TURN_LEASE_SECONDS: float = Field(default=60.0, ge=3.0, le=3600.0)
    # Object storage for uploads, derived data, models and artifacts (s3://bucket/prefix or
    # gs://bucket/prefix, credentials from the standard AWS_*/GOOGLE_* variables); None: DATA_DIR.
    STORAGE_URI: str | None = None
    MIN_FREE_DISK_BYTES: int = Field(default=200_000_000, ge=0)

    # Upload limits
    MAX_UPLOAD_BYTES: int = Field(default=50_000_000, gt=0)
    MAX_ZIP_ENTRIES: int = Field(default=200, gt=0)
    MAX_ZIP_UNCOMPRESSED_BYTES: int = Field(default=500_000_000, gt=0)
    MAX_ZIP_COMPRESSION_RATIO: int = Field(default=200, gt=1)
    MAX_IMAGE_PIXELS: int = Field(default=50_000_000, gt=0)
    MAX_TABLE_COLUMNS: int = Field(default=10_000, gt=0)
    # Tables with more rows are "large": stored as Parquet at upload and worked on out of memory
    # (DuckDB over the file for profiles, groupings and chart aggregates) instead of whole in
    # pandas; models and point charts use a random sample of at most SAMPLE_ROWS rows, stated.
    LARGE_TABLE_ROWS: int = Field(default=2_000_000, gt=0)
    SAMPLE_ROWS: int = Field(default=500_000, gt=0)
    ALLOWED_EXTENSIONS: Annotated[frozenset[str], NoDecode] = frozenset(DEFAULT_EXTENSIONS)

    # AutoML
    DEFAULT_AUTOML_SECONDS: int = Field(default=60, gt=0)
    MAX_AUTOML_SECONDS: int = Field(default=600, gt=0)
    AUTOML_PRESET: Literal[
        "medium_quality", "good_quality", "high_quality", "best_quality", "optimize_for_deployment"
    ] = "good_quality"

    # Feature flags
    ENABLE_AUTOML: bool = True
    ENABLE_SAFE_UNZIP: bool = True
    ALLOW_IMAGE_THUMBNAILS: bool = True
    STRIP_EXIF: bool = True
    SUMMARY_MODE_ONLY: bool = False
    # Most rows of raw cells one tool result shows the model (outside summary mode).
    MAX_SAMPLE_ROWS: int = Field(default=10, ge=1, le=50)

    # SQL over a chat's datasets (run_sql, on DuckDB): each query's limits.
    # Longest a query may run before it is interrupted.
    SQL_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0, le=3600)
    # Most memory DuckDB may use for one query (joins, sorts, aggregates, its result).
    SQL_MEMORY_BYTES: int = Field(default=1_000_000_000, ge=50_000_000)
    # Threads one query may use.
    SQL_THREADS: int = Field(default=2, ge=1, le=64)
    # Most rows a query's result may have (it becomes a dataset); more is refused.
    SQL_MAX_ROWS: int = Field(default=1_000_000, gt=0)
    # Code execution (`run_python`, hosted models only, in the bubblewrap sandbox)
    ENABLE_CODE_EXECUTION: bool = True
    CODE_TIMEOUT_SECONDS: int = Field(default=60, ge=5, le=3600)
    CODE_MEMORY_BYTES: int = Field(default=2_000_000_000, ge=1_000_000_000)
    # Datasets one call may load (their stored size); omitted ids take the newest that fit.
    CODE_INPUT_MAX_BYTES: int = Field(default=100_000_000, gt=0)
    # Scratch space of one call, which also bounds the datasets and charts it hands back.
    CODE_OUTPUT_MAX_BYTES: int = Field(default=50_000_000, ge=1_000_000)
    # What one call's printed output keeps (the rest is counted, not kept).
    CODE_STDOUT_MAX_BYTES: int = Field(default=20_000, ge=1_000)

    # Compute on a Ray cluster ("host:port" of its head, or "auto"); unset: the local pool.
    RAY_ADDRESS: str | None = None

    # Language model
    LLM_MODEL: str | None = None
    OPENAI_API_KEY: str | None = None
    OPENAI_MODEL: str = "gpt-4o"
    USE_GEMINI: bool = False
    GOOGLE_API_KEY: str | None = None
    GEMINI_MODEL: str = "gemini-2.5-flash"
    LLM_TEMPERATURE: float = Field(default=0.2, ge=0.0, le=2.0)
    LLM_MAX_TOKENS: int = Field(default=4096, gt=0)
    # Where the provider listens (an OpenAI-compatible server, Ollama, a proxy); None: its default.
    LLM_API_BASE: str | None = None
    # Longest wait for a model answer (for a streamed answer: for its next piece).
    LLM_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0)
    # Retries after a 429, a 5xx, a timeout or a lost connection (so 1 + this many attempts).
    LLM_MAX_RETRIES: int = Field(default=3, ge=0)
    # First backoff delay; doubled per retry, with jitter, never above LLM_RETRY_MAX_SECONDS.
    LLM_RETRY_BASE_SECONDS: float = Field(default=1.0, ge=0)
    LLM_RETRY_MAX_SECONDS: float = Field(default=30.0, ge=0)
    # Model calls one chat turn may make before it is stopped (ends tool-call loops).
    LLM_MAX_CALLS_PER_TURN: int = Field(default=25, gt=0)
    # Estimated spend after which a session makes no more model calls; None: no limit.
    LLM_SESSION_BUDGET_USD: float | None = Field(default=None, gt=0)
    # Largest tool result (JSON characters) sent to the model; bigger ones are shortened.
    LLM_TOOL_RESULT_MAX_CHARS: int = Field(default=8000, ge=500)
    # Conversation history (characters) sent per request; older tool output goes first.
    LLM_HISTORY_MAX_CHARS: int = Field(default=60000, ge=2000)
    # Tool declarations (and their families' guidance) sent per request to a hosted model: the
    # families the chat used most recently that fit (plugins/tool_families.py).
    LLM_TOOLS_MAX_CHARS: int = Field(default=10000, ge=4000)

    # Observability
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["json", "console"] = "json"
    ENABLE_TRACING: bool = False
    # Key of the HMAC that turns user ids into log and audit labels; required outside local mode.
    PII_HASH_SECRET: SecretStr | None = None
    # The hash-chained audit trail; None means DATA_DIR/audit.jsonl.
    AUDIT_LOG_PATH: Path | None = None

    # Server
    HOST: str = "127.0.0.1"
    # Who a request is: nobody in particular (local use), a bearer token, or a proxy's header.
    AUTH_MODE: Literal["none", "token", "header"] = "none"
    PORT: int = Field(default=8080, ge=1, le=65535)
    # token mode: "alice:<token>,bob:<token>" (user id, colon, bearer token; comma-separated)
    AUTH_TOKENS: SecretStr | None = None
    # header mode: the user id, set by a trusted authenticating reverse proxy
    AUTH_HEADER: str = Field(default="X-Forwarded-User", pattern=r"^[A-Za-z0-9-]+$")
    # AUTH_MODE=none on a non-loopback HOST only with this explicit override
    ALLOW_UNAUTHENTICATED_NETWORK: bool = False
    # On SIGTERM: readiness 503 for this long before the listener closes (load balancers see it)
    SHUTDOWN_DRAIN_SECONDS: float = Field(default=3.0, ge=0)
    # then in-flight requests get this long to finish (uvicorn's timeout_graceful_shutdown)
    SHUTDOWN_TIMEOUT_SECONDS: int = Field(default=20, gt=0)

    # Retention: 0 keeps data forever; else files and sessions older than this many days go
    DATA_RETENTION_DAYS: int = Field(default=0, ge=0)
    RETENTION_SWEEP_SECONDS: int = Field(default=3600, gt=0)

    @field_validator("ALLOWED_EXTENSIONS", mode="before")
    @classmethod
    def _split_extensions(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.replace(";", ",").split(",")
        if isinstance(value, (list, tuple, set, frozenset)):
            cleaned = {str(part).strip().lower().lstrip(".") for part in value}
            return frozenset(part for part in cleaned if part)
        return value

    @field_validator("STORAGE_URI")
    @classmethod
    def _storage_uri(cls, value: str | None) -> str | None:
        if not value:
            return None
        scheme, _, rest = value.partition("://")
        if scheme not in {"s3", "gs"} or not rest.split("/", 1)[0]:
            raise ValueError(
                "STORAGE_URI must look like s3://bucket/prefix or gs://bucket/prefix, "
                f"not {value!r}"
            )
        return value.rstrip("/")

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        problems = []
        if self.DEFAULT_AUTOML_SECONDS > self.MAX_AUTOML_SECONDS:
            problems.append(
                "DEFAULT_AUTOML_SECONDS must not exceed MAX_AUTOML_SECONDS "
                f"({self.DEFAULT_AUTOML_SECONDS} > {self.MAX_AUTOML_SECONDS})"
            )
        if self.USE_GEMINI and not self.GOOGLE_API_KEY:
            problems.append("USE_GEMINI is on but GOOGLE_API_KEY is not set")
        if not self.ALLOWED_EXTENSIONS:
            problems.append("ALLOWED_EXTENSIONS is empty: no upload could ever be accepted")
        problems += self._pii_secret_problems()
        if self.AUTH_MODE == "token":
            try:
                parse_auth_tokens(self.AUTH_TOKENS.get_secret_value() if self.AUTH_TOKENS else "")
            except ValueError as error:
                problems.append(str(error))
        if exposure := self.exposure_problem():
            problems.append(exposure)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _pii_secret_problems(self) -> list[str]:
        secret = self.PII_HASH_SECRET.get_secret_value() if self.PII_HASH_SECRET else ""
        if self.PII_HASH_SECRET is not None and len(secret) < MIN_PII_SECRET_CHARS:
            return [
                f"PII_HASH_SECRET must have at least {MIN_PII_SECRET_CHARS} characters "
                "(e.g. the output of `openssl rand -hex 32`)"
            ]
        if self.PII_HASH_SECRET is None and not self.is_local_mode:
            return [
                "PII_HASH_SECRET must be set unless the app runs locally (AUTH_MODE=none on a "
                f"loopback HOST; here AUTH_MODE={self.AUTH_MODE}, HOST={self.HOST}): it keys the "
                "hash that keeps user ids out of logs and the audit trail. Generate one with "
                "`openssl rand -hex 32`"
            ]
        return []

    @property
    def is_local_mode(self) -> bool:
        """One person on their own machine: no authentication, reachable only from loopback."""
        return self.AUTH_MODE == "none" and is_loopback_host(self.HOST)

    def exposure_problem(self) -> str | None:
        """Why this HOST/AUTH_MODE pair must not start, or None when it may."""
        if (
            self.AUTH_MODE == "none"
            and not is_loopback_host(self.HOST)
            and not self.ALLOW_UNAUTHENTICATED_NETWORK
        ):
            return (
                f"HOST={self.HOST} exposes the app to the network with AUTH_MODE=none: anyone "
                "who reaches it could read every user's data. Set AUTH_MODE=token (with "
                "AUTH_TOKENS) or AUTH_MODE=header behind an authenticating proxy, bind "
                "HOST=127.0.0.1, or set ALLOW_UNAUTHENTICATED_NETWORK=true if the network "
                "itself is trusted"
            )
        return None

    def auth_users_by_token(self) -> dict[str, str]:
        """Bearer token → user id, from AUTH_TOKENS (empty unless tokens are configured)."""
        if self.AUTH_TOKENS is None:
            return {}
        return parse_auth_tokens(self.AUTH_TOKENS.get_secret_value())

    # Derived locations: the one place that knows the layout of DATA_DIR.
    @property
    def quarantine_root(self) -> Path:
        return self.DATA_DIR / "quarantine"

    @property
    def quarantine_dir(self) -> Path:
        """Where uploads wait for their checks: with replicas, a folder of this replica's own,
        so that its start-up sweep removes only what its own crash left."""
        if self.replicated:
            return self.quarantine_root / self.replica_id
        return self.quarantine_root

    @property
    def ready_dir(self) -> Path:
        return self.DATA_DIR / "ready"

    @property
    def sessions_dir(self) -> Path:
        return self.DATA_DIR / "sessions"

    @property
    def artifacts_dir(self) -> Path:
        return self.DATA_DIR / "artifacts"

    @property
    def audit_log_path(self) -> Path:
        return self.AUDIT_LOG_PATH or self.DATA_DIR / "audit.jsonl"

    @property
    def pii_secret_path(self) -> Path:
        """Where local mode keeps its generated PII_HASH_SECRET, so hashes survive restarts."""
        return self.DATA_DIR / ".pii_secret"

    @property
    def replica_id(self) -> str:
        """REPLICA_ID, or this process's host name and pid (unique while it runs)."""
        return self.REPLICA_ID or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def replicated(self) -> bool:
        """Whether replicas may share this deployment's state: the session store is PostgreSQL."""
        return (self.SESSION_SERVICE_URI or "").startswith("postgresql")

    @property
    def session_db_uri(self) -> str:
        """Where ADK keeps sessions: SESSION_SERVICE_URI, or SQLite under DATA_DIR."""
        if self.SESSION_SERVICE_URI:
            return self.SESSION_SERVICE_URI
        return f"sqlite+aiosqlite:///{self.sessions_dir / 'sessions.db'}"

    def create_data_dirs(self) -> None:
        """Create every data directory with mode 0700 (and tighten existing ones)."""
        for directory in (
            self.DATA_DIR,
            self.quarantine_root,
            self.quarantine_dir,
            self.ready_dir,
            self.sessions_dir,
            self.artifacts_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)

    def free_disk_bytes(self) -> int:
        """Free space on the disk that holds (or will hold) DATA_DIR."""
        existing = next(p for p in (self.DATA_DIR, *self.DATA_DIR.parents) if p.exists())
        return shutil.disk_usage(existing).free


def parse_auth_tokens(raw: str) -> dict[str, str]:
    """Parse AUTH_TOKENS ("alice:<token>,bob:<token>") into token → user id.

    Messages name a bad entry by its position, never by its value: tokens are secrets.
    """
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise ValueError(
            "AUTH_MODE=token needs AUTH_TOKENS, e.g. AUTH_TOKENS=alice:<token>,bob:<token>"
        )
    users_by_token: dict[str, str] = {}
    for position, entry in enumerate(entries, start=1):
        user_id, colon, token = (part.strip() for part in entry.partition(":"))
        if not colon or not user_id or not token:
            raise ValueError(f"AUTH_TOKENS entry {position} is not of the form user:token")
        if not USER_ID_PATTERN.fullmatch(user_id):
            raise ValueError(
                f"AUTH_TOKENS entry {position}: a user id may only hold letters, digits and "
                ". _ @ + - (at most 128 characters)"
            )
        if len(token) < MIN_TOKEN_CHARS or any(char.isspace() for char in token):
            raise ValueError(
                f"AUTH_TOKENS entry {position}: a token needs at least {MIN_TOKEN_CHARS} "
                "characters and no spaces (e.g. the output of `openssl rand -hex 32`)"
            )
        if not BEARER_TOKEN_PATTERN.fullmatch(token):
            raise ValueError(
                f"AUTH_TOKENS entry {position}: a token may only hold letters, digits and "
                "- . _ ~ + /, then = padding (RFC 6750), since that is all a client can send"
            )
        if token in users_by_token:
            raise ValueError(f"AUTH_TOKENS entry {position} repeats an earlier token")
        users_by_token[token] = user_id
    return users_by_token


def describe_validation_error(error: ValidationError) -> str:
    """One message naming every bad variable and why, for a person reading a terminal."""
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        lines.append(f"  {name}: {item['msg']}")
    return "Invalid configuration:\n" + "\n".join(lines)


# What the app's environment holds that its workers on Ray need too: the object store's
# location and credentials (read from the environment by the storage library). Ray workers
# start from the cluster's environment, not the app's, so these are handed to each task.
WORKER_ENVIRONMENT = (
    "STORAGE_URI",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


def worker_environment() -> dict[str, str]:
    """The variables of WORKER_ENVIRONMENT that are set here, for workers elsewhere."""
    return {name: os.environ[name] for name in WORKER_ENVIRONMENT if name in os.environ}


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError with every problem at once."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
