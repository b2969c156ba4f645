"""The public attendance table hides small counts so that nobody can work them out: checked
against someone who knows the rule and tries every count the shown table allows."""
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from services.registration.attendance_public import SHOWN, SMALL, WITHHELD, table


def figures(column):
    """attendance.figures()'s shape, the same counts in every SHOWN column."""
    by_sector = {f"sector{i}": dict.fromkeys(SHOWN, count) for i, count in enumerate(column)}
    return {**dict.fromkeys(SHOWN, sum(column)), "by_sector": by_sector}


def shown(column, least):
    public = table(figures(column), least)
    return ([counts["registered"] for counts in public["by_sector"].values()],
            public["total"]["registered"])


def possible(cells, total, least):
    """Every column of counts the public table allows, to one who knows the rule: a small
    count is 1..least-1, a withheld one at least `least`; a small total is under `least`."""
    top = total if isinstance(total, int) else least * (len(cells) + 1)  # no count is more
    ranges = [range(1, least) if c == SMALL else range(least, top + 1) if c == WITHHELD
              else (c,) for c in cells]
    for column in product(*ranges):
        whole = sum(column)
        if (total == SMALL and whole < least) or total == WITHHELD or whole == total:
            yield column


def what_the_public_learns(column, least):
    """For each hidden small count, the values it might have."""
    cells, total = shown(column, least)
    columns = list(possible(cells, total, least))
    return {i: {c[i] for c in columns} for i, cell in enumerate(cells) if cell == SMALL}, total


def test_counts_from_1_to_4_are_small_and_the_rest_shown():
    assert shown([0, 7, 12, 30], 5) == ([0, 7, 12, 30], 49)
    assert shown([3, 9, 0], 1) == ([3, 9, 0], 12)  # a threshold of 1 hides nothing


def test_one_small_count_beside_the_total_takes_another_count_with_it():
    """35 - 6 - 20 would give the 1. Withholding the 6 leaves 7 = small + withheld, and a
    withheld count is at least 5: the small one is 1 or 2. The 8 leaves 9: 1 to 4."""
    assert shown([1, 8, 6, 20], 5) == ([SMALL, WITHHELD, 6, 20], 35)
    assert what_the_public_learns([1, 8, 6, 20], 5)[0] == {0: {1, 2, 3, 4}}
    assert shown([1, 7, 6, 20], 5) == ([SMALL, 7, 6, WITHHELD], 34)


def test_without_a_count_big_enough_the_total_is_withheld():
    assert shown([1, 5], 5) == ([SMALL, 5], WITHHELD)


def test_a_small_total_and_several_small_counts_that_add_up():
    assert shown([2, 1], 5) == ([SMALL, SMALL], SMALL)
    assert shown([1, 1, 1, 1], 5) == ([SMALL] * 4, WITHHELD)  # else each must be 1
    assert shown([2, 4, 1, 1], 5) == ([SMALL] * 4, 8)  # 8 in four: each may be 1 to 4


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 25)), min_size=1, max_size=5),
       st.integers(3, 6))
def test_the_public_never_works_a_small_count_out(column, least):
    """Beside a shown total, every small count may be anything from 1 to least-1; beside a
    small total, it still has at least two possible values."""
    learnt, total = what_the_public_learns(column, least)
    for values in learnt.values():
        if isinstance(total, int):
            assert values == set(range(1, least)), (column, least, learnt)
        else:
            assert len(values) >= 2, (column, least, learnt)
