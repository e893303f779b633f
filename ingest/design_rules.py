"""Study-design rules, as data. Each rule says which design it points to, how strongly, and why.

The tagger (ingest.design) reads only this module's tables. Weights share one scale: about 1
for a hint, 2 to 3 for a cue that usually decides, 5 and more for a cue that settles it.
Patterns run on lower-cased text in which "randomised" and "randomized" (and the like)
are both written; ``{TERM}`` placeholders are filled from :data:`TERMS`.

Sources: the definitions in TAXONOMY.md; NLM's publication type definitions
(https://www.nlm.nih.gov/mesh/pubtypes.html); the design headings of MeSH; and the PubMed
Clinical Queries and the Cochrane highly sensitive search strategy for RCTs, which use the
same words (randomized, placebo, double-blind, allocation).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- shared terms

TERMS = {
    # Who the study is about. An animal word in a randomisation sentence makes it preclinical.
    "ANIMAL": r"(?:mice|mouse|rats?|rodents?|zebrafish|larvae|animals|rabbits?|dogs?|monkeys?|"
              r"primates?|guinea pigs?|c57bl|sprague[- ]dawley|wistar|icr mice|balb/c|hamsters?|"
              r"drosophila|c\. elegans|piglets?|pups)",
    "HUMAN": r"(?:participants?|patients?|volunteers?|adults?|people|persons?|respondents?|users?|"
             r"subjects?|individuals?|men|women|veterans?|students?|clients?|children|adolescents?|"
             r"smokers|inpatients|outpatients|villagers|workers)",
    "NUMBER": r"(?:\d[\d,. ]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
              r"thirteen|fourteen|fifteen|sixteen|twenty[- ]?\w*|thirty[- ]?\w*|forty[- ]?\w*|"
              r"fifty[- ]?\w*|sixty[- ]?\w*|a hundred|hundreds of)",
    "RAND": r"randomi[sz]",
    "DB": r"(?:pubmed|medline|embase|scopus|web of science|cinahl|psycinfo|cochrane|google scholar|"
          r"lilacs|ovid|ebsco|proquest|science ?direct|thai ?jo|mycite|garuda)",
}

# Words around a design mention that make it a statement about the literature, not this
# study's method: "no randomized trials exist", "randomised trials are needed".
HEDGES = (
    r"\b(?:no|lack(?:ing|s)?|absence of|absent|without any|few|scarce|sparse|needed|warranted|"
    r"are required|is required|future|should|would|yet to|have not|has not|had not|none|"
    r"await(?:s|ed)?|calls? for|necessary|there are no|no published|unlike|rather than|"
    r"previous(?:ly)?|earlier|published|literature|reports? of|such as|including|consistently)\b"
)

# --------------------------------------------------------------------------- notices
# PubMed's own notice types settle the design whatever the text says: a correction or a
# retraction notice is not a study (TAXONOMY: other).
NOTICE_PUBTYPES = {
    "published erratum": "a published erratum (correction notice)",
    "retraction of publication": "a retraction notice",
    "expression of concern": "an expression of concern",
    "partial retraction": "a partial retraction notice",
}

# --------------------------------------------------------------------------- publication types
# (design, weight, why). Trusted in full on curated MEDLINE records; less on automated indexing
# and less again when the publisher supplied them (see PUBTYPE_TRUST). Known traps, which the
# text rules below are weighted to overcome: "Case Reports" on systematic reviews of case
# reports, "Randomized Controlled Trial" on secondary analyses, "Letter" on a case described in
# a letter, "Review" alone on a systematic review, "Clinical Trial" on observational work.
PUBTYPES = {
    "randomized controlled trial": ("randomized_trial", 3.5, "publication type 'Randomized Controlled Trial'"),
    "pragmatic clinical trial": ("randomized_trial", 2.5, "publication type 'Pragmatic Clinical Trial'"),
    "equivalence trial": ("randomized_trial", 2.0, "publication type 'Equivalence Trial'"),
    "clinical trial protocol": ("clinical_trial", 1.5, "publication type 'Clinical Trial Protocol'"),
    "clinical trial": ("clinical_trial", 2.5, "publication type 'Clinical Trial'"),
    "controlled clinical trial": ("clinical_trial", 2.5, "publication type 'Controlled Clinical Trial'"),
    "clinical trial, phase i": ("clinical_trial", 3.0, "publication type 'Clinical Trial, Phase I'"),
    "clinical trial, phase ii": ("clinical_trial", 2.5, "publication type 'Clinical Trial, Phase II'"),
    "clinical trial, phase iii": ("clinical_trial", 2.0, "publication type 'Clinical Trial, Phase III'"),
    "observational study": ("observational", 3.0, "publication type 'Observational Study'"),
    "case reports": ("case_report", 3.0, "publication type 'Case Reports'"),
    "systematic review": ("systematic_review", 4.0, "publication type 'Systematic Review'"),
    "meta-analysis": ("systematic_review", 4.0, "publication type 'Meta-Analysis'"),
    "network meta-analysis": ("systematic_review", 4.0, "publication type 'Network Meta-Analysis'"),
    "scoping review": ("systematic_review", 4.0, "publication type 'Scoping Review'"),
    "review": ("review", 2.5, "publication type 'Review'"),
    "editorial": ("commentary", 3.5, "publication type 'Editorial'"),
    "comment": ("commentary", 3.0, "publication type 'Comment'"),
    "letter": ("commentary", 1.5, "publication type 'Letter'"),  # also carries case reports in letter form
    "news": ("commentary", 4.0, "publication type 'News'"),
    "newspaper article": ("commentary", 4.0, "publication type 'Newspaper Article'"),
    "practice guideline": ("commentary", 4.0, "publication type 'Practice Guideline'"),
    "guideline": ("commentary", 4.0, "publication type 'Guideline'"),
    "consensus development conference": ("commentary", 3.0, "publication type 'Consensus Development Conference'"),
    "interview": ("commentary", 1.5, "publication type 'Interview'"),
    "randomized controlled trial, veterinary": ("preclinical", 4.0, "publication type 'Randomized Controlled Trial, Veterinary'"),
    "clinical trial, veterinary": ("preclinical", 4.0, "publication type 'Clinical Trial, Veterinary'"),
    "observational study, veterinary": ("preclinical", 4.0, "publication type 'Observational Study, Veterinary'"),
}

#: How far publication types are trusted: (citation status, indexing method) -> factor.
#: Curated MEDLINE indexing is the reference; automated indexing (since 2022) less so; types on
#: records outside MEDLINE were supplied by the publisher.
def pubtype_trust(status: str | None, method: str | None) -> tuple[float, str]:
    if status == "MEDLINE":
        if method == "Automated":
            return 0.85, "automated MEDLINE indexing"
        return 1.0, "MEDLINE-indexed"
    return 0.8, "supplied by the publisher"


# --------------------------------------------------------------------------- MeSH headings
# Indexers add design headings only to MEDLINE records. "X as Topic" headings say what a
# record is about (a review of trials), not its own design, so they are left out.
MESH = {
    "random allocation": ("randomized_trial", 1.5, "MeSH 'Random Allocation'"),
    "double-blind method": ("randomized_trial", 1.5, "MeSH 'Double-Blind Method'"),
    "single-blind method": ("randomized_trial", 1.0, "MeSH 'Single-Blind Method'"),
    "cross-over studies": ("randomized_trial", 1.0, "MeSH 'Cross-Over Studies'"),
    "placebos": ("randomized_trial", 1.0, "MeSH 'Placebos'"),
    "cohort studies": ("observational", 2.0, "MeSH 'Cohort Studies'"),
    "retrospective studies": ("observational", 2.0, "MeSH 'Retrospective Studies'"),
    "prospective studies": ("observational", 1.5, "MeSH 'Prospective Studies'"),
    "case-control studies": ("observational", 2.5, "MeSH 'Case-Control Studies'"),
    "poison control centers": ("observational", 2.0, "MeSH 'Poison Control Centers'"),
    "adverse drug reaction reporting systems": ("observational", 2.0, "MeSH 'Adverse Drug Reaction Reporting Systems'"),
    "pharmacovigilance": ("observational", 1.5, "MeSH 'Pharmacovigilance'"),
    "wastewater-based epidemiological monitoring": ("observational", 2.5, "MeSH 'Wastewater-Based Epidemiological Monitoring'"),
    "cross-sectional studies": ("survey", 1.0, "MeSH 'Cross-Sectional Studies'"),
    "surveys and questionnaires": ("survey", 1.5, "MeSH 'Surveys and Questionnaires'"),
    "health surveys": ("survey", 0.5, "MeSH 'Health Surveys'"),
    "qualitative research": ("qualitative", 3.0, "MeSH 'Qualitative Research'"),
    "focus groups": ("qualitative", 2.5, "MeSH 'Focus Groups'"),
    "interviews as topic": ("qualitative", 1.5, "MeSH 'Interviews as Topic'"),
    "grounded theory": ("qualitative", 2.0, "MeSH 'Grounded Theory'"),
    "animals": ("preclinical", 1.5, "MeSH 'Animals'"),
    "mice": ("preclinical", 2.0, "MeSH 'Mice'"),
    "rats": ("preclinical", 2.0, "MeSH 'Rats'"),
    "rats, sprague-dawley": ("preclinical", 2.0, "MeSH 'Rats, Sprague-Dawley'"),
    "rats, wistar": ("preclinical", 2.0, "MeSH 'Rats, Wistar'"),
    "zebrafish": ("preclinical", 2.0, "MeSH 'Zebrafish'"),
    "disease models, animal": ("preclinical", 2.0, "MeSH 'Disease Models, Animal'"),
    "microsomes, liver": ("preclinical", 2.5, "MeSH 'Microsomes, Liver'"),
    "cell line": ("preclinical", 2.0, "MeSH 'Cell Line'"),
    "hep g2 cells": ("preclinical", 2.0, "MeSH 'Hep G2 Cells'"),
    "hek293 cells": ("preclinical", 2.0, "MeSH 'HEK293 Cells'"),
    "in vitro techniques": ("preclinical", 2.0, "MeSH 'In Vitro Techniques'"),
    "radioligand assay": ("preclinical", 2.0, "MeSH 'Radioligand Assay'"),
    "chromatography, liquid": ("analytical", 1.5, "MeSH 'Chromatography, Liquid'"),
    "chromatography, high pressure liquid": ("analytical", 1.5, "MeSH 'Chromatography, High Pressure Liquid'"),
    "tandem mass spectrometry": ("analytical", 1.5, "MeSH 'Tandem Mass Spectrometry'"),
    "gas chromatography-mass spectrometry": ("analytical", 1.5, "MeSH 'Gas Chromatography-Mass Spectrometry'"),
    "drug contamination": ("analytical", 2.0, "MeSH 'Drug Contamination'"),
    "metals, heavy": ("analytical", 1.5, "MeSH 'Metals, Heavy'"),
    "dna barcoding, taxonomic": ("analytical", 2.5, "MeSH 'DNA Barcoding, Taxonomic'"),
    "limit of detection": ("analytical", 2.0, "MeSH 'Limit of Detection'"),
    "magnetic resonance spectroscopy": ("analytical", 1.5, "MeSH 'Magnetic Resonance Spectroscopy'"),
    "bibliometrics": ("other", 4.0, "MeSH 'Bibliometrics'"),
}

# --------------------------------------------------------------------------- text cues
# (design, weight, where, pattern, why). where: "title", "abstract" or "text" (both; a title
# match counts 1.5 times). "why" completes "the {title|abstract} says ...".
# Cues marked human=True count only in sentences that are not about animals; hedge=True cues
# are dropped in sentences that speak of the design as missing, needed or past literature.
TEXT_CUES = [
    # randomized_trial: people assigned to arms at random, and protocols of such trials
    ("randomized_trial", 4.0, "text", r"\b{RAND}ed\b[^.;]{0,60}?\b(?:trial|study|design|comparison|experiment)\b", "a randomized trial", {"human": True, "hedge": True}),
    ("randomized_trial", 3.5, "text", r"\b(?:cluster|pilot|feasibility)[- ]{RAND}ed\b", "a cluster or pilot randomized trial", {"human": True, "hedge": True}),
    ("randomized_trial", 3.5, "abstract", r"\b(?:were|was|are|being|been|will be|to be) (?:{RAND}ed|randomly (?:assigned|allocated|selected to receive))\b", "people randomly assigned to arms", {"human": True, "statement": True}),
    ("randomized_trial", 2.5, "abstract", r"\b{RAND}(?:ed|ation)\b[^.]{0,60}\b(?:to|into|between) (?:receive|either|one of|two|three|four|placebo|the|a|an|kratom|mitragynine|buprenorphine|arms?|groups?)\b", "randomization to arms", {"human": True, "hedge": True}),
    ("randomized_trial", 2.5, "text", r"\b(?:double|triple|single)[- ]blind(?:ed)?\b", "blinding (double- or single-blind)", {"human": True, "hedge": True}),
    ("randomized_trial", 2.0, "text", r"\bplacebo[- ]controlled\b", "a placebo-controlled design", {"human": True, "hedge": True}),
    ("randomized_trial", 1.5, "abstract", r"\b(?:allocation concealment|block {RAND}ation|stratified {RAND}ation|{RAND}ation sequence|computer-generated (?:random|sequence)|intention[- ]to[- ]treat)\b", "randomization procedures (allocation, intention-to-treat)", {"human": True}),
    ("randomized_trial", 1.5, "text", r"\b(?:nct\d{8}|isrctn\d+|actrn\d+|ctri/\d|nmrr-\d|tctr\d+|drks\d+|chictr)", "a trial registration number", {}),
    ("randomized_trial", 1.0, "abstract", r"\b(?:placebo|sham)\b", "a placebo or sham arm", {"human": True, "hedge": True}),
    ("randomized_trial", 2.0, "abstract", r"\bcross[- ]?over\b[^.]{0,40}\b(?:design|trial|study|sessions?|order)\b", "a crossover design", {"human": True, "hedge": True}),
    # clinical_trial: people given a product without randomisation
    ("clinical_trial", 3.5, "text", r"\bopen[- ]label\b", "an open-label design", {"hedge": True}),
    ("clinical_trial", 3.5, "text", r"\bsingle[- ]arm\b", "a single-arm design", {"hedge": True}),
    ("clinical_trial", 3.5, "text", r"\b(?:dose[- ]escalation|ascending[- ]dose|single ascending|multiple ascending|ascending (?:single |oral )?doses?)\b", "a dose-escalation design", {"hedge": True}),
    ("clinical_trial", 3.0, "text", r"\bphase (?:1|i|2a|ii|1b)\b(?!i)", "a phase I/II trial", {"hedge": True}),
    ("clinical_trial", 3.0, "text", r"\bhealthy (?:adult |male |female |human )?(?:volunteers?|adults?|participants?|subjects?|men|women)\b", "dosing of healthy volunteers", {"hedge": True}),
    ("clinical_trial", 3.0, "text", r"\b(?:within[- ]subjects?|human laboratory|controlled dosing|dosing sessions?|laboratory sessions?)\b", "a within-subject laboratory dosing study", {"hedge": True}),
    ("clinical_trial", 2.5, "text", r"\bpharmacokinetic(?:s| parameters| profiles?| study)?\b[^.]{0,80}\b(?:volunteers?|participants?|adults?|humans?|subjects?|users?|drinkers|chewers|men|women|patients)\b", "human pharmacokinetics", {"hedge": True}),
    ("clinical_trial", 2.0, "abstract", r"\b(?:received|were given|ingested|consumed|took|administered)\b[^.]{0,60}\b(?:single|oral|fixed|standardi[sz]ed|ascending|repeated)\b[^.]{0,20}\bdoses?\b", "participants given fixed doses", {"human": True}),
    ("clinical_trial", 2.0, "text", r"\b(?:non-?{RAND}ed|uncontrolled|pre[- ]?post|before[- ]and[- ]after) (?:trial|study|pilot|design)\b", "a non-randomized intervention study", {}),
    ("clinical_trial", 1.5, "text", r"\b(?:pilot|feasibility) (?:study|trial)\b", "a pilot intervention study", {"hedge": True}),
    ("clinical_trial", 1.5, "abstract", r"\b(?:enrolled|were treated with|underwent (?:a )?(?:taper|induction))\b", "participants enrolled and treated", {"human": True}),
    ("clinical_trial", 1.5, "abstract", r"\b(?:cmax|tmax|auc|half-life|area under the curve|clearance|plasma concentrations?)\b", "measures of human drug exposure (Cmax, AUC)", {"human": True}),
    # observational: data the authors observed or collected from records, registries, others' surveys
    ("observational", 4.0, "text", r"\b(?:secondary|post[- ]hoc|exploratory|ancillary) analys[ie]s\b[^.]{0,80}\b(?:trial|rct|study data)\b", "a secondary analysis of trial data", {}),
    ("observational", 3.5, "text", r"\b(?:retrospective(?:ly)?|prospective) (?:cohort|chart|record|review|study|analysis|case series|observational)\b", "a retrospective or prospective cohort", {}),
    ("observational", 3.5, "text", r"\b(?:cohort study|case[- ]control|nested case|matched (?:cohort|controls?)|population[- ]based (?:cohort|study|analysis))\b", "a cohort or case-control design", {"hedge": True}),
    ("observational", 3.5, "text", r"\b(?:chart|medical records?|health records?|record) (?:review|abstraction|audit)\b|\breview of (?:medical |electronic |hospital |health )?(?:records|charts)\b", "a review of medical records", {}),
    ("observational", 3.5, "text", r"\b(?:poison (?:control )?(?:cent(?:er|re)s?|information cent(?:er|re)s?)|national poison data system|npds|toxic exposure surveillance)\b", "poison-centre data", {"hedge": True}),
    ("observational", 3.5, "text", r"\b(?:faers|adverse event reporting system|pharmacovigilance|disproportionality|spontaneous reports?|vigibase|yellow card|caers)\b", "pharmacovigilance reports", {"hedge": True}),
    ("observational", 3.5, "text", r"\b(?:medical examiners?|coroners?|medicolegal|death investigations?|death certificates?|decedents?)\b", "medical-examiner or death records", {"hedge": True}),
    ("observational", 4.0, "text", r"\b(?:nsduh|national survey on drug use and health|monitoring the future|nhanes|brfss|youth risk behavior|national health interview survey|global drug survey data|national survey (?:data|estimates|waves?|years)|existing survey data|survey data from|(?:data from|analysis of|analy[sz]ed data from|used data from|secondary analysis of|analyses of) (?:the |two |three |successive |repeated )?(?:\d{4}(?:(?:,| and|-|–)\s?\d{4})* )?(?:rounds?|waves?|cycles?|editions?)?\s?(?:of )?(?:the )?(?:\d{4} )?(?:national|nationwide|household|nationally representative|population[- ]based|statewide|state|federal|annual|biennial|youth|school)\b[\w ,-]{0,60}?\bsurveys?)\b", "analysis of existing national survey data", {}),
    ("observational", 3.5, "text", r"\b(?:wastewater|sewage|sales data|retail sales|scanner data|prescription data|claims data|insurance claims|electronic health records?|registry|registries|interrupted time series|time[- ]series analysis|surveillance data|google trends)\b", "wastewater, sales, registry or claims data", {"hedge": True}),
    ("observational", 2.0, "abstract", r"\b(?:we (?:analy[sz]ed|examined|reviewed|identified|extracted|used) (?:data|records|cases|reports|charts)|data were (?:obtained|extracted|drawn) from|were identified (?:from|through|in) (?:the|a))\b", "the authors analysed existing records", {"statement": True}),
    ("observational", 2.0, "abstract", r"\b(?:odds ratios?|hazard ratios?|adjusted (?:odds|risk|prevalence)|incidence|follow[- ]up of|followed (?:up )?for|over (?:a|the) (?:\d+|one|two|three)[- ](?:year|month))\b", "observational measures (odds ratios, follow-up)", {"human": True, "hedge": True}),
    ("observational", 1.5, "title", r"\b\d{4}\s?[-–]\s?\d{4}\b", "a span of calendar years in the title", {}),
    # survey: the authors asked people questions themselves
    ("survey", 4.0, "text", r"\b(?:online|web[- ]based|internet|anonymous|cross[- ]sectional|national|statewide|nationwide|postal|telephone|mail(?:ed)?|electronic|panel|community[- ]based|household|school[- ]based|self[- ]administered|paper[- ]based|multisite|structured) (?:surveys?|questionnaires?)\b", "an online or cross-sectional survey", {"hedge": True}),
    ("survey", 3.5, "abstract", r"\b(?:we (?:surveyed|administered|distributed|fielded|conducted|designed|developed|deployed|circulated)|were (?:surveyed|invited to (?:complete|participate|take))|completed (?:an?|the) (?:online |anonymous |self-administered |web-based |brief )?(?:survey|questionnaire)|(?:survey|questionnaire) was (?:administered|distributed|fielded|sent|emailed|posted|circulated|completed|conducted|disseminated))\b", "the authors ran a questionnaire", {"statement": True}),
    ("survey", 3.0, "text", r"\bsurvey of\b[^.]{0,80}\b(?:users|clinicians|physicians|pharmacists|nurses|providers|students|adults|consumers|residents|veterans|patients|farmers|members|women|people|practitioners|prescribers|professionals)\b", "a survey of a group of people", {"hedge": True}),
    ("survey", 2.5, "abstract", r"\b(?:respondents?|self[- ]reported|self[- ]report|response rate|likert|responded)\b", "respondents and self-report", {"hedge": True}),
    ("survey", 2.5, "text", r"\bquestionnaires?\b", "a questionnaire", {"hedge": True}),
    ("survey", 2.0, "text", r"\b(?:knowledge, attitudes? and (?:practices?|perceptions?)|kap survey|knowledge and attitudes)\b", "a knowledge-attitudes-practice survey", {}),
    ("survey", 2.0, "title", r"\b(?:survey|cross[- ]sectional (?:study|analysis))\b", "a survey in the title", {"hedge": True}),
    ("survey", 1.0, "abstract", r"\bsurvey\b", "a survey", {"hedge": True}),
    ("survey", 1.0, "abstract", r"\bcross[- ]sectional\b", "a cross-sectional design", {"hedge": True}),
    # qualitative: people's own accounts, analysed for themes
    ("qualitative", 4.0, "text", r"\b(?:semi[- ]structured|in[- ]depth|qualitative|key[- ]informant|narrative|life[- ]history|ethnographic) interviews?\b", "semi-structured or in-depth interviews", {"hedge": True}),
    ("qualitative", 4.0, "text", r"\bfocus[- ]groups?\b", "focus groups", {"hedge": True}),
    ("qualitative", 3.5, "text", r"\b(?:thematic(?:ally)?|reflexive thematic|framework|interpretative phenomenological|grounded theory|qualitative content|inductive|constant comparative) (?:analys[ie]s|analy[sz]ed|approach|method)\b|\banaly[sz]ed thematically\b", "a thematic or qualitative analysis", {"hedge": True}),
    ("qualitative", 3.0, "text", r"\b(?:qualitative (?:study|research|design|analysis|inquiry|exploration|approach|descriptive)|ethnograph(?:y|ic)|phenomenolog(?:y|ical)|participant observation)\b", "a qualitative study", {"hedge": True}),
    ("qualitative", 3.0, "text", r"\b(?:reddit|subreddits?|online forums?|discussion forums?|forum posts?|posts? (?:on|from|to) (?:online|internet|social media|reddit|forums?)|threads|youtube videos?|tiktok|social media posts)\b", "online forum posts analysed", {"hedge": True}),
    ("qualitative", 2.0, "abstract", r"\b(?:themes?|subthemes?|narratives|lived experiences?|their (?:own )?words|accounts of|saturation)\b", "themes from people's accounts", {}),
    ("qualitative", 1.5, "abstract", r"\binterview(?:s|ed|ees)?\b", "interviews", {"hedge": True}),
    # case_report: one patient, or a handful, described clinically
    ("case_report", 4.5, "abstract", r"\b(?:a|an|one|this|our) (?:previously healthy |healthy |otherwise healthy )?\d{1,3}[- ](?:year|month|week|day)[- ]old\b", "a patient's age ('a 34-year-old...')", {}),
    ("case_report", 4.0, "text", r"\b(?:we|here we|this report|this case|the authors?) (?:report|describe|present|discuss)s? (?:a|an|the|two|three|four|five|six|\d) (?:\w+ )?(?:case|cases|patients?|man|woman|men|women|infants?|neonates?|newborns?|adolescents?|boy|girl|fatal|fatality|death|deaths|unusual|rare|series|instance)\b", "'we report/describe' a case", {"statement": True}),
    ("case_report", 3.0, "title", r"\b(?:two|three|four|five|six|\d) (?:cases|patients|siblings|infants|neonates)\b|\bcase(?:s)? (?:and|with) (?:a )?(?:review|lessons)", "a handful of cases in the title", {}),
    ("case_report", 2.5, "title", r"^(?!.*\b(?:survey|cohort|review|trial|study|analysis|exposures|reports|data|among|users|mice|rats|cells)\b).*\b(?:toxicity|psychosis|hepatitis|liver injury|cholestasis|jaundice|seizures?|withdrawal|syndrome|overdose|death|fatality|intoxication|poisoning|arrest|failure|injury|rhabdomyolysis|hypothyroidism|delirium|coma|mania|abstinence)\b.*\b(?:after|following|associated with|due to|induced by|from|in a|in an|with)\b", "a clinical event in the title", {}),
    ("case_report", 4.0, "text", r"\bcase (?:report|series|study of a|presentation|description)\b|\b(?:a|an) (?:unusual |rare |fatal )?case of\b", "a case report or case series", {"hedge": True}),
    ("case_report", 3.0, "abstract", r"\b(?:presented (?:to|with|at)|was admitted|was brought|was found (?:dead|unresponsive)|was transferred|was discharged|on admission|on examination|physical examination|his (?:urine|serum|blood)|her (?:urine|serum|blood))\b", "a clinical presentation", {}),
    ("case_report", 2.5, "title", r"\b(?:in a|in an|in two|in three|in four|in a previously healthy|in an infant|in a neonate|in a young|in a patient|in a man|in a woman|after kratom use in a|associated with kratom use in a)\b(?! (?:cohort|population|sample|series of \d{2,}))", "one patient named in the title", {}),
    ("case_report", 1.0, "abstract", r"\b(?:he|she)\b", "a single patient ('he', 'she')", {}),
    # systematic_review: a stated search of databases
    ("systematic_review", 6.0, "text", r"\b(?:systematic(?:ally)? (?:review|search|literature review|reviewed)|meta[- ]analys[ie]s|meta[- ]analytic|scoping review|umbrella review|rapid review|mapping review|evidence map|pooled analysis of (?:published|\d+ studies))\b", "a systematic review, meta-analysis or scoping review", {"hedge": True}),
    ("systematic_review", 4.0, "abstract", r"\b(?:prisma|prospero|joanna briggs|jbi|grade approach|newcastle[- ]ottawa|risk of bias|random[- ]effects|heterogeneity \(i|i2|i\^2|pooled (?:prevalence|estimate|odds|effect))\b", "review methods (PRISMA, risk of bias, pooling)", {}),
    ("systematic_review", 4.0, "abstract", r"\b(?:searched|search of|searches of|search(?:ing)? in)\b[^.]{0,80}\b{DB}\b", "databases searched", {"statement": True}),
    ("systematic_review", 2.5, "abstract", r"\b(?:records? (?:were )?(?:screened|identified)|studies (?:met|were included|were eligible)|(?:inclusion|eligibility) criteria|included (?:studies|articles|reports|records))\b", "screening and inclusion of studies", {}),
    # review: narrative reviews, overviews, chapters
    ("review", 3.5, "title", r"(?<!retrospective )(?<!chart )(?<!record )(?<!records )(?<!case )(?<!file )(?<!-year )\b(?:(?:narrative|literature|critical|clinical|comprehensive|brief|mini[- ]?)?review|overview|current perspectives?|primer|state of the (?:art|science))\b(?! of (?:\w+ ){0,2}(?:medical|hospital|health|patient|case|cases|emergency|ed|records|charts|autopsy|autopsies|examiner|poison|deaths|admissions|presentations|visits|files|reports))", "a review or overview in the title", {"hedge": True}),
    ("review", 2.0, "title", r"\b(?:update|perspectives?|what (?:do )?(?:we|clinicians|physicians) (?:\w+ )?(?:know|need to know)|a guide|an introduction|lessons|from \w+ to \w+)\b", "an overview-style title", {}),
    ("review", 5.0, "abstract", r"\b(?:this|the present|our|in this) (?:narrative |brief |critical |clinical |comprehensive |mini[- ]?|updated |short |selective )?(?:review|overview|chapter|article reviews|paper reviews)\b", "'this review' or 'this chapter'", {"statement": True}),
    ("review", 4.0, "abstract", r"\b(?:we|this article|this paper|the authors?) (?:review|summari[sz]e|overview|synthesi[sz]e|appraise)s? (?:the |current |existing |available |recent |what is known|evidence|knowledge|literature|research|pharmacology|chemistry|clinical|the clinical|its|key)\b", "'we review/summarise the literature'", {"statement": True}),
    ("review", 2.0, "text", r"\b(?:narrative review|literature review|review of the literature|current (?:evidence|knowledge|understanding|literature)|state of knowledge|critical review|clinical review|we review)\b", "a narrative literature review", {}),
    ("review", 1.0, "abstract", r"\b(?:literature|published (?:studies|evidence|data|reports))\b", "the published literature", {}),
    # preclinical: animals and in vitro work
    ("preclinical", 4.0, "text", r"\b(?:in mice|in rats|in rodents|in zebrafish|mouse model|rat model|animal model|rodent model|c57bl/?6j?|sprague[- ]dawley|wistar rats|icr mice|swiss albino|balb/c)\b", "animal experiments (mice, rats, zebrafish)", {}),
    ("preclinical", 3.5, "text", r"\b(?:in vitro|cell lines?|cultured (?:cells|hepatocytes|neurons)|hepg2|hek[- ]?293|cho[- ]k1|cho cells|sh-sy5y|caco-2|hepatocytes|human liver microsomes|liver microsomes|microsomal|recombinant (?:cyp|enzymes?|human)|radioligand|binding assays?|binding affinit(?:y|ies)|receptor binding|organ bath|isolated (?:ileum|tissue|heart|aorta)|electrophysiolog|patch[- ]clamp|ex vivo)\b", "in vitro work (cells, microsomes, receptor binding)", {}),
    ("preclinical", 3.0, "abstract", r"\b(?:mice|rats|zebrafish|rodents|larvae|animals) (?:were|received|was|treated|given|exposed|injected|dosed|pretreated|trained)\b", "animals dosed and observed", {}),
    ("preclinical", 2.5, "abstract", r"\b(?:intraperitoneal(?:ly)?|i\.p\.|mg/kg|tail[- ]flick|hot[- ]plate|conditioned place preference|self-administration|forced swim|elevated plus maze|open[- ]field|ld50|lethal dose|vehicle[- ]treated|ic50|ec50|ki values?|\bki\b|emax)\b", "laboratory measures (mg/kg, IC50, hot-plate)", {}),
    ("preclinical", 1.5, "text", r"\b{ANIMAL}\b", "animals", {"hedge": True}),
    # analytical: chemistry, detection methods, product testing
    ("analytical", 3.5, "text", r"\b(?:lc[- ]?ms(?:/ms)?|uhplc|uplc|hplc|gc[- ]?ms|lc[- ]?qtof|q[- ]?tof|hrms|high[- ]resolution mass spectrometry|tandem mass spectrometry|mass spectrometr(?:y|ic)|nmr|icp[- ]?ms|icp[- ]?oes|atomic absorption|ftir|raman|tlc|hptlc|near[- ]infrared|capillary electrophoresis|dna barcoding|its2|metabarcoding)\b", "an analytical chemistry method (LC-MS/MS, HPLC, NMR)", {}),
    ("analytical", 3.5, "text", r"\b(?:(?:measured|quantified|determined|analy[sz]ed|compared|profiled|characteri[sz]ed|assayed|varied|ranged|differed)\b[^.]{0,60}\b(?:alkaloid|mitragynine|7-hydroxymitragynine) (?:content|profiles?|composition|concentrations?|levels)|(?:alkaloid|mitragynine) (?:content|concentrations?|profiles?) (?:of|in|across|among) (?:the )?(?:\d+|samples|products|leaves|extracts|powders|batches|accessions|commercial|retail)|chemical (?:profiling|composition of|constituents of|characteri[sz]ation)|phytochemical (?:analysis|investigation|profil\w+|screening)|quantif(?:y|ied|ication) of (?:mitragynine|alkaloids?|7-hydroxy\w*)|isolat(?:ed|ion) of (?:new |novel |minor |\w+ )?(?:alkaloids?|compounds?|constituents?))", "alkaloid content or chemical profile measured", {}),
    ("analytical", 3.0, "text", r"\b(?:products? (?:were |was )?(?:purchased|bought|obtained|collected|sampled|tested|analy[sz]ed|screened)|(?:\d+|commercial|retail|marketed) (?:kratom )?(?:products?|samples?) (?:were|was|purchased|bought|from|obtained|collected)|samples? (?:were |was )?(?:purchased|bought|tested|analy[sz]ed|screened)|we (?:tested|analy[sz]ed|screened|purchased) \w*)\b", "products bought and tested", {}),
    ("analytical", 3.0, "text", r"\b(?:detect\w*|test\w*|screen\w*|analy[sz]\w*|quantif\w*|measur\w*|exceed\w*|positive for|cultured?|concentrations? of|levels of)\b[^.]{0,70}\b(?:heavy metals?|lead|cadmium|nickel|arsenic|mercury|salmonella|microbial|bacterial|fungal|mycotoxins?|pesticides?|adulterants?|undeclared|synthetic opioids?|o-desmethyltramadol)\b|\b(?:heavy metals?|lead|cadmium|nickel|arsenic|mercury|salmonella|adulterants?|undeclared \w+)\b[^.]{0,40}\b(?:were|was) (?:detected|found|present|measured|quantified|identified)\b", "contamination or adulteration measured", {"hedge": True}),
    ("analytical", 3.0, "text", r"\b(?:(?:salmonella|bacterial|microbial|clinical) isolates|whole[- ]genome sequencing|serotyp\w+|pulsed[- ]field gel|antimicrobial resistance genes)\b", "microbiological testing of isolates", {}),
    ("analytical", 3.0, "abstract", r"\b(?:limits? of (?:detection|quantification|quantitation)|lod|loq|linearity|linear range|calibration|validated (?:method|assay)|method (?:was )?validat|matrix effects?|recovery (?:of|was|ranged)|precision and accuracy|accuracy and precision|internal standard)\b", "method validation (LOD, linearity, recovery)", {}),
    # commentary: opinion, news, guidance
    ("commentary", 5.0, "abstract", r"\b(?:this (?:commentary|editorial|viewpoint|letter|essay|comment|piece)|in this (?:commentary|editorial|viewpoint|essay|letter)|we argue|i argue|we contend|we call (?:for|on)|we urge|the authors? argues?)\b", "'in this commentary, we argue'", {"statement": True}),
    ("commentary", 3.0, "text", r"\b(?:position statement|consensus statement|consensus guideline|practice guideline|clinical guidance|recommendations for|guidance for clinicians|policy brief|policy statement|call to action|expert consensus|delphi)\b", "a guideline or position statement", {}),
    ("commentary", 4.0, "text", r"\b(?:in this issue|the (?:recent|accompanying) (?:trial|study|report)|(?:trial|study|report|paper|article|analysis) by \w+(?: \w+)? (?:and colleagues|et al)|\w+ (?:and colleagues|et al\.?) (?:report|describe|found|present|show|conclude)|the authors (?:report|found|conclude)|reading a .{0,30}carefully|a (?:small|recent) trial (?:with|of|by))\b", "comments on someone else's study", {"statement": True}),
    ("commentary", 3.0, "text", r"\b(?:urges? caution|we welcome|welcome the|worth (?:having|questioning|reading|watching)|the obvious next step|not a licen[cs]e|a small step|should not be (?:read|taken|interpreted)|caution in interpreting|interpret(?:ed|ing)? (?:it |them )?with caution|over-?interpret\w*|a result worth|promising signal)\b", "an appraisal of someone else's result", {}),
    ("commentary", 2.0, "text", r"\b(?:should|must|ought to|need(?:s)? to|it is time|policymakers|regulators should|lawmakers)\b", "an argument for what should be done", {}),
    ("commentary", 2.0, "title", r"\b(?:the case (?:for|against)|a case for|cannot tell us|time to|a call (?:for|to)|why we|we need|needs? (?:evidence|regulation|standards|rules)|the limits of|not alarm|(?:fda|dea|cdc|who|government|ministry|regulators?) (?:warns?|links?|renews?|issues?|announces?|moves?|proposes?|seizes?|bans?|schedules?|plans?|presses))\b", "an opinion or news headline", {}),
    # other: not a study of the kinds above
    ("other", 5.0, "text", r"\b(?:bibliometric|scientometric|citation analysis|co-?authorship network|publication trends|research output)\b", "a bibliometric analysis", {}),
    ("other", 4.0, "text", r"\b(?:cultivation (?:practices|conditions|trials?|systems?)|agronom\w*|fertili[sz]ation|nitrogen fertili[sz]\w*|seedlings?|tree nursery|shade (?:levels?|treatments?)|leaf yield|greenhouse|propagation|stem cuttings|tissue culture|germination|plant growth)\b", "cultivation and agronomy", {}),
    ("other", 3.5, "text", r"\b(?:genetic diversity|chloroplast genome|population genetics|accessions|phylogen\w*|microsatellite|ssr markers|(?:plant|leaf|mitragyna|speciosa|kratom) (?:genome|transcriptome)|genome assembly)\b", "plant genetics", {}),
    ("other", 3.5, "text", r"\b(?:market (?:analysis|prices?|value|size|chain)|value chain|export (?:volumes?|earnings|market)|economic (?:analysis|impact|value)|farm[- ]gate prices?|trade (?:data|flows?|volumes?))\b", "a market or economic analysis", {}),
    ("other", 5.0, "text", r"\b(?:this article has been retracted|retraction notice|is retracted|has been withdrawn at the request|erratum|corrigendum|correction to|notice of retraction)\b", "a correction or retraction notice", {}),
]

# --------------------------------------------------------------------------- overrides
# Situations where one reading must win over cues that point elsewhere: (name, design,
# condition, designs it silences, why). Conditions are evaluated by the tagger.
OVERRIDES = [
    # (condition, design, designs it silences, factor kept, why)
    ("notice", "other", ("randomized_trial", "clinical_trial", "observational", "survey", "qualitative",
                         "case_report", "systematic_review", "review", "preclinical", "analytical", "commentary"), 0.1,
     "a correction or retraction notice is not a study"),
    ("secondary_analysis", "observational", ("randomized_trial", "clinical_trial"), 0.25,
     "a secondary analysis of trial data is observational, not a trial"),
    ("systematic_search", "systematic_review", ("case_report", "review", "observational", "survey", "preclinical", "commentary"), 0.25,
     "a stated search of the literature makes it a systematic review, whatever studies it collects"),
    ("animal_randomisation", "preclinical", ("randomized_trial", "clinical_trial"), 0.25,
     "the animals, not people, were randomly assigned"),
    ("existing_survey_data", "observational", ("survey",), 0.25,
     "the authors analysed survey data someone else collected"),
    ("human_dosing", "clinical_trial", ("analytical",), 0.3,
     "people were given doses and measured: the assay is the study's tool, not its design"),
    ("no_randomisation", "clinical_trial", ("randomized_trial",), 0.0,
     "blinded or placebo-controlled, but nothing says people were randomised: a non-randomized trial"),
    ("review_statement", "review", ("preclinical", "analytical", "survey", "observational", "case_report",
                                     "randomized_trial", "clinical_trial", "qualitative"), 0.4,
     "the authors say they review the literature, whose studies they mention"),
    ("commentary_statement", "commentary", ("preclinical", "analytical", "survey", "observational", "case_report",
                                             "randomized_trial", "clinical_trial", "qualitative", "review"), 0.4,
     "the authors say it is a commentary on others' work"),
]

#: The lowest winning score at which a design is assigned; below it the record is "other".
MIN_SCORE = 2.0
