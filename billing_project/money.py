"""Money: integer minor units plus an ISO currency inside, decimal strings in major units outside.

No floats anywhere: conversions go through Decimal with an explicit rounding mode.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's zero-decimal currencies: an amount of 500 JPY is sent to Stripe as 500, not 50000.
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
# Stripe's three-decimal currencies (amounts still in thousandths).
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())


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
    """"29.00", "usd" -> 2900. Rejects floats, NaN and infinities; rounds half up by default."""
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
