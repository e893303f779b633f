"""The codes the project stores, exports and shows (the contract of TAXONOMY.md).

Study designs are listed from strongest to weakest human evidence, the order TAXONOMY.md
gives; the dashboard's evidence pyramid and "strongest design present" follow it. The stored
codes never change; the labels are what people read.
"""

from __future__ import annotations

DESIGNS: dict[str, str] = {
    "randomized_trial": "Randomized trial",
    "clinical_trial": "Non-randomized clinical trial",
    "observational": "Observational study",
    "survey": "Survey",
    "qualitative": "Qualitative study",
    "case_report": "Case report or series",
    "systematic_review": "Systematic review",
    "review": "Narrative review",
    "preclinical": "Preclinical (animal, in vitro)",
    "analytical": "Analytical chemistry",
    "commentary": "Commentary",
    "other": "Other",
}
DESIGN_CODES: tuple[str, ...] = tuple(DESIGNS)

#: Designs whose records report on human participants of their own (sample sizes count here).
HUMAN_DESIGNS: frozenset[str] = frozenset(
    {"randomized_trial", "clinical_trial", "observational", "survey", "qualitative", "case_report"}
)

TOPICS: dict[str, str] = {
    "pain": "Pain",
    "opioid_withdrawal": "Opioid withdrawal and OUD",
    "dependence": "Dependence and kratom withdrawal",
    "energy_focus": "Energy and focus",
    "mood_anxiety": "Mood and anxiety",
    "liver_injury": "Liver injury",
    "adverse_effects": "Other adverse effects",
    "deaths_overdose": "Deaths and overdose",
    "drug_interactions": "Drug interactions",
    "pharmacology": "Pharmacology",
    "product_quality": "Product quality",
    "regulation_policy": "Regulation and policy",
    "pregnancy_neonatal": "Pregnancy and neonates",
    "traditional_use": "Traditional use",
    "epidemiology": "Epidemiology",
}
TOPIC_CODES: tuple[str, ...] = tuple(TOPICS)


def design_rank(code: str | None) -> int:
    """Position in evidence order (0 is strongest); unknown or missing codes sort last."""
    try:
        return DESIGN_CODES.index(code)  # type: ignore[arg-type]
    except ValueError:
        return len(DESIGN_CODES)
