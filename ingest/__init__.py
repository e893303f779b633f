"""kratom-evidence: what the PubMed literature on kratom says, by study design and topic."""

import sys as _sys

__version__ = "0.1.0"


def _load_sqlite_utils() -> None:
    """Import sqlite-utils without pandas and numpy.

    sqlite-utils imports both whenever they are installed, only to map their value types
    (about 100 MB and a quarter of a second in every process: ingestion, tagging workers).
    This project never passes pandas or numpy values to it, so they are hidden while it
    loads; code that wants pandas (the dashboard, the exports) still imports it as usual.
    """
    if "sqlite_utils" in _sys.modules:
        return
    saved = {name: _sys.modules.get(name) for name in ("pandas", "numpy")}
    try:
        for name in saved:
            _sys.modules[name] = None  # "import pandas" now raises ImportError
        import sqlite_utils  # noqa: F401
    finally:
        for name, module in saved.items():
            if module is None:
                _sys.modules.pop(name, None)
            else:
                _sys.modules[name] = module


_load_sqlite_utils()
