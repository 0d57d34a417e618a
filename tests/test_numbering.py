"""Customer codes from numbering masks, with counters in the database (SPEC §4)."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from crm import clock, customfields, numbering, thirdparties
from crm.errors import Forbidden, ValidationError
from crm.masks import DEFAULT_MASKS
from models import Event, NumberingCounter, NumberingMask, ThirdParty
from tests import faults
from tests.conftest import ADMIN, ALICE, context

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
NOVEMBER = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


async def new(kind="customer", name="Acme", *, tz=PARIS, **options) -> str:
    tp = await thirdparties.create(context(tz=tz), {"name": name, "type": kind}, **options)
    return tp.code


async def set_mask(text: str, object_type: str = "thirdparty", actor=ADMIN):
    return (await numbering.set_masks(context(actor), {object_type: text}))[object_type]


async def codes(count: int, kind="customer") -> list[str]:
    return [await new(kind) for _ in range(count)]


async def imported(code: str) -> None:
    """A third party stored with a code of its own, as an import keeping Dolibarr's codes does."""
    await ThirdParty.create(code=code, name="Imported", name_key="imported", type="customer",
                            created_at=clock.now(), updated_at=clock.now())


@pytest.fixture
async def november(db):
    clock.freeze(NOVEMBER)


async def test_codes_follow_the_default_mask_one_after_another(november):
    assert await codes(3) == ["CU2611-00001", "CU2611-00002", "CU2611-00003"]


async def test_the_default_counter_restarts_each_month(november):
    await new()
    clock.freeze(utc(2027, 2, 1, 12))
    assert await new() == "CU2702-00001"


async def test_the_counter_does_not_reset_without_a_reset_part(november):
    await set_mask("CU{yy}{mm}-{00000}")
    await new()
    clock.freeze(utc(2027, 2, 1, 12))
    assert await new() == "CU2702-00002"


async def test_a_taken_code_is_skipped_and_never_given_twice(november):
    assert await new() == "CU2611-00001"
    await imported("CU2611-00002")
    await imported("CU2611-00004")
    assert await codes(3) == ["CU2611-00003", "CU2611-00005", "CU2611-00006"]
    all_codes = await ThirdParty.all().values_list("code", flat=True)
    assert len(all_codes) == len(set(all_codes)) == 6


async def test_type_masks_keep_one_counter_per_type(november):
    await set_mask("{t}{yy}-{0000}")
    made = [await new(kind) for kind in ("customer", "prospect", "customer", "both", "prospect", "customer")]
    assert made == ["C26-0001", "P26-0001", "C26-0002", "B26-0001", "P26-0002", "C26-0003"]


async def test_set_mask_is_for_admins_and_refuses_bad_masks(november):
    with pytest.raises(Forbidden):
        await set_mask("X{0000}", actor=ALICE)
    for object_type, text, field in [
        ("thirdparty", "X{00}", "mask.thirdparty"),
        ("thirdparty", "X{0000@0}", "mask.thirdparty"),  # a monthly reset without date parts would repeat codes
        ("thirdparty", "{yyyy}{foo}{0000}", "mask.thirdparty"),
        ("thirdparty", "", "mask.thirdparty"),
        ("quote", "X{0000}", "mask.quote"),
    ]:
        with pytest.raises(ValidationError) as error:
            await set_mask(text, object_type)
        assert error.value.field == field, text
    assert await NumberingMask.all().count() == 0
    assert (await numbering.current_mask("thirdparty")).text == DEFAULT_MASKS["thirdparty"]
    assert await new() == "CU2611-00001"


async def test_current_mask_defaults_and_stored(db):
    for object_type, text in DEFAULT_MASKS.items():
        assert (await numbering.current_mask(object_type)).text == text
    stored = await set_mask(" INV{yyyy}-{000000} ", "invoice")
    assert stored.text == "INV{yyyy}-{000000}"
    assert (await numbering.current_mask("invoice")).text == "INV{yyyy}-{000000}"
    assert (await NumberingMask.get(object_type="invoice")).updated_by == ADMIN.id


async def test_changing_the_mask_does_not_reset_the_counter(november):
    await codes(2)
    await set_mask("K{yy}{mm}-{000000@0}")  # the same monthly counter
    assert await new() == "K2611-000003"
    await set_mask(DEFAULT_MASKS["thirdparty"])
    assert await new() == "CU2611-00004"


async def test_a_raised_start_jumps_ahead_and_a_lower_one_never_goes_back(november):
    await codes(2)
    await set_mask("CU{yy}{mm}-{00000+500@0}")
    assert await codes(2) == ["CU2611-00500", "CU2611-00501"]
    await set_mask("CU{yy}{mm}-{00000+100@0}")
    assert await new() == "CU2611-00502"


async def test_a_start_applies_to_a_fresh_counter(november):
    await set_mask("{yyyy}-{0000+42}")
    assert await codes(2) == ["2026-0042", "2026-0043"]


