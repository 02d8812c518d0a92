from decimal import Decimal, localcontext

import pytest

from posrisk.engine import AMOUNT_LIMIT, InvalidValue, check_amount, parse_decimal
from posrisk.engine.numbers import (
    fmt_double,
    fmt_exact,
    fmt_integer,
    fmt_money,
    fmt_money_or_zero,
    fmt_normalized,
    fmt_price,
    fmt_quantity,
    fmt_shortest,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("-1.06214947426", "-1.06214947"),  # cut toward zero, not rounded (…053)
        ("21.12305052574", "21.12305052"),
        ("0", "0.00000000"),
        ("-0.000000001", "0.00000000"),  # never "-0.00000000"
        ("0.764277", "0.76427700"),
        ("123456789.999999999", "123456789.99999999"),
    ],
)
def test_money_is_cut_toward_zero_at_8_decimals(value: str, text: str) -> None:
    assert fmt_money(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0"),
        ("0E-8", "0"),
        ("31", "31"),
        ("310.000", "310"),
        ("46.2600", "46.26"),
        ("1.123456789", "1.12345678"),
        ("-0.000000009", "0"),
        ("-2.50", "-2.5"),
    ],
)
def test_normalized_money_drops_trailing_zeros(value: str, text: str) -> None:
    assert fmt_normalized(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("70.900038636", "70.900038636"),  # an event's break-even price keeps its digits
        ("22185.20", "22185.2"),
        ("91740.0", "91740"),
        ("1.00000000009", "1"),  # cut at 10, toward zero
        ("-0.00000000001", "0"),
        ("0E-10", "0"),
    ],
)
def test_normalized_at_10_decimals(value: str, text: str) -> None:
    assert fmt_normalized(Decimal(value), 10) == text


@pytest.mark.parametrize(
    ("value", "shortest", "double"),
    [
        ("0.00020", "0.0002", "0.0002"),
        ("100", "100", "100.0"),
        ("1E+2", "100", "100.0"),
        ("0.50", "0.5", "0.5"),
        ("0E-8", "0", "0.0"),
        ("0.000000001", "0.000000001", "0.000000001"),  # nothing cut
    ],
)
def test_shortest_and_double_keep_every_digit_that_counts(
    value: str, shortest: str, double: str
) -> None:
    assert fmt_shortest(Decimal(value)) == shortest
    assert fmt_double(Decimal(value)) == double


@pytest.mark.parametrize(
    ("value", "text"),
    [("0", "0"), ("0.000000009", "0"), ("-0.000000009", "0"), ("21.12305052574", "21.12305052")],
)
def test_money_or_zero_writes_a_bare_zero(value: str, text: str) -> None:
    assert fmt_money_or_zero(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("22185.2", "22185.2"),
        ("22185.20000", "22185.2"),
        ("0.385077", "0.385077"),
        ("70.90003863636363", "70.9000386363"),
        ("100", "100.0"),
        ("0", "0.0"),
        ("0.00000000001", "0.0"),
        ("-5.5", "-5.5"),
    ],
)
def test_prices_keep_ten_decimals_without_trailing_zeros(value: str, text: str) -> None:
    assert fmt_price(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "precision", "text"),
    [
        ("0.001", 3, "0.001"),
        ("-10", 3, "-10.000"),
        ("0", 3, "0.000"),
        ("-0", 3, "0.000"),
        ("30", 0, "30"),
        ("30", None, "30"),
        ("0.50", None, "0.5"),
        ("0", None, "0"),
        ("-1.250", None, "-1.25"),
    ],
)
def test_quantity_at_the_symbol_precision(value: str, precision: int | None, text: str) -> None:
    assert fmt_quantity(Decimal(value), precision) == text


def test_integers() -> None:
    assert fmt_integer(Decimal("230000000")) == "230000000"
    assert fmt_integer(Decimal("5000.9")) == "5000"
    assert fmt_integer(20) == "20"


def test_formatting_ignores_the_callers_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        assert fmt_money(Decimal("21.12305052574")) == "21.12305052"
        assert fmt_price(Decimal("22185.2")) == "22185.2"


@pytest.mark.parametrize("good", ["0", "12.5", "-3", "0.00000001", 7, Decimal("1.5")])
def test_parse_accepts_plain_decimals(good: object) -> None:
    assert parse_decimal(good, "qty") == Decimal(str(good))


@pytest.mark.parametrize(
    "bad",
    [
        1.5,
        True,
        None,
        "1e5",
        "NaN",
        "Infinity",
        " 1",
        "1.",
        ".5",
        "",
        "0x10",
        "1" * 30,
        Decimal("NaN"),
        Decimal("Infinity"),
        [1],
    ],
)
def test_parse_refuses_everything_else_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_decimal(bad, "qty")
    assert info.value.code == -1130
    assert info.value.msg == "Data sent for parameter 'qty' is not valid."
    assert info.value.field == "qty"


@pytest.mark.parametrize(
    "value",
    [
        "1000000000000000",  # 1e15: the cap itself
        "-1000000000000000",
        "99999999999999999999",  # under the old 1e20 limit deposits had
        10**15,
        Decimal("1E+15"),
    ],
)
def test_parse_caps_every_amount_at_1e15_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_decimal(value, "amount")
    assert (info.value.code, info.value.field) == (-1130, "amount")
    assert "is not below 1000000000000000" in info.value.detail


@pytest.mark.parametrize("value", ["999999999999999.99999999", "-999999999999999.99999999"])
def test_parse_takes_amounts_just_under_the_cap(value: str) -> None:
    assert parse_decimal(value, "amount") == Decimal(value)


def test_the_cap_is_one_rule_for_parsed_and_built_amounts() -> None:
    assert Decimal("1E+15") == AMOUNT_LIMIT
    assert check_amount(Decimal("-5"), "fee") == Decimal("-5")
    for bad in (Decimal("1E+15"), Decimal("-1E+16"), Decimal("NaN"), Decimal("-Infinity")):
        with pytest.raises(InvalidValue) as info:
            check_amount(bad, "fee")
        assert info.value.field == "fee"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("61000.10", "61000.10"),  # a mark keeps the digits it was set with
        ("21123.05052574", "21123.05052574"),
        ("1E-8", "0.00000001"),  # exchangeInfo's tickSize at 8 decimals
        ("1", "1"),
        ("0.123456789012345", "0.123456789012345"),  # nothing cut at 8 or 10 decimals
    ],
)
def test_fmt_exact(value: str, text: str) -> None:
    assert fmt_exact(Decimal(value)) == text
