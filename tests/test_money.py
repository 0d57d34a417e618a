"""Document money (crm/money.py): figures computed by hand, and properties over any lines."""
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from crm.money import Line, document_totals, line_totals, minor_unit, rounded

pytestmark = pytest.mark.database_free

D = Decimal


def line(quantity, price, discount="0", rate="20") -> Line:
    return Line(D(quantity), D(price), D(discount), D(rate))


def test_a_document_with_several_rates_discounts_and_decimal_quantities():
    lines = [
        line("3", "19.99"),                # 59.97, VAT 11.994 -> 11.99
        line("1.5", "33.33", "10", "5.5"),  # 49.995 x 0.9 = 44.9955 -> 45.00, VAT 2.475 -> 2.48
        line("2", "10"),                   # 20.00, VAT 4.00
    ]
    assert [(t.excl_tax, t.vat) for t in (line_totals(l, "EUR") for l in lines)] == [
        (D("59.97"), D("11.99")), (D("45.00"), D("2.48")), (D("20.00"), D("4.00"))]
    totals = document_totals(lines, "EUR")
    assert totals.excl_tax == D("124.97")
    assert totals.vat_by_rate == {D("5.5"): D("2.48"), D("20"): D("15.99")}
    assert list(totals.vat_by_rate) == [D("5.5"), D("20")]  # increasing, as a PDF lists them
    assert (totals.vat, totals.incl_tax) == (D("18.47"), D("143.44"))


def test_the_currency_decides_the_minor_unit():
    assert (minor_unit("EUR"), minor_unit("JPY"), minor_unit("KWD")) == (D("0.01"), D("1"), D("0.001"))
    totals = document_totals([line("3", "333", "5", "10")], "JPY")  # 949.05 -> 949, VAT 94.9 -> 95
    assert (totals.excl_tax, totals.vat, totals.incl_tax) == (D("949"), D("95"), D("1044"))
    assert document_totals([line("1", "1.0005", rate="0")], "KWD").excl_tax == D("1.001")


@pytest.mark.parametrize("amount, expected", [("0.125", "0.13"), ("0.135", "0.14"), ("-0.125", "-0.13"),
                                              ("2.5", "2.50"), ("0.004999", "0.00")])
def test_rounding_is_half_up_to_the_cent(amount, expected):
    assert rounded(D(amount), "EUR") == D(expected)


def test_a_float_is_refused():
    with pytest.raises(TypeError, match="Decimal"):
        line_totals(Line(2.0, D("1"), D("0"), D("20")), "EUR")
    with pytest.raises(TypeError):
        rounded(0.1, "EUR")


def test_an_empty_document_is_zero_in_its_currency():
    totals = document_totals([], "EUR")
    assert (totals.excl_tax, totals.vat, totals.incl_tax, totals.vat_by_rate) == (D("0.00"), D("0.00"), D("0.00"), {})


amounts = st.decimals(min_value=D("-1000"), max_value=D("100000"), places=4, allow_nan=False, allow_infinity=False)
lines = st.builds(
    Line,
    quantity=st.decimals(min_value=D("0"), max_value=D("10000"), places=3, allow_nan=False, allow_infinity=False),
    unit_price=amounts,
    discount_percent=st.decimals(min_value=D("0"), max_value=D("100"), places=2, allow_nan=False,
                                 allow_infinity=False),
    vat_rate=st.sampled_from([D("0"), D("2.1"), D("5.5"), D("10"), D("20"), D("21")]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40), st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
def test_totals_always_add_up(document, currency):
    totals = document_totals(document, currency)
    figures = [line_totals(l, currency) for l in document]
    unit = minor_unit(currency)
    assert totals.incl_tax == totals.excl_tax + sum(totals.vat_by_rate.values(), D(0))
    assert totals.vat == sum(totals.vat_by_rate.values(), D(0))
    assert totals.excl_tax == sum((f.excl_tax for f in figures), D(0))
    for amount in (totals.excl_tax, totals.vat, totals.incl_tax, *totals.vat_by_rate.values(),
                   *(f.excl_tax for f in figures), *(f.vat for f in figures)):
        assert amount == amount.quantize(unit)  # never a fraction of the minor unit
