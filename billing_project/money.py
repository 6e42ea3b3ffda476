"""Money: integer minor units plus an ISO currency inside, decimal strings in major units outside.

No floats anywhere: conversions go through Decimal with an explicit rounding mode. The API speaks
`to_major` / `to_minor`; everything a person reads (PDFs, emails, Slack, in-app, portal, admin) goes
through `money_format`.
"""

import copy
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import list_currencies
from django.utils import translation

# Stripe's zero-decimal currencies: an amount of 500 JPY is sent to Stripe as 500, not 50000.
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
# Stripe's three-decimal currencies (amounts still in thousandths).
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())
# ISO 4217 codes, lower case as Stripe writes them (CLDR's list, through Babel).
ISO_CURRENCIES = frozenset(code.lower() for code in list_currencies())


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_major(amount_minor: int, currency: str) -> str:
    """29_00, "usd" -> "29.00"; 2900, "jpy" -> "2900"."""
    places = exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-places)
    return f"{value:.{places}f}"


def to_minor(amount: str | Decimal | int, currency: str, *, rounding: str = ROUND_HALF_UP) -> int:
    """ "29.00", "usd" -> 2900. Rejects floats, NaN and infinities; rounds half up by default."""
    if isinstance(amount, float):
        raise MoneyError("money must not be given as a float")
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {amount!r}")
    places = exponent(currency)
    return int(value.scaleb(places).quantize(Decimal(1), rounding=rounding))


# The tenants' locales (Django language codes) -> Babel's; anything else formats as en.
BABEL_LOCALES = {"en": "en_US", "pt-br": "pt_BR", "es": "es_ES"}


def babel_locale(locale: str | None) -> str:
    """ "pt-br" (or "pt_BR", "pt-BR") -> "pt_BR"; a region we do not know uses its language's ("es-mx" -> "es_ES");
    an unknown language -> "en_US"."""
    code = (locale or "").lower().replace("_", "-")
    return BABEL_LOCALES.get(code) or BABEL_LOCALES.get(code.split("-")[0]) or BABEL_LOCALES["en"]


@lru_cache(maxsize=64)
def _currency_pattern(babel_code: str, places: int):
    """The locale's standard currency pattern with the currency's decimal places fixed to ours.

    Babel would otherwise take CLDR's digits, which disagree with Stripe's minor units for some
    currencies (ISK, RSD, IQD... have 0 in CLDR and 2 at Stripe): 123.45 ISK would print as "ISK123"."""
    pattern = copy.copy(Locale.parse(babel_code).currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern


def money_format(amount_minor: int, currency: str, locale: str) -> str:
    """An amount for people, in the locale's form: 123450, "usd" -> "$1,234.50" (en), "US$ 1.234,50" (pt-br),
    "1.234,50 US$" (es); -150 -> "-$1.50"; 2900, "jpy" -> "¥2,900". The spaces are no-break spaces."""
    places = exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-places)
    code = babel_locale(locale)
    return _currency_pattern(code, places).apply(
        value, Locale.parse(code), currency=currency.upper(), currency_digits=False
    )


def money_text(amount_minor: int | None, currency: str) -> str:
    """money_format in the active language (a request's, English outside one): what the admin and a
    record's name show; "—" for no amount."""
    if amount_minor is None:
        return "—"
    return money_format(amount_minor, currency, translation.get_language() or "en")
