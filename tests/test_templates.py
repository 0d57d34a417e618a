"""Email templates: Jinja2 in a sandbox over plain data, checked when saved (with and without
a contact and a document), chosen by language, and a default of each type."""
from dataclasses import replace

import pytest

from crm.errors import Forbidden, NotFound, ValidationError
from crm.mail import templates
from crm.mail.templates import (
    SAMPLE_COMPANY, SAMPLE_CONTACT, SAMPLE_DOCUMENT, SAMPLE_THIRDPARTY, Rendered, TemplateRecord, render, variables,
)
from models import EMAIL_TEMPLATE_TYPES, EmailTemplate
from tests.conftest import ADMIN, ALICE, context


@pytest.fixture
async def defaults(db):
    """The default templates, as start-up inserts them."""
    await templates.ensure_defaults()


def template(**parts) -> dict:
    return {"name": "greeting", "type": "contact", "language": "", "subject": "Hello",
            "text": "Hello {{ contact.first_name }}", "html": "<p>Hello {{ contact.first_name }}</p>", **parts}


def sample(contact=SAMPLE_CONTACT, document=SAMPLE_DOCUMENT) -> dict:
    return variables(thirdparty=SAMPLE_THIRDPARTY, contact=contact, document=document, user_name="Alice",
                     company=SAMPLE_COMPANY, unsubscribe_url="https://crm.example/u/t")


@pytest.mark.parametrize("source", [
    "{{ thirdparty.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ thirdparty.items.__self__ }}",
    "{{ contact.__init__.__globals__ }}",
    "{% set x = company.update({'name': 'evil'}) %}{{ x }}",
    "{{ [].append(1) }}",
    "{{ '{0.__class__}'.format(thirdparty) }}",
    "{{ (thirdparty|attr('__class__')) }}",
])
async def test_the_sandbox_refuses_what_reaches_past_the_data_at_save(db, source):
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(text=source))
    assert error.value.field == "text" and "Text body, line 1" in error.value.message
    assert await EmailTemplate.all().count() == 0


async def test_an_unknown_variable_or_field_is_refused_at_save_next_to_its_part(db):
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(html="<p>Hi</p>\n<p>{{ customer.name }}</p>"))
    assert error.value.field == "html"
    assert error.value.message == "HTML body, line 2: 'customer' is undefined"
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(subject="About {{ document.reff }}"))
    assert error.value.field == "subject" and "'reff'" in error.value.message
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(text="Hello\n{{ contact.first_name }\nBye"))
    assert error.value.field == "text" and error.value.message.startswith("Text body, line 2:")


async def test_a_subject_stays_on_one_line(db):
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(subject="Hello\nBcc: everyone@example.com"))
    assert error.value.field == "subject"
    with pytest.raises(ValidationError) as error:
        render(TemplateRecord(0, "x", "", "contact", "{{ contact.job_title }}", "", "x"),
               sample(contact=replace(SAMPLE_CONTACT, job_title="a\r\nb")))
    assert error.value.field == "subject"


def test_html_is_autoescaped_and_the_subject_and_text_are_not():
    evil = replace(SAMPLE_THIRDPARTY, name="<script>x</script> & Co")
    rendered = render(TemplateRecord(0, "x", "", "thirdparty", "{{ thirdparty.name }}", "<p>{{ thirdparty.name }}</p>",
                                     "{{ thirdparty.name }}"),
                      variables(thirdparty=evil, contact=None, document=None, user_name="A", company=SAMPLE_COMPANY,
                                unsubscribe_url=""))
    assert rendered.html == "<p>&lt;script&gt;x&lt;/script&gt; &amp; Co</p>"
    assert rendered.subject == rendered.text == "<script>x</script> & Co"


def test_an_absent_contact_and_document_render_their_fields_empty():
    parts = TemplateRecord(0, "x", "", "proposal", "Offer {{ document.ref }}", "<p>{{ contact.full_name }}</p>",
                           "Dear {{ contact.first_name }}, {{ document.total_incl_tax }} {{ document.issued_on }}")
    assert render(parts, sample(contact=None, document=None)) == Rendered("Offer ", "<p></p>", "Dear ,  ")
    with_both = render(parts, sample())
    assert with_both.subject == "Offer PR2601-00001" and with_both.text == "Dear Jane, 1200.00 2026-01-05"


def test_templates_get_plain_data_only():
    data = sample()
    assert set(data) == {"thirdparty", "contact", "document", "user", "company", "unsubscribe_url"}
    for value in data.values():
        assert isinstance(value, (dict, str))
        for field in value.values() if isinstance(value, dict) else ():
            assert isinstance(field, str)


async def test_the_variant_in_the_recipients_language_else_its_base_language_else_the_default(defaults):
    for language, subject in (("fr", "Bonjour"), ("de_AT", "Servus")):
        await templates.create(context(ADMIN), template(language=language, subject=subject))
    await templates.create(context(ADMIN), template())
    assert (await templates.pick("greeting", ["fr_CA", "en"])).language == "fr"
    assert (await templates.pick("greeting", ["", "de_AT"])).subject == "Servus"
    assert (await templates.pick("greeting", ["de", "fr"])).language == "fr"  # de_AT is no German for all
    assert (await templates.pick("greeting", ["es"])).language == ""
    assert (await templates.pick("greeting", [])).language == ""
    with pytest.raises(NotFound) as error:
        await templates.pick("farewell", ["fr"])
    assert "farewell" in str(error.value)


async def test_each_type_has_a_default_in_english_that_admins_can_edit(defaults):
    stored = {t.name: t for t in await templates.all_templates(context())}
    assert set(stored) == set(EMAIL_TEMPLATE_TYPES)
    assert all(t.type == t.name and t.language == "" for t in stored.values())
    assert "{{ unsubscribe_url }}" in stored["campaign"].html
    assert await templates.ensure_defaults() == []  # present: nothing added twice
    edited = await templates.update(context(ADMIN), stored["proposal"].id,
                                    {**template(), "name": "proposal", "type": "proposal", "subject": "Our offer"})
    assert (await templates.pick("proposal", ["en"])).subject == edited.subject == "Our offer"
    await templates.delete(context(ADMIN), stored["invoice"].id)
    assert await templates.ensure_defaults() == ["invoice"]


async def test_only_admins_change_templates_and_a_name_and_language_are_unique(db):
    with pytest.raises(Forbidden):
        await templates.create(context(ALICE), template())
    first = await templates.create(context(ADMIN), template(language="fr"))
    with pytest.raises(ValidationError) as error:
        await templates.create(context(ADMIN), template(language="fr"))
    assert error.value.field == "language" and "already has a variant in fr" in error.value.message
    for wrong, field in (({"name": ""}, "name"), ({"name": "x" * 65}, "name"), ({"type": "spam"}, "type"),
                         ({"language": "klingon"}, "language"), ({"text": " "}, "text")):
        with pytest.raises(ValidationError) as error:
            await templates.update(context(ADMIN), first.id, template(**wrong))
        assert error.value.field == field
    with pytest.raises(Forbidden):
        await templates.delete(context(ALICE), first.id)
