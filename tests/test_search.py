"""`/crm search` (SPEC §3): ranked in the database over every match, with the true total, in
pages; accents, case and scripts folded; one-letter typos tolerated; the actor's scope kept."""
import itertools
import json

import pytest

from bot.search import PAGE_ACTIONS
from crm import clock, contacts, search, thirdparties
from crm.db import connection as db_connection
from crm.errors import Ambiguous, ValidationError
from crm.normalize import fold, name_key
from models import ThirdParty
from tests.conftest import ALICE, context


async def new(name: str, kind: str = "customer", **values) -> ThirdParty:
    return await thirdparties.create(context(ALICE), {"name": name, "type": kind, **values})


BULK_CODES = itertools.count(1)


async def many(names: list[str], town: str = "") -> None:
    """Records written in one go, with the search text the domain computes."""
    now = clock.now()
    await ThirdParty.bulk_create([
        ThirdParty(code=f"BULK-{next(BULK_CODES):05}", name=name, name_fold=fold(name), name_key=name_key(name), type="customer",
                   town=town, search_text=search.haystack({"name": name, "town": town}, []),
                   created_at=now, updated_at=now, created_by=ALICE.id, updated_by=ALICE.id)
        for name in names])


async def names_found(text: str, **paging) -> list[str]:
    return [tp.name for tp in (await search.find(context(), text, **paging)).records]


async def test_ranks_exact_code_then_exact_name_then_prefix_then_inside_then_typos(db):
    coded = await new("Stellar Holdings")
    await ThirdParty.filter(id=coded.id).update(code="NOVA")
    await new("Nava Consulting")                           # one letter off
    await new("Blue Ocean", email="hello@nova.example")    # inside another field
    await new("Terranova")                                 # inside the name
    await new("Nova Systems")                              # the name starts with it
    await new("Nova")                                      # the exact name
    await new("Globex")
    assert await names_found("nova") == [
        "Stellar Holdings", "Nova", "Nova Systems", "Terranova", "Blue Ocean", "Nava Consulting"]


async def test_the_best_match_comes_first_however_many_match_and_the_total_is_true(db):
    await many([f"Boulangerie {n:03}" for n in range(260)], town="Paris")
    await new("Paris Saint-Germain")
    page = await search.find(context(), "paris")
    assert page.total == 261
    assert [tp.name for tp in page.records][:1] == ["Paris Saint-Germain"]
    assert len(page.records) == search.PAGE_SIZE
    assert (page.previous_offset, page.next_offset) == (None, 10)


async def test_pages_go_through_every_match_once(db):
    await many([f"Boulangerie {n:02}" for n in range(25)], town="Paris")
    pages = [await search.find(context(), "paris", offset) for offset in (0, 10, 20)]
    assert [len(page.records) for page in pages] == [10, 10, 5]
    assert len({tp.id for page in pages for tp in page.records}) == 25
    assert [(page.previous_offset, page.next_offset) for page in pages] == [(None, 10), (0, 20), (10, None)]
    beyond = await search.find(context(), "paris", 40)
    assert (beyond.records, beyond.total) == ([], 25)


@pytest.mark.parametrize("text", [
    "societe generale", "SOCIÉTÉ", "Générale", "generale societe",
    "socete",      # a letter missing
    "sociiete",    # a letter too many
    "genorale",    # a letter changed
    "socete generle",
])
async def test_accents_case_and_one_letter_typos(db, text):
    await new("Société Générale")
    await new("Globex")
    assert await names_found(text) == ["Société Générale"]


@pytest.mark.parametrize("text, expected", [
    ("москва", "ООО Москва"), ("МОСКВА", "ООО Москва"), ("масква", "ООО Москва"),  # a letter changed
    ("αθηνα", "Αθήνα Ναυτιλιακή"), ("ΑΘΗΝΑ", "Αθήνα Ναυτιλιακή"), ("ναυτιλιακη", "Αθήνα Ναυτιλιακή"),
    ("東京", "東京商事"), ("zurich", "Zürich Versicherung"),
])
async def test_every_script(db, text, expected):
    for name in ("ООО Москва", "Αθήνα Ναυτιλιακή", "東京商事", "Zürich Versicherung"):
        await new(name)
    assert await names_found(text) == [expected]


async def test_typos_are_whole_words_of_four_letters_or_more(db):
    await new("Acme", town="Lyon")
    assert await names_found("acne") == ["Acme"]
    assert await names_found("lyn") == []       # too short to be a typo
    assert await names_found("acmes") == ["Acme"]
    assert await names_found("acmeco") == []    # two letters off


async def test_a_text_many_records_match_is_taken_as_typed(db):
    await new("Parks Ltd")
    await many([f"Boulangerie {n:02}" for n in range(3)], town="Paris")
    assert (await search.find(context(), "paris")).total == 4  # "parks" may be a typo of it
    await many([f"Café {n:02}" for n in range(search.TYPOS_BELOW)], town="Paris")
    assert (await search.find(context(), "paris")).total == 3 + search.TYPOS_BELOW


