"""Start the Streamlit server for ``kratom-evidence dashboard``: local by default, never phoning home."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_args(db: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   claims: Path | None = None) -> list[str]:
    """``streamlit run`` arguments: the address, no usage statistics, no browser; the database
    (and a claims file, if given) after ``--``."""
    return [
        "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",             # print the URL; never prompt or open a browser
        "--browser.gatherUsageStats", "false",   # never send usage statistics
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "viewer",        # no "Deploy" button: this is a reader's tool
        "--", "--db", str(db),
        *(["--claims", str(claims)] if claims is not None else []),
    ]


def serve(db: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, claims: Path | None = None) -> None:
    """Run the dashboard until interrupted (blocks)."""
    from streamlit import net_util
    from streamlit.web import cli as streamlit_cli

    # Bound to every interface (0.0.0.0) and headless, Streamlit asks checkip.amazonaws.com for the
    # machine's public address to print an "External URL". This tool makes no such request.
    if hasattr(net_util, "get_external_ip"):
        net_util.get_external_ip = lambda: None
    streamlit_cli.main(args=streamlit_args(db, host, port, claims), prog_name="streamlit")
