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
        ("email", "", "Enter an email address or a mobile number, so we can send your booking details"),
        ("support_note", "x" * 501, "Access or support needs must be 500 characters or fewer"),
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


def test_texts_are_off_unless_asked_for():
    assert check(phone="07700 900982").request.resident.sms_opt_in is False


@pytest.mark.parametrize("ticked", [True, "yes", "on", "true", "1", " YES "])
def test_ticking_texts_with_a_mobile_number_opts_in(ticked):
    result = check(phone="07700 900982", sms_opt_in=ticked)
    assert result.ok and result.request.resident.sms_opt_in is True


@pytest.mark.parametrize("not_ticked", [False, None, "", "no", "off", "false", "0", "maybe", 1, ["yes"]])
def test_anything_else_is_not_consent(not_ticked):
    result = check(phone="07700 900982", sms_opt_in=not_ticked)
    assert result.ok and result.request.resident.sms_opt_in is False


def test_ticking_texts_without_a_number_is_an_error_on_the_phone_field():
    result = check(phone="  ", sms_opt_in="yes", party_size="")
    assert result.errors == {"phone": "Enter a mobile number to get texts", "party_size": "Enter how many places you need"}
    assert list(result.errors) == ["phone", "party_size"]


def test_a_wrong_number_is_still_named_as_wrong_when_texts_are_ticked():
    assert check(phone="01543 123456", sms_opt_in=True).errors == {"phone": "Enter a UK mobile number, like 07700 900 982"}


def test_a_mobile_number_alone_is_enough_with_texts():
    result = check(email="", phone="07700 900982", sms_opt_in="yes")
    assert result.ok
    resident = result.request.resident
    assert resident.email is None and resident.phone == "+447700900982"
    assert resident.sms_opt_in is True and resident.contact_by_email is False


def test_a_mobile_number_alone_needs_the_text_opt_in():
    result = check(email="", phone="07700 900982")
    assert result.errors == {"sms_opt_in": "Select how we should contact you about this booking"}


def test_an_email_without_any_contact_choice_asks_for_one():
    result = check(contact_email="")
    assert result.errors == {"contact_email": "Select how we should contact you about this booking"}


def test_email_is_only_a_channel_when_given():
    result = check(email="", phone="07700 900982", sms_opt_in="yes", contact_email="yes")
    assert result.request.resident.contact_by_email is False


def test_texts_without_a_number_when_an_email_is_given():
    assert check(sms_opt_in="yes").errors == {"phone": "Enter a mobile number to get texts"}


def test_support_note_is_kept_trimmed_and_500_characters_are_allowed():
    assert check(support_note="  I need a chair  ").request.support_note == "I need a chair"
    assert check(support_note="x" * 500).ok