async def test_codes_contacts_and_phones(db):
    acme = await new("Acme", phone="01 23 45 67 89", country="FR")
    await contacts.create(context(ALICE), acme.id, {"first_name": "Jürgen", "last_name": "Müller"})
    await new("Globex")
    for text in (acme.code, acme.code.lower(), acme.code[-5:], "jurgen muler", "0123456789"):
        assert await names_found(text) == ["Acme"], text


async def test_every_word_must_match(db):
    await new("Acme", town="Paris")
    await new("Globex", town="Lyon")
    assert await names_found("acme paris") == ["Acme"]
    assert await names_found("acme lyon") == []


async def test_only_what_the_actor_may_see_is_found_or_counted(db, monkeypatch):
    await new("Acme Paris", "customer")
    await new("Acme Lyon", "prospect")
    monkeypatch.setattr(search, "visible_thirdparties", lambda actor: ThirdParty.filter(type="customer"))
    page = await search.find(context(), "acme")
    assert ([tp.name for tp in page.records], page.total) == (["Acme Paris"], 1)


async def test_long_searches_are_refused_in_words(db):
    with pytest.raises(ValidationError, match="at most 300 characters"):
        await search.find(context(), "a" * 301)
    assert (await search.find(context(), "   ")).total == 0


async def test_an_ambiguous_ref_says_how_many_more_match(db):
    await many([f"Acme {n:02}" for n in range(14)])
    with pytest.raises(Ambiguous) as error:
        await thirdparties.resolve(context(), "acme")
    assert len(error.value.candidates) == thirdparties.MAX_REF_MATCHES
    assert "4 more are not listed; /crm search acme shows all 14." in str(error.value)


# --- in Slack ---

def texts(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def page_buttons(message: dict) -> dict[str, str]:
    """Label -> value of the Previous and Next buttons of a results message."""
    return {element["text"]["text"]: element["value"] for block in message["blocks"] if block["type"] == "actions"
            for element in block["elements"] if element["action_id"] in PAGE_ACTIONS.values()}


async def test_next_and_previous_page_through_the_results(db, alice):
    await many([f"Boulangerie {n:02}" for n in range(25)], town="Paris")
    first = await alice.ask("search paris")
    assert "25 matches for “paris”, 1–10" in texts(first)
    assert list(page_buttons(first)) == ["Next"]
    second = await alice.press(PAGE_ACTIONS["Next"], page_buttons(first)["Next"])
    assert "25 matches for “paris”, 11–20" in texts(second) and second["replace_original"] is True
    assert list(page_buttons(second)) == ["Previous", "Next"]
    last = await alice.press(PAGE_ACTIONS["Next"], page_buttons(second)["Next"])
    assert "25 matches for “paris”, 21–25" in texts(last)
    assert list(page_buttons(last)) == ["Previous"]
    back = await alice.press(PAGE_ACTIONS["Previous"], page_buttons(last)["Previous"])
    assert "11–20" in texts(back)


async def test_an_ambiguous_show_names_how_many_more(db, alice):
    await many([f"Acme {n:02}" for n in range(12)])
    answer = await alice.ask("show Acme")
    assert "2 more are not listed" in texts(answer)
    assert texts(answer).count("thirdparty_show") == thirdparties.MAX_REF_MATCHES


async def test_a_word_many_records_hold_follows_every_change_of_them(db):
    """On PostgreSQL such a word is counted and ranked from an index of the records' words (migration
    0011), kept in step by triggers with whatever writes the rows."""
    await many([f"Boulangerie {n:02}" for n in range(search.TYPOS_BELOW)], town="Paris")  # one statement
    bistro = await new("Bistro Parisien")
    moved = await ThirdParty.get(name="Boulangerie 00")
    assert await names_found("paris", page_size=2) == ["Bistro Parisien", "Boulangerie 00"]
    await thirdparties.update(context(ALICE), bistro.id, {"name": "Paris Bistro"})
    await thirdparties.update(context(ALICE), moved.id, {"town": "Lyon"})
    await ThirdParty.filter(name="Boulangerie 01").delete()
    globex = await new("Globex")
    await contacts.create(context(ALICE), globex.id, {"first_name": "Jean", "email": "jean@paris.example"})
    page = await search.find(context(), "paris", page_size=3)
    assert ([tp.name for tp in page.records], page.total) == (["Paris Bistro", "Boulangerie 02", "Boulangerie 03"],
                                                            search.TYPOS_BELOW)
    assert (await search.find(context(), "parisien")).total == 0


@pytest.mark.postgres_only
async def test_the_words_trigger_plans_each_call_for_the_tables_as_they_are(db):
    """A plan kept from when the tables were small would scan every third party's words at each
    creation (migration 0014)."""
    connection = db_connection()
    [row] = await connection.execute_query_dict(
        "SELECT proconfig FROM pg_proc WHERE proname = 'crm_index_thirdparty_words'")
    assert "plan_cache_mode=force_custom_plan" in row["proconfig"]
    for number in range(12):  # past the calls after which a kept plan would be generic
        await thirdparties.create(context(), {"name": f"Acme {number}", "type": "customer"})
    assert len(await search.search(context(), "acme", limit=20)) == 12
