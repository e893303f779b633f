"""Errors a user can act on. The command line prints their message as one line and exits 1."""

from __future__ import annotations

import tomllib
from pathlib import Path


class EvidenceError(Exception):
    """Base class: the message is complete, names what failed, and says what to do."""


class StoreError(EvidenceError):
    """The database cannot be opened, is locked, or is not one of ours."""


class SchemaError(StoreError):
    """The database was written by an older or newer version of the tool."""


class LockTimeout(StoreError):
    """Another ingestion holds the write lock."""


class ConfigError(EvidenceError):
    """A setting (environment variable, option, config file) is missing or wrong."""


def read_toml(path: Path, what: str, error: type[EvidenceError] = ConfigError) -> dict:
    """A user's TOML file, or ``error`` with a one-line message naming ``what`` and the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{what} {path}: {exc}") from exc
