"""The real OpenAI Python SDK against `cordon demo`: form endpoints (audio,
image edits), files and batches.

Run through `tests/sdk/run.sh`, which starts the demo and sets the
environment `test_sdk.py` documents; its fixtures are reused here.
"""

import json

import openai
import pytest

from test_sdk import DIRECTIVE, END_USER, base_url, keys, oai  # noqa: F401  (fixtures)

WAV = ("hello.wav", b"RIFF\x24\x00\x00\x00WAVEfmt fake audio", "audio/wav")
PNG = ("cat.png", b"\x89PNG\r\n\x1a\nnot really a png", "image/png")
MOCK_TEXT = "Hello from the mock model server. This reply is streamed one token at a time."


def _assert_451(e):
    assert isinstance(e, openai.APIStatusError)
    assert e.status_code == 451
    assert e.body["code"] == "cordon_denied"
    assert e.response.headers["x-cordon-decision-id"].startswith("dec_")


def _batch_file(lines):
    return ("batch.jsonl", "".join(json.dumps(line) + "\n" for line in lines).encode(), "application/jsonl")


def _chat_line(custom_id, model, **body):
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": "Hello"}], **body},
    }


# --------------------------------------------------------------------------- forms


@pytest.mark.parametrize("model", ["fable-5", "fable"])
def test_transcription_allowed(oai, model):
    r = oai("us-citizen").audio.transcriptions.create(model=model, file=WAV)
    assert r.text == MOCK_TEXT


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks translations deprecated
def test_transcription_and_translation_refused_with_451(oai):
    client = oai("foreign-national")
    with pytest.raises(openai.APIStatusError) as info:
        client.audio.transcriptions.create(model="fable-5", file=WAV)
    _assert_451(info.value)
    assert DIRECTIVE in info.value.message
    with pytest.raises(openai.APIStatusError) as info:
        client.audio.translations.create(model="mythos-5", file=WAV)
    _assert_451(info.value)
    # An unrestricted model is fine for the same customer.
    assert client.audio.transcriptions.create(model="lyric-4", file=WAV).text == MOCK_TEXT


def test_image_edit_allowed_refused_and_decided_for_the_named_end_user(oai):
    r = oai("us-citizen").images.edit(image=PNG, prompt="a hat", model="fable-5")
    assert r.data[0].b64_json
    with pytest.raises(openai.APIStatusError) as info:
        oai("foreign-national").images.edit(image=PNG, prompt="a hat", model="fable-5")
    _assert_451(info.value)
    # The organisation's key, naming its registered end user in the form.
    with pytest.raises(openai.APIStatusError) as info:
        oai("tailspin").images.edit(image=PNG, prompt="a hat", model="fable-5", user=END_USER)
    _assert_451(info.value)
    # Naming no end user, the organisation's own account cannot answer who
    # the person is, so the order's unknown decides; a model the order does
    # not cover is untouched.
    with pytest.raises(openai.APIStatusError) as info:
        oai("tailspin").images.edit(image=PNG, prompt="a hat", model="fable-5")
    assert info.value.status_code == 451
    assert info.value.response.headers["x-cordon-effect"] == "verification_required"
    assert oai("tailspin").images.edit(image=PNG, prompt="a hat", model="lyric-4").data


def test_form_without_model_is_a_400_naming_it(oai):
    with pytest.raises(openai.BadRequestError) as info:
        oai("us-citizen").images.edit(image=PNG, prompt="a hat")
    assert info.value.body["param"] == "model"


# --------------------------------------------------------------------------- files and batches


def test_batch_file_and_allowed_batch_are_the_creators_only(oai):
    me, other = oai("us-citizen"), oai("foreign-national")
    f = me.files.create(file=_batch_file([_chat_line("a", "fable-5"), _chat_line("b", "lyric-4", max_tokens=10)]), purpose="batch")
    assert f.purpose == "batch"
    assert me.files.retrieve(f.id).id == f.id
    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(f.id)
    with pytest.raises(openai.NotFoundError):
        other.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert f.id in {x.id for x in me.files.list()}
    assert f.id not in {x.id for x in other.files.list()}

    b = me.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert b.input_file_id == f.id
    with pytest.raises(openai.NotFoundError):
        other.batches.retrieve(b.id)
    with pytest.raises(openai.NotFoundError):
        other.batches.cancel(b.id)
    done = me.batches.retrieve(b.id)
    assert done.status == "completed"
    results = me.files.content(done.output_file_id).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in results] == ["a", "b"]
    with pytest.raises(openai.NotFoundError):
        other.files.content(done.output_file_id)
    assert b.id in {x.id for x in me.batches.list()}
    assert b.id not in {x.id for x in other.batches.list()}

    deleted = me.files.delete(f.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        me.files.retrieve(f.id)


def test_batch_with_a_refused_line_is_refused_with_451(oai):
    client = oai("foreign-national")
    f = client.files.create(file=_batch_file([_chat_line("fine", "lyric-4"), _chat_line("frontier", "fable-5")]), purpose="batch")
    with pytest.raises(openai.APIStatusError) as info:
        client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    e = info.value
    _assert_451(e)
    assert "line 2 `frontier`" in e.message
    assert DIRECTIVE in e.message
    refused = e.response.json()["cordon"]["refused"]
    assert [r["custom_id"] for r in refused] == ["frontier"]
    assert refused[0]["decision_id"].startswith("dec_")
    # The same customer's batch of unrestricted requests is created.
    ok = client.files.create(file=_batch_file([_chat_line("fine", "lyric-4")]), purpose="batch")
    b = client.batches.create(input_file_id=ok.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert client.batches.cancel(b.id).status == "cancelled"


def test_bad_batch_line_is_a_400_naming_its_line(oai):
    content = _batch_file([_chat_line("a", "lyric-4")])[1] + b'{"custom_id": "b", "method": "POST"}\n'
    with pytest.raises(openai.BadRequestError) as info:
        oai("us-citizen").files.create(file=("bad.jsonl", content), purpose="batch")
    assert info.value.body["message"].startswith("line 2 of the batch input file")
    assert "missing field" in info.value.message
    assert info.value.body["param"] == "file"