async def test_a_monthly_reset_restarts_in_a_new_month_of_the_crm_timezone(db):
    await set_mask("M{yyyy}{mm}-{0000@0}")
    clock.freeze(utc(2026, 1, 31, 22, 30))  # 23:30 in Paris, still January
    assert await codes(2) == ["M202601-0001", "M202601-0002"]
    clock.freeze(utc(2026, 1, 31, 23, 30))  # 00:30 in Paris: February
    assert await codes(2) == ["M202602-0001", "M202602-0002"]
    # a clock a few minutes late (another machine) still counts on in January
    clock.freeze(utc(2026, 1, 31, 22, 59))
    assert await new() == "M202601-0003"
    clock.freeze(utc(2026, 3, 1, 0, 0))
    assert await new() == "M202603-0001"


async def test_a_yearly_reset_restarts_on_new_year_in_the_crm_timezone(db):
    await set_mask("Y{yyyy}-{0000+10@1}")
    clock.freeze(utc(2026, 12, 31, 22, 59))
    assert await codes(2) == ["Y2026-0010", "Y2026-0011"]
    clock.freeze(utc(2026, 12, 31, 23, 0))   # midnight in Paris
    assert await new() == "Y2027-0010"
    assert await new(tz=UTC) == "Y2026-0012"  # the same moment is still 2026 in UTC


async def test_a_counter_that_overflows_is_an_error_not_a_wrong_code(november):
    await set_mask("X{000+998}")
    assert await codes(2) == ["X998", "X999"]
    with pytest.raises(ValidationError) as error:
        await new()
    assert error.value.field == "mask"
    assert await ThirdParty.all().count() == 2
    await set_mask("X{0000}")
    assert await new() == "X1000"


@pytest.fixture
async def documents(november):
    """A table of records numbered like documents will be, until documents exist."""
    connection = connections.get("default")
    await connection.execute_script("CREATE TABLE crm_test_document (id INTEGER PRIMARY KEY, ref VARCHAR(64) UNIQUE)")
    try:
        yield
    finally:
        await connection.execute_script("DROP TABLE crm_test_document")


async def document_ref(object_type: str, number: int) -> str:
    async with context(tz=PARIS).transaction() as uow:
        await uow.connection.execute_script(f"INSERT INTO crm_test_document (id) VALUES ({number})")
        return await numbering.assign_code(uow, object_type, PARIS, numbering.Target("crm_test_document", "ref", number))


async def test_other_object_types_have_counters_of_their_own(documents):
    await codes(2)
    refs = [await document_ref("proposal", number) for number in (1, 2)]
    invoice = await document_ref("invoice", 3)
    assert refs == ["PR2611-00001", "PR2611-00002"]
    assert invoice == "IN2611-00001"
    assert await new() == "CU2611-00003"
    assert {(c.object_type, c.value) for c in await NumberingCounter.all()} == {
        ("thirdparty", 3), ("proposal", 2), ("invoice", 1)}


async def test_a_type_mask_needs_the_type(documents):
    await set_mask("{t}{yy}-{0000}", "proposal")
    with pytest.raises(ValidationError) as error:
        await document_ref("proposal", 1)
    assert error.value.field == "mask"


# --- failed creations leave no gap ---

async def test_a_failure_after_the_code_was_taken_leaves_no_gap(november):
    assert await new() == "CU2611-00001"
    async with faults.failing_inserts("crm_event"):
        with pytest.raises(Exception, match=faults.MESSAGE):
            await new(tags=["vip"], sales_reps=["U0BOB"])
    assert await ThirdParty.all().count() == 1
    assert await Event.all().count() == 1
    assert await new() == "CU2611-00002"


async def test_a_unique_violation_found_by_the_database_leaves_no_gap(november):
    """Two creators racing for one unique value: the loser's check passed, then the other one
    stored the value before it, and the database refuses the loser's."""
    siret = await customfields.define(context(ADMIN), "thirdparty", "siret", "SIRET", "string", unique=True)
    assert await new(custom={"siret": "1"}) == "CU2611-00001"
    other_writer = (f"INSERT INTO crm_custom_value (field_id, value, unique_value) "
                    f"VALUES ({siret.id}, '123', '123')")
    async with faults.write_before_inserts("crm_thirdparty", other_writer):
        with pytest.raises(ValidationError) as error:
            await new(custom={"siret": "123"})
    assert error.value.field == "cf.siret"
    assert await ThirdParty.all().count() == 1
    assert await new(custom={"siret": "456"}) == "CU2611-00002"


@pytest.mark.parametrize("custom", [{"siret": "123"}, {}, {"siret": "x" * 256}, {"other": "1"}])
async def test_a_custom_field_error_leaves_no_gap(november, custom):
    await customfields.define(context(ADMIN), "thirdparty", "siret", "SIRET", "string", unique=True, required=True)
    assert await new(custom={"siret": "123"}) == "CU2611-00001"
    with pytest.raises(ValidationError):
        await new(custom=custom)
    assert await new(custom={"siret": "456"}) == "CU2611-00002"

