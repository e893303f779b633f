"""kratom-evidence: what the PubMed literature on kratom says, by study design and topic."""

__version__ = "0.1.0"
