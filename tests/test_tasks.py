import pytest

from benchmark.core.errors import UserError
from benchmark.core.tasks import Task, all_tasks, parse_task


def test_all_tasks_has_six_directed_three_many_to_one_three_one_to_many():
    kinds = [t.kind for t in all_tasks()]
    assert kinds.count("directed") == 6
    assert kinds.count("many-to-one") == 3
    assert kinds.count("one-to-many") == 3
    assert len({t.name for t in all_tasks()}) == 12


@pytest.mark.parametrize("task", all_tasks(), ids=str)
def test_every_task_name_round_trips(task):
    assert parse_task(task.name) == task


def test_sides_are_put_in_canonical_order():
    assert parse_task("audio+text2image") == Task(("text", "audio"), ("image",))


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("audio2imag", "did you mean 'image'"),
        ("audio2audio", "both source and target"),
        ("audioimage", "did you mean 'audio2image'"),
        ("2image", "did you mean 'text2image'"),
        ("zzz", "choose one of"),
    ],
)
def test_bad_task_names_get_a_hint(name, hint):
    with pytest.raises(UserError, match=hint):
        parse_task(name)
