"""Shared test fixtures. Nothing here reaches the internet."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Refuse any connection that is not to this machine: a test must never reach the internet."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise OSError(f"test tried to reach {host}: tests must stay offline")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.delenv("EVIDENCE_DB", raising=False)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "evidence.db"


class Invoker:
    """Runs the real command line in-process and keeps stdout and stderr apart."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.runner = CliRunner()

    def __call__(self, *args: str | os.PathLike, db: bool = True, input: str | None = None):
        argv = [str(a) for a in args]
        if db:
            argv += ["--db", str(self.db_path)]
        return self.runner.invoke(cli, argv, input=input, catch_exceptions=False)


@pytest.fixture
def run_cli(db_path) -> Invoker:
    return Invoker(db_path)
