"""One settings object for the whole product.

Every limit, path, flag and model option lives here, read from the environment (or a `.env`
file) and validated once at start-up. Nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

import getpass
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
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
    MIN_FREE_DISK_BYTES: int = Field(default=200_000_000, ge=0)

    # Upload limits
    MAX_UPLOAD_BYTES: int = Field(default=50_000_000, gt=0)
    MAX_ZIP_ENTRIES: int = Field(default=200, gt=0)
    MAX_ZIP_UNCOMPRESSED_BYTES: int = Field(default=500_000_000, gt=0)
    MAX_ZIP_COMPRESSION_RATIO: int = Field(default=200, gt=1)
    MAX_IMAGE_PIXELS: int = Field(default=50_000_000, gt=0)
    MAX_TABLE_COLUMNS: int = Field(default=10_000, gt=0)
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

    # Language model
    LLM_MODEL: str | None = None
    OPENAI_API_KEY: str | None = None
    OPENAI_MODEL: str = "gpt-4o"
    USE_GEMINI: bool = False
    GOOGLE_API_KEY: str | None = None
    GEMINI_MODEL: str = "gemini-2.5-flash"
    LLM_TEMPERATURE: float = Field(default=0.2, ge=0.0, le=2.0)
    LLM_MAX_TOKENS: int = Field(default=4096, gt=0)

    # Observability
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["json", "console"] = "json"
    ENABLE_TRACING: bool = False

    # Server
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8080, ge=1, le=65535)

    @field_validator("ALLOWED_EXTENSIONS", mode="before")
    @classmethod
    def _split_extensions(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.replace(";", ",").split(",")
        if isinstance(value, (list, tuple, set, frozenset)):
            cleaned = {str(part).strip().lower().lstrip(".") for part in value}
            return frozenset(part for part in cleaned if part)
        return value

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
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Derived locations: the one place that knows the layout of DATA_DIR.
    @property
    def quarantine_dir(self) -> Path:
        return self.DATA_DIR / "quarantine"

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
    def session_db_uri(self) -> str:
        """Where ADK keeps sessions: SESSION_SERVICE_URI, or SQLite under DATA_DIR."""
        if self.SESSION_SERVICE_URI:
            return self.SESSION_SERVICE_URI
        return f"sqlite+aiosqlite:///{self.sessions_dir / 'sessions.db'}"

    def create_data_dirs(self) -> None:
        """Create every data directory with mode 0700 (and tighten existing ones)."""
        for directory in (
            self.DATA_DIR,
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


def describe_validation_error(error: ValidationError) -> str:
    """One message naming every bad variable and why, for a person reading a terminal."""
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        lines.append(f"  {name}: {item['msg']}")
    return "Invalid configuration:\n" + "\n".join(lines)


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError with every problem at once."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings. Tests change the environment and call `cache_clear()`."""
    return load_settings()
