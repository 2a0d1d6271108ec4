"""Objects the provider keeps, through the real SDKs against `cordon demo`:
stored (and background) responses, fine-tuning jobs and message batches are
the creating account's; anyone else gets the SDK's NotFoundError.

Run with tests/sdk/run.sh (see test_sdk.py for the environment it sets).
"""

import anthropic
import openai
import pytest

# The session fixtures (base URL, keys, one client per account) are test_sdk.py's.
from test_sdk import DIRECTIVE, MOCK_TEXT, PROMPT, ant, base_url, keys, oai  # noqa: F401


def test_background_response_is_retrieved_listed_and_deleted_by_its_owner(oai):
    owner = oai("us-citizen")
    created = owner.responses.create(model="lyric-4", input="Hi", background=True)
    assert created.id.startswith("resp_")
    assert created.status == "queued"

    done = owner.responses.retrieve(created.id)
    assert done.id == created.id
    assert done.status == "completed"
    assert done.output_text == MOCK_TEXT

    items = owner.responses.input_items.list(created.id)
    assert [i.content[0].text for i in items.data] == ["Hi"]

    owner.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        owner.responses.retrieve(created.id)


def test_another_accounts_response_is_not_found(oai):
    created = oai("us-citizen").responses.create(model="lyric-4", input="Hi")
    other = oai("foreign-national")
    with pytest.raises(openai.NotFoundError) as info:
        other.responses.retrieve(created.id)
    # The same answer as for an id nobody made: nothing confirms it exists.
    assert info.value.body["type"] == "not_found_error"
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(created.id)
    # Still the owner's.
    assert oai("us-citizen").responses.retrieve(created.id).output_text == MOCK_TEXT


def test_streamed_response_is_recorded_as_it_passes(oai):
    owner = oai("us-citizen")
    events = list(owner.responses.create(model="mythos-5", input="Hi", stream=True))
    assert events[0].type == "response.created"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == MOCK_TEXT
    assert owner.responses.retrieve(events[0].response.id).output_text == MOCK_TEXT


def test_fine_tuning_on_a_refused_base_model_is_refused_before_its_files_are_checked(oai):
    # The gateway decides on the base model first, then checks that the
    # training file is the caller's: a refused customer learns so without
    # uploading anything.
    with pytest.raises(openai.APIStatusError) as info:
        oai("foreign-national").fine_tuning.jobs.create(model="fable-5", training_file="file-abc123")
    e = info.value
    assert e.status_code == 451
    assert e.body["code"] == "cordon_denied"
    assert e.response.json()["cordon"]["directive"] == DIRECTIVE

    with pytest.raises(openai.BadRequestError) as info:
        oai("us-citizen").fine_tuning.jobs.create(model="fable-5", training_file="file-abc123")
    assert info.value.body["param"] == "training_file"


def test_fine_tuning_job_on_an_uploaded_training_file_is_its_owners(oai):
    owner, other = oai("us-citizen"), oai("foreign-national")
    training = ("train.jsonl", b'{"messages": [{"role": "user", "content": "Hi"}]}\n', "application/jsonl")
    f = owner.files.create(file=training, purpose="fine-tune")
    # Another account cannot train on the owner's file.
    with pytest.raises(openai.BadRequestError) as info:
        other.fine_tuning.jobs.create(model="lyric-4", training_file=f.id)
    assert info.value.body["param"] == "training_file"

    job = owner.fine_tuning.jobs.create(model="lyric-4", training_file=f.id)
    assert job.id.startswith("ftjob")
    assert job.training_file == f.id
    assert owner.fine_tuning.jobs.retrieve(job.id).id == job.id
    assert job.id in [j.id for j in owner.fine_tuning.jobs.list()]
    assert job.id not in [j.id for j in other.fine_tuning.jobs.list()]
    with pytest.raises(openai.NotFoundError):
        other.fine_tuning.jobs.retrieve(job.id)
    assert owner.fine_tuning.jobs.cancel(job.id).status == "cancelled"


def _batch(*models):
    return [
        {"custom_id": f"r{i}", "params": {"model": m, "max_tokens": 8, "messages": PROMPT}}
        for i, m in enumerate(models)
    ]


def test_message_batch_is_retrieved_and_its_results_read_by_its_owner(ant):
    owner = ant("us-citizen")
    created = owner.messages.batches.create(requests=_batch("fable-5", "lyric-4"))
    assert created.id.startswith("msgbatch_")

    got = owner.messages.batches.retrieve(created.id)
    assert got.id == created.id
    assert got.processing_status == "ended"

    # The SDK fetches `results_url`; the gateway points it at itself.
    results = list(owner.messages.batches.results(created.id))
    assert [r.custom_id for r in results] == ["r0", "r1"]
    assert all(r.result.type == "succeeded" for r in results)
    assert results[0].result.message.content[0].text == MOCK_TEXT

    listed = [b.id for b in owner.messages.batches.list()]
    assert created.id in listed

    other = ant("foreign-national")
    with pytest.raises(anthropic.NotFoundError):
        other.messages.batches.retrieve(created.id)
    with pytest.raises(anthropic.NotFoundError):
        other.messages.batches.cancel(created.id)
    assert created.id not in [b.id for b in other.messages.batches.list()]

    owner.messages.batches.delete(created.id)
    with pytest.raises(anthropic.NotFoundError):
        owner.messages.batches.retrieve(created.id)
