"""The one money formatter for people (PDFs, emails, Slack, in-app, portal, admin): Babel's currency
format in the tenant's locale, with the currency's own decimal places. The spaces are no-break spaces."""

import pytest

from billing_project.money import money_format


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en", "$1,234.50"),
        ("pt-br", "US$\xa01.234,50"),
        ("es", "1.234,50\xa0US$"),
    ],
)
def test_each_locale_places_symbol_and_separators_its_own_way(locale, expected):
    assert money_format(123450, "usd", locale) == expected


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en", "-$1.50"),
        ("pt-br", "-US$\xa01,50"),  # the sign before the symbol, not "US$ -1,50"
        ("es", "-1,50\xa0US$"),
    ],
)
def test_a_negative_amount_carries_the_sign_in_front(locale, expected):
    assert money_format(-150, "usd", locale) == expected


@pytest.mark.parametrize(
    "locale, expected", [("en", "$0.00"), ("pt-br", "US$\xa00,00"), ("es", "0,00\xa0US$")]
)
def test_zero_keeps_its_decimals(locale, expected):
    assert money_format(0, "usd", locale) == expected


@pytest.mark.parametrize(
    "locale, expected", [("en", "¥2,900"), ("pt-br", "JP¥\xa02.900"), ("es", "2.900\xa0JPY")]
)
def test_a_zero_decimal_currency_prints_no_decimals(locale, expected):
    assert money_format(2900, "jpy", locale) == expected


def test_the_decimal_places_are_the_currencys_minor_units():
    assert money_format(1234, "bhd", "en") == "BHD1.234"  # three-decimal
    # CLDR gives ISK no decimals, but Stripe counts it in hundredths: nothing is rounded away.
    assert money_format(12345, "isk", "en") == "ISK123.45"


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("en", "$1,234,567,890.12"),
        ("pt-br", "US$\xa01.234.567.890,12"),
        ("es", "1.234.567.890,12\xa0US$"),
    ],
)
def test_large_amounts_are_grouped_and_exact(locale, expected):
    assert money_format(123_456_789_012, "usd", locale) == expected


def test_other_currencies_and_upper_case_codes():
    assert money_format(2900, "BRL", "pt-br") == "R$\xa029,00"
    assert money_format(2900, "eur", "es") == "29,00\xa0€"
    assert money_format(2900, "gbp", "en") == "£29.00"


@pytest.mark.parametrize("locale", ["fr", "de-de", "", None])
def test_an_unknown_locale_falls_back_to_english(locale):
    assert money_format(123450, "usd", locale) == "$1,234.50"


@pytest.mark.parametrize("locale", ["pt_BR", "pt-BR", "PT-BR"])
def test_the_locale_is_read_in_any_spelling(locale):
    assert money_format(123450, "usd", locale) == "US$\xa01.234,50"
