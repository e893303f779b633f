"""The parsers on the project's own fixtures: one per format and edge case."""

from __future__ import annotations

import gzip

import pytest

from ingest.dates import parse_free_date
from ingest.record import Article, Deletion, RecordError
from ingest.sources import SourceError, read_file


def one(path) -> Article:
    records = [r for r in read_file(path) if isinstance(r, Article)]
    assert len(records) == 1, records
    return records[0]


def test_structured_abstract_keeps_sections_and_labels(fixtures):
    a = one(fixtures / "xml/structured_abstract.xml")
    assert a.pmid == 99000101
    assert [s["label"] for s in a.abstract_sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert a.abstract_sections[1] == {
        "label": "METHODS", "category": "METHODS",
        "text": "Twenty-four adults were randomly assigned to kratom tea or placebo in a crossover design.",
    }
    assert a.abstract.startswith("BACKGROUND: People use kratom leaf")
    assert "\n\nMETHODS: Twenty-four adults" in a.abstract
    assert "Synthetic fixture" not in a.abstract  # CopyrightInformation is not abstract text


def test_journal_identifiers_and_indexing_fields(fixtures):
    a = one(fixtures / "xml/structured_abstract.xml")
    assert (a.journal, a.journal_iso, a.issn) == (
        "Journal of Fixture Pharmacology", "J Fixture Pharmacol", "1234-5678")
    assert (a.volume, a.issue, a.pages) == ("14", "2", "101-109")
    assert (a.pub_year, a.pub_date, a.pub_date_raw) == (2021, "2021-11-09", "2021 Nov 09")
    assert a.doi == "10.5555/fixture.101"  # not the DOI of a cited reference
    assert a.pmcid == "PMC9900101"
    assert (a.citation_status, a.indexing_method) == ("MEDLINE", "Curated")
    assert a.publication_types == ["Journal Article", "Randomized Controlled Trial"]
    assert a.keywords == ["kratom", "opioid withdrawal"]
    assert a.date_revised == "2023-11-20"
    assert a.languages == ["eng"]


def test_mesh_headings_keep_qualifiers_and_major_flags(fixtures):
    a = one(fixtures / "xml/structured_abstract.xml")
    assert a.mesh_terms == ["Humans", "Mitragyna", "Substance Withdrawal Syndrome", "Cross-Over Studies"]
    withdrawal = a.mesh[2]
    assert withdrawal == {
        "descriptor": "Substance Withdrawal Syndrome", "major": True,
        "qualifiers": [{"name": "drug therapy", "major": True}],
    }
    assert a.mesh[0]["major"] is False and a.mesh[1]["major"] is True


def test_authors_affiliations_orcid_suffix_and_invalid_names(fixtures):
    a = one(fixtures / "xml/structured_abstract.xml")
    assert len(a.authors) == 2  # ValidYN="N" (a misspelt duplicate) is left out
    first, second = a.authors
    assert first["last"] == "Wongsakul" and first["orcid"] == "0000-0000-0000-0001"
    assert first["affiliations"] == [
        "Faculty of Pharmacy, Example University, Songkhla, Thailand.",
        "Centre for Addiction Studies, Example City, Thailand.",
    ]
    assert second == {"last": "Miller", "fore": "James R", "initials": "JR", "suffix": "Jr"}


def test_no_abstract(fixtures):
    a = one(fixtures / "xml/no_abstract.xml")
    assert a.abstract is None and a.abstract_sections == [] and not a.has_abstract
    assert a.publication_types == ["Letter"]
    assert a.citation_status == "PubMed-not-MEDLINE"


def test_medline_date_range_reads_to_first_year_and_month(fixtures):
    a = one(fixtures / "xml/medline_date.xml")
    assert (a.pub_year, a.pub_date, a.pub_date_raw) == (1998, "1998-12-01", "1998 Dec-1999 Jan")


def test_season_reads_to_quarter_start(fixtures):
    a = one(fixtures / "xml/season.xml")
    assert (a.pub_year, a.pub_date, a.pub_date_raw) == (2019, "2019-01-01", "2019 Winter")


def test_upper_case_publication_type_is_canonicalised(fixtures):
    assert one(fixtures / "xml/season.xml").publication_types == ["Journal Article"]


@pytest.mark.parametrize("raw, year, best", [
    ("1998 Dec-1999 Jan", 1998, "1998-12-01"),
    ("2019 Winter", 2019, "2019-01-01"),
    ("2000 Spring-Summer", 2000, "2000-04-01"),
    ("2021 Fall", 2021, "2021-10-01"),
    ("1977-1978", 1977, "1977-01-01"),
    ("2015 Nov 1-15", 2015, "2015-11-01"),
    ("2012 Feb 30", 2012, "2012-02-28"),
    ("no date at all", None, None),
])
def test_free_form_dates(raw, year, best):
    assert parse_free_date(raw) == (year, best)


def test_book_article(fixtures):
    a = one(fixtures / "xml/book_article.xml")
    assert a.is_book and a.pmid == 99000105
    assert a.title == "Kratom (Mitragyna speciosa)"
    assert a.journal == "Botanical Psychoactives: A Clinical Handbook"
    assert a.publication_types == ["Review"]
    assert [au["last"] for au in a.authors] == ["Castillo"]  # chapter authors, not the editors
    assert a.pub_year == 2023 and a.abstract.startswith("This chapter reviews")


def test_non_english_record_keeps_vernacular_title(fixtures):
    a = one(fixtures / "xml/non_english_vernacular.xml")
    assert a.title == "[Kratom withdrawal in a German detoxification ward]."
    assert a.vernacular_title == "Kratom-Entzug auf einer deutschen Entgiftungsstation."
    assert a.languages == ["ger"]


def test_empty_article_title_falls_back_to_the_vernacular_title(fixtures, tmp_path):
    text = (fixtures / "xml/non_english_vernacular.xml").read_text()
    text = text.replace("<ArticleTitle>[Kratom withdrawal in a German detoxification ward].</ArticleTitle>", "<ArticleTitle/>")
    (tmp_path / "untitled.xml").write_text(text)
    a = one(tmp_path / "untitled.xml")
    assert a.title == a.vernacular_title == "Kratom-Entzug auf einer deutschen Entgiftungsstation."


def test_collective_author_is_kept_beside_people(fixtures):
    a = one(fixtures / "xml/collective_author.xml")
    assert a.authors == [
        {"collective": "Fixture Society for Addiction Medicine Working Group"},
        {"last": "Haddad", "fore": "Rami", "initials": "R"},
    ]


def test_erratum_links_to_the_corrected_article(fixtures):
    a = one(fixtures / "xml/erratum.xml")
    assert a.publication_types == ["Published Erratum"]
    assert a.comments_corrections == [{
        "type": "ErratumFor", "pmid": 99000101,
        "source": "J Fixture Pharmacol. 2021 Nov 9;14(2):101-109",
    }]
    assert not a.is_retracted


def test_retraction_marks_the_retracted_article_not_the_notice(fixtures):
    retracted, notice = [r for r in read_file(fixtures / "xml/retraction.xml")]
    assert retracted.is_retracted and retracted.comments_corrections[0]["type"] == "RetractionIn"
    assert not notice.is_retracted
    assert notice.publication_types == ["Retraction of Publication"]


def test_delete_citation_yields_deletions_in_order(fixtures):
    records = list(read_file(fixtures / "xml/update_with_deletions.xml"))
    assert isinstance(records[0], Article) and records[0].pmid == 99000104
    assert records[1:] == [Deletion(99000103), Deletion(99000199)]


def test_inline_markup_and_mathml_become_readable_text(fixtures):
    a = one(fixtures / "xml/inline_markup_mathml.xml")
    assert a.title == (
        "Binding of Mitragyna speciosa alkaloids to the μ-opioid receptor: Ki values and "
        "CO2-extraction yields of 10^-3 M stocks"
    )
    assert a.abstract == "Affinity was fitted as r^2>0.9 for a/b ratios, with 7-hydroxymitragynine (7-OH) the most potent."
    assert a.keywords == ["Mitragyna speciosa"]


@pytest.mark.parametrize("name, pmid", [
    ("bare_root_pubmedarticle.xml", 99000112),
    ("bare_root_medlinecitation.xml", 99000113),
])
def test_bare_roots_without_a_set(fixtures, name, pmid):
    a = one(fixtures / "xml" / name)
    assert a.pmid == pmid and a.title


def test_bare_medlinecitation_takes_doi_from_elocation(fixtures):
    assert one(fixtures / "xml/bare_root_medlinecitation.xml").doi == "10.5555/fixture.113"


def test_old_medlinecitationset_with_delete_citation(fixtures):
    records = list(read_file(fixtures / "xml/old_medlinecitationset.xml"))
    assert [r.pmid for r in records if isinstance(r, Article)] == [99000114, 99000115]
    assert records[-1] == Deletion(99000198)
    assert records[0].pmcid == "PMC9900114"
    assert records[0].mesh_terms == ["Animals", "Mice"]


def test_empty_set_is_reported_not_silently_accepted(fixtures):
    with pytest.raises(SourceError, match=r"empty_set.xml: no records in it \(an empty PubmedArticleSet\)"):
        list(read_file(fixtures / "xml/empty_set.xml"))


def test_gzip_xml_reads_like_plain(fixtures, tmp_path):
    gz = tmp_path / "structured.xml.gz"
    gz.write_bytes(gzip.compress((fixtures / "xml/structured_abstract.xml").read_bytes()))
    assert one(gz) == one(fixtures / "xml/structured_abstract.xml")


# ------------------------------------------------------------------ MEDLINE text


def test_medline_text_fields(fixtures):
    first, second = list(read_file(fixtures / "medline/two_records.txt"))
    assert first.pmid == 99000201
    assert first.title == (
        "Self-reported reasons for kratom use: an online survey of 1,204 adults in the "
        "United States (synthetic fixture)."
    )
    assert [s["label"] for s in first.abstract_sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert first.abstract_sections[1]["text"] == "We surveyed 1,204 adults online."
    assert (first.pub_year, first.pub_date, first.pub_date_raw) == (2022, "2022-12-01", "2022 Dec-2023 Jan")
    assert first.doi == "10.5555/fixture.201"
    assert first.issn == "1234-5678"
    assert first.mesh[3] == {"descriptor": "Pain", "major": True, "qualifiers": [{"name": "drug therapy", "major": True}]}
    assert first.keywords == ["kratom", "pain", "self-treatment"]
    assert first.citation_status == "MEDLINE"
    assert first.date_revised == "2024-03-02"
    assert first.comments_corrections == [{"type": "CommentIn", "pmid": 99000202, "source": "J Fixture Surv Res. 2023 Mar;9(2):80"}]
    assert second.comments_corrections[0]["type"] == "CommentOn" and second.pmcid == "PMC9900202"


def test_medline_affiliations_stay_with_their_author(fixtures):
    first = next(iter(read_file(fixtures / "medline/two_records.txt")))
    nguyen, schmidt, group = first.authors
    assert nguyen["affiliations"] == ["School of Public Health, Example University, Example City, USA."]
    assert schmidt["affiliations"] == [
        "Institute of Pharmacology, Example University, Germany; and Department of "
        "Psychiatry, Example Hospital, Germany."
    ]
    assert group == {"collective": "Fixture Kratom Survey Collaborative"}


def test_nbib_export_with_season_and_general_note(fixtures):
    a = one(fixtures / "medline/one_record.nbib")
    assert (a.pub_year, a.pub_date) == (2021, "2021-07-01")
    assert a.languages == ["may"] and a.notes[0].startswith("Synthetic test fixture")


def test_xml_and_medline_give_the_same_record_shape(fixtures):
    xml = one(fixtures / "xml/structured_abstract.xml")
    medline = next(iter(read_file(fixtures / "medline/two_records.txt")))
    assert set(xml.to_dict()) == set(medline.to_dict())


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name, message", [
    ("bad/not_pubmed.txt", r"not_pubmed.txt: not PubMed XML or MEDLINE text \(it begins 'Kratom evidence notes"),
    ("bad/truncated.xml", r"truncated.xml: malformed or truncated XML \(line \d+"),
    ("bad/not_gzip.xml.gz", r"not_gzip.xml.gz: named .gz but is not gzip-compressed"),
    ("bad/html_error_page.xml", r"html_error_page.xml: not PubMed XML \(root element <html>"),
    ("bad/billion_laughs.xml", r"billion_laughs.xml: malformed or truncated XML \(.*amplification"),
])
def test_unreadable_files_raise_one_clear_message(fixtures, name, message):
    with pytest.raises(SourceError, match=message):
        list(read_file(fixtures / name))


@pytest.mark.parametrize("name, good", [("bad/no_pmid.xml", 99000301), ("bad/no_pmid.txt", 99000302)])
def test_record_without_pmid_is_an_error_item_and_reading_goes_on(fixtures, name, good):
    records = list(read_file(fixtures / name))
    assert [r.pmid for r in records if isinstance(r, Article)] == [good]
    errors = [r for r in records if isinstance(r, RecordError)]
    assert len(errors) == 1 and "record 2 has no PMID" in str(errors[0])


def test_external_entities_are_never_fetched_or_expanded(fixtures):
    a = one(fixtures / "bad/xxe.xml")
    assert a.title == "Before after end."
    assert "root:" not in a.title


def test_truncated_gzip_is_reported(fixtures, tmp_path):
    data = gzip.compress((fixtures / "xml/structured_abstract.xml").read_bytes() * 3)
    gz = tmp_path / "cut.xml.gz"
    gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut.xml.gz"):
        list(read_file(gz))
