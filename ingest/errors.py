"""Errors a user can act on. The command line prints their message as one line and exits 1."""

from __future__ import annotations


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
