"""What the event page's commitments reader keeps, and for how long (a recording fake client
and a clock moved by hand; the real HTTP is in tests/integration/test_event_page_commitments.py)."""
import pytest

from shared.commitments_client import (CommitmentsUnavailable, RememberingCommitments,
                                       UnknownCommitment)


class Recording:
    """Answers from `answers` (a summary, or an exception to raise), noting each call."""

    def __init__(self, **answers):
        self.answers, self.asked = answers, []

    def get(self, commitment_id, timeout=None):
        self.asked.append(commitment_id)
        answer = self.answers[str(commitment_id)]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_answer_is_kept_for_ttl_then_asked_again():
    client, clock = Recording(**{"3": {"id": 3}}), Clock()
    kept = RememberingCommitments(client, ttl=300, clock=clock)
    assert kept.get(3) == kept.get(3) == {"id": 3} and client.asked == [3]
    clock.now += 299
    kept.get(3)
    assert client.asked == [3]
    clock.now += 2
    kept.get(3)
    assert client.asked == [3, 3]


def test_a_missing_commitment_is_remembered_as_missing():
    client = Recording(**{"7": UnknownCommitment("no")})
    kept = RememberingCommitments(client, clock=Clock())
    for _ in range(2):
        with pytest.raises(UnknownCommitment):
            kept.get(7)
    assert client.asked == [7]


def test_after_a_failure_nobody_is_asked_for_pause_seconds():
    client, clock = Recording(**{"1": CommitmentsUnavailable("down"), "2": {"id": 2}}), Clock()
    kept = RememberingCommitments(client, pause=30, clock=clock)
    with pytest.raises(CommitmentsUnavailable):
        kept.get(1)
    clock.now += 29
    with pytest.raises(CommitmentsUnavailable):
        kept.get(2)  # another commitment, same service: not asked either
    assert client.asked == [1]
    clock.now += 2
    assert kept.get(2) == {"id": 2} and client.asked == [1, 2]
