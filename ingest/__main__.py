"""python -m ingest: the same command line as kratom-evidence."""

from .cli import main

main()
