"""The commitments' pure rules: rollup, delay, justification, hashing and vocabularies."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from services.commitments import domain, vocabularies
from services.commitments.history import GENESIS, entry_hash, jsonable


def milestone(status="in_progress", progress=None, planned_start=None, planned_end=None,
              date_met=None):
    return SimpleNamespace(status=status, progress_pct=progress, planned_start=planned_start,
                           planned_end=planned_end, date_met=date_met)


@pytest.mark.parametrize("milestones, expected", [
    ([], None),
    ([milestone(progress=50)], 50),
    ([milestone(progress=50), milestone(progress=25)], 38),  # 37.5 rounds half up
    ([milestone("met"), milestone("scheduled")], 50),         # null: met 100, else 0
    ([milestone("met", progress=80)], 80),                    # a given value wins
    ([milestone(progress=60), milestone("cancelled", progress=0)], 60),
    ([milestone("cancelled")], None),
    ([milestone(progress=1), milestone(progress=0), milestone(progress=0)], 0),  # 0.33
])
def test_commitment_progress_is_the_rounded_average_of_its_milestones(milestones, expected):
    assert domain.commitment_progress(milestones) == expected


def test_plan_progress_ignores_commitments_without_progress():
    commitments = [SimpleNamespace(milestones=[milestone(progress=40)]),
                   SimpleNamespace(milestones=[milestone(progress=81)]),
                   SimpleNamespace(milestones=[])]
    assert domain.plan_progress(commitments) == 61  # 60.5
    assert domain.plan_progress([SimpleNamespace(milestones=[])]) is None


def test_a_milestone_is_delayed_only_past_its_end_and_not_done():
    today = date(2024, 3, 1)
    assert domain.is_delayed(milestone(planned_end=date(2024, 2, 29)), today)
    assert not domain.is_delayed(milestone(planned_end=date(2024, 3, 1)), today)
    assert not domain.is_delayed(milestone("met", planned_end=date(2024, 1, 1)), today)
    assert not domain.is_delayed(milestone("cancelled", planned_end=date(2024, 1, 1)), today)
    assert not domain.is_delayed(milestone(planned_end=None), today)


def test_today_is_chihuahuas_date():
    """At 03:00 UTC it is still the evening before in Chihuahua (UTC-6)."""
    assert domain.local_today(datetime(2024, 3, 2, 3, 0, tzinfo=timezone.utc)) == date(2024, 3, 1)


def test_a_new_status_or_date_needs_a_justification_but_progress_does_not():
    current = milestone(progress=10, planned_start=date(2024, 1, 1), planned_end=date(2024, 2, 1))
    assert domain.milestone_diff(current, {"progress_pct": 20}, None) == {"progress_pct": (10, 20)}
    assert domain.milestone_diff(current, {"status": "in_progress", "progress_pct": 10}, None) == {}
    for change in ({"status": "met"}, {"planned_end": date(2024, 3, 1)},
                   {"date_met": date(2024, 2, 1)}):
        with pytest.raises(domain.InvalidField) as raised:
            domain.milestone_diff(current, change, "  ")
        assert raised.value.field == "justification"
    with pytest.raises(domain.InvalidField) as raised:
        domain.milestone_diff(current, {"planned_end": date(2023, 12, 1)}, "recorte")
    assert raised.value.field == "planned_end"


def test_an_entry_hash_covers_every_field_and_the_previous_hash():
    entry = {"id": 1, "occurred_at": datetime(2024, 3, 1, 18, tzinfo=timezone.utc),
             "commitment_id": 3, "subject_type": "milestone", "subject_id": 7, "field": "status",
             "old_value": "in_progress", "new_value": "met", "justification": "Acta",
             "evidence": [{"title": "Acta", "url": "https://example.org"}], "actor": "municipio",
             "previous_hash": GENESIS}
    digest = entry_hash(entry)
    assert len(digest) == 64 and digest == entry_hash(dict(reversed(list(entry.items()))))
    for name, other in (("new_value", "not_started"), ("actor", "otro"), ("previous_hash", "1" * 64),
                        ("occurred_at", datetime(2024, 3, 1, 18, 0, 1, tzinfo=timezone.utc)),
                        ("evidence", []), ("id", 2)):
        assert entry_hash({**entry, name: other}) != digest, name


def test_jsonable_writes_dates_as_iso_text():
    assert jsonable({"d": [date(2024, 5, 31)], "n": None}) == {"d": ["2024-05-31"], "n": None}
    assert jsonable(datetime(2024, 1, 1, tzinfo=timezone.utc)) == "2024-01-01T00:00:00.000000+00:00"


def test_the_vocabularies_are_ogps():
    assert len(vocabularies.codes("challenge_areas")) == 10
    assert vocabularies.codes("ogp_values") == (
        "access_to_information", "civic_participation", "public_accountability",
        "technology_and_innovation")
    assert set(vocabularies.codes("milestone_status")) == {
        "scheduled", "met", "notMet", "partiallyMet", "not_started", "in_progress", "cancelled"}
    for spelling in ("Completed", "completed", "Complete "):
        assert vocabularies.normalise("completion", spelling) == "complete"
    assert vocabularies.normalise("completion", "limited") == "limited"
    for vocabulary in vocabularies.VOCABULARIES.values():
        assert all(set(labels) == {"en", "es"} for labels in vocabulary.values())
    assert vocabularies.normalise("did_it_open_government", "Did Not Change") == "did_not_change"
    assert vocabularies.normalise("completion", "halfway") == "halfway"  # left for the 422
