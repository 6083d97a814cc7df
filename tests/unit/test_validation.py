import pytest

from booking.validation import normalise_uk_phone, validate_booking


def check(**overrides):
    fields = {"name": "Ann Smith", "email": "Ann@Example.org", "phone": "", "party_size": "2", "max_party_size": 4}
    fields.update(overrides)
    return validate_booking(**fields)


def test_good_input_is_normalised():
    result = check(phone="07700 900982")
    assert result.ok
    assert result.request.resident.email == "ann@example.org"
    assert result.request.resident.phone == "+447700900982"
    assert result.request.party_size == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "Enter your full name"),
        ("email", "", "Enter your email address"),
        ("email", "ann.example.org", "Enter an email address in the correct format, like name@example.com"),
        ("phone", "12345", "Enter a UK mobile number, like 07700 900 982"),
        ("party_size", "", "Enter how many places you need"),
        ("party_size", "two", "Number of places must be a whole number, like 2"),
        ("party_size", "0", "Number of places must be 1 or more"),
        ("party_size", "5", "You can book up to 4 places for this activity"),
        ("party_size", True, "Enter how many places you need"),
    ],
)
def test_each_problem_has_its_own_message(field, value, message):
    result = check(**{field: value})
    assert not result.ok
    assert result.errors == {field: message}


def test_all_errors_reported_together_in_form_order():
    result = check(name="", email="x", party_size="")
    assert list(result.errors) == ["name", "email", "party_size"]


@pytest.mark.parametrize("text", ["+44 7700 900982", "0044 7700 900982", "(07700) 900-982"])
def test_uk_mobile_formats(text):
    assert normalise_uk_phone(text) == "+447700900982"


def test_landline_is_not_a_mobile():
    assert normalise_uk_phone("01543 123456") is None
