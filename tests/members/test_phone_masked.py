import pytest

from members.identifiers import phone_masked


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+8613800138000", "138****8000"),
        ("13800138000", "138****8000"),
        ("+14155550123", "415***0123"),
        ("+85261234567", "612*4567"),
        ("1234567", "*****67"),
    ],
)
def test_a_phone_shows_its_first_three_and_last_four_digits_only(phone, shown):
    assert phone_masked(phone) == shown
