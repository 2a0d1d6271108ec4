"""The real OpenAI and Anthropic Python SDKs against `cordon demo`.

`tests/sdk/run.sh` starts the demo gateway and sets:
  CORDON_SDK_BASE_URL  e.g. http://127.0.0.1:PORT
  CORDON_SDK_KEYS      the JSON file of sample-account API keys (--keys-out)
"""

import json
import os
import re
import urllib.request

import pytest

# The SDKs read OPENAI_* / ANTHROPIC_* from the environment (organisation,
# project, auth token, base URL ...); none of that must leak into these tests.
for _name in list(os.environ):
    if _name.startswith(("OPENAI_", "ANTHROPIC_")):
        del os.environ[_name]

import anthropic  # noqa: E402
import openai  # noqa: E402

MOCK_TEXT = "Hello from the mock model server. This reply is streamed one token at a time."
MOCK_WORDS = MOCK_TEXT.split()
DIRECTIVE = "foreign-national-frontier-2026"
PROMPT = [{"role": "user", "content": "Hello"}]
BAD_KEY = "ck_00000000_thisisnotarealkeythisisnotarealkeythisisnotareal"


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("CORDON_SDK_BASE_URL")
    if not url:
        pytest.fail("CORDON_SDK_BASE_URL is not set: run the SDK tests with tests/sdk/run.sh")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def keys():
    path = os.environ.get("CORDON_SDK_KEYS")
    if not path:
        pytest.fail("CORDON_SDK_KEYS is not set: run the SDK tests with tests/sdk/run.sh")
    with open(path) as f:
        k = json.load(f)
    for account in ("us-citizen", "dual-national", "foreign-national", "unverified", "northwind", "licensed-org"):
        assert account in k, f"no key for sample account {account}"
    return k


@pytest.fixture(scope="session")
def oai(base_url, keys):
    """An OpenAI client per account, without retries."""

    def make(account, **kw):
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30)
        return openai.OpenAI(base_url=f"{base_url}/v1", api_key=keys.get(account, account), **kw)

    return make


@pytest.fixture(scope="session")
def ant(base_url, keys):
    """An Anthropic client per account, without retries."""

    def make(account, **kw):
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30)
        return anthropic.Anthropic(base_url=base_url, api_key=keys.get(account, account), **kw)

    return make


def responses_total(base_url, route, status):
    """`cordon_responses_total{route, status}` from /metrics (0 if absent)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/metrics", timeout=10) as r:
        text = r.read().decode()
    pattern = re.compile(
        r'^cordon_responses_total\{route="' + re.escape(route) + r'",status="' + str(status) + r'"\}\s+(\d+(?:\.\d+)?)\s*$',
        re.M,
    )
    m = pattern.search(text)
    return float(m.group(1)) if m else 0.0


# --------------------------------------------------------------------------- OpenAI SDK


@pytest.mark.parametrize(
    "account, model",
    [
        ("us-citizen", "fable-5"),
        ("us-citizen", "mythos-5"),
        ("us-citizen", "lyric-4"),
        ("licensed-org", "fable-5"),  # named in licence record L-2026-0042
        ("northwind", "fable-5"),  # the holder of licence record L-2026-0042, its own key
        ("foreign-national", "lyric-4"),
    ],
)
def test_openai_completion_allowed(oai, account, model):
    r = oai(account).chat.completions.create(model=model, messages=PROMPT)
    assert r.choices[0].message.content == MOCK_TEXT
    assert r.choices[0].message.role == "assistant"
    assert r.model == model


def test_openai_stream_yields_every_chunk_in_order(oai):
    stream = oai("us-citizen").chat.completions.create(model="mythos-5", messages=PROMPT, stream=True)
    deltas = []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
    assert "".join(deltas) == MOCK_TEXT
    assert len(deltas) == len(MOCK_WORDS)
    assert [d.strip() for d in deltas] == MOCK_WORDS


def _assert_openai_refusal(e, code, effect):
    assert isinstance(e, openai.APIStatusError)
    assert e.status_code == 451
    assert DIRECTIVE in e.message
    assert DIRECTIVE in str(e)
    # The SDK keeps the inner `error` object as `body`; the full body is on the response.
    assert e.body["code"] == code
    assert e.body["type"] == "permission_error"
    full = e.response.json()
    assert full["error"]["code"] == code
    assert DIRECTIVE in full["error"]["message"]
    assert full["cordon"]["directive"] == DIRECTIVE
    assert full["cordon"]["effect"] == effect
    assert e.response.headers["x-should-retry"] == "false"
    assert e.response.headers["x-cordon-directive"] == DIRECTIVE


@pytest.mark.parametrize("model", ["fable-5", "mythos-5"])
def test_openai_denial_is_451_status_error(oai, model):
    with pytest.raises(openai.APIStatusError) as info:
        oai("foreign-national").chat.completions.create(model=model, messages=PROMPT)
    e = info.value
    # 451 has no dedicated class in the OpenAI SDK: it is the base APIStatusError.
    assert not isinstance(e, (openai.PermissionDeniedError, openai.InternalServerError))
    _assert_openai_refusal(e, "cordon_denied", "deny")


def test_openai_streamed_denial_raises_before_any_chunk(oai):
    with pytest.raises(openai.APIStatusError) as info:
        oai("foreign-national").chat.completions.create(model="fable-5", messages=PROMPT, stream=True)
    _assert_openai_refusal(info.value, "cordon_denied", "deny")


def test_openai_verification_required(oai):
    with pytest.raises(openai.APIStatusError) as info:
        oai("unverified").chat.completions.create(model="mythos-5", messages=PROMPT)
    _assert_openai_refusal(info.value, "cordon_verification_required", "verification_required")


END_USER = "eve@tailspin.example"  # the demo's registered end user of `tailspin`: a German national


def test_openai_end_user_behind_an_organisation_key_is_decided_on_as_the_person(oai):
    client = oai("tailspin")
    # The U.S. organisation itself, and an end user it has not registered:
    # the order is about natural persons, which the organisation's own
    # account cannot answer, so it must verify who uses its key.
    for kw in ({}, {"safety_identifier": "someone-else"}):
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="fable-5", messages=PROMPT, **kw)
        _assert_openai_refusal(info.value, "cordon_verification_required", "verification_required")
    # Models the order does not cover are the organisation's as before.
    assert client.chat.completions.create(model="lyric-4", messages=PROMPT).model == "lyric-4"
    # The SDK's own end-user fields name the registered person.
    for kw in ({"safety_identifier": END_USER}, {"user": END_USER}):
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="fable-5", messages=PROMPT, **kw)
        _assert_openai_refusal(info.value, "cordon_denied", "deny")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fable-5", messages=PROMPT, user="a", safety_identifier="b")
    assert info.value.body["param"] == "safety_identifier"


def test_openai_default_client_does_not_retry_refusal(base_url, keys):
    route = "/v1/chat/completions"
    # A client with the SDK's default retry policy: the refusal must reach the gateway once.
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=keys["foreign-national"], timeout=30)
    assert client.max_retries > 0
    before = responses_total(base_url, route, 451)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="fable-5", messages=PROMPT)
    assert info.value.status_code == 451
    after = responses_total(base_url, route, 451)
    assert after - before == 1


def test_openai_models_are_filtered(oai):
    foreign = {m.id for m in oai("foreign-national").models.list()}
    assert "fable-5" not in foreign
    assert "mythos-5" not in foreign
    assert "lyric-4" in foreign
    citizen = {m.id for m in oai("us-citizen").models.list()}
    assert {"fable-5", "mythos-5", "lyric-4"} <= citizen


def test_openai_bad_key_is_authentication_error(oai):
    with pytest.raises(openai.AuthenticationError) as info:
        oai(BAD_KEY).chat.completions.create(model="fable-5", messages=PROMPT)
    assert info.value.status_code == 401


def test_openai_unknown_model_is_not_found(oai):
    with pytest.raises(openai.NotFoundError) as info:
        oai("us-citizen").chat.completions.create(model="no-such-model-9", messages=PROMPT)
    assert info.value.status_code == 404


# --------------------------------------------------------------------------- Anthropic SDK


@pytest.mark.parametrize("account", ["us-citizen", "dual-national", "licensed-org"])
def test_anthropic_messages_create(ant, account):
    m = ant(account).messages.create(model="fable-5", max_tokens=100, messages=PROMPT)
    assert m.role == "assistant"
    assert "".join(b.text for b in m.content if b.type == "text") == MOCK_TEXT


def test_anthropic_stream_yields_text_deltas_in_order(ant):
    with ant("us-citizen").messages.stream(model="mythos-5", max_tokens=100, messages=PROMPT) as stream:
        deltas = [t for t in stream.text_stream if t]
        final = stream.get_final_message()
    assert "".join(deltas) == MOCK_TEXT
    assert len(deltas) == len(MOCK_WORDS)
    assert [d.strip() for d in deltas] == MOCK_WORDS
    assert "".join(b.text for b in final.content if b.type == "text") == MOCK_TEXT


def _assert_anthropic_refusal(e, effect):
    assert isinstance(e, anthropic.APIStatusError)
    assert e.status_code == 451
    assert DIRECTIVE in e.message
    # The Anthropic SDK keeps the whole body.
    assert e.body["type"] == "error"
    assert e.body["error"]["type"] == "permission_error"
    assert DIRECTIVE in e.body["error"]["message"]
    assert e.body["cordon"]["directive"] == DIRECTIVE
    assert e.body["cordon"]["effect"] == effect
    assert e.response.headers["x-should-retry"] == "false"


def test_anthropic_denial_is_451_status_error(ant):
    with pytest.raises(anthropic.APIStatusError) as info:
        ant("foreign-national").messages.create(model="fable-5", max_tokens=100, messages=PROMPT)
    e = info.value
    # 451 has no dedicated class in the Anthropic SDK either (403 would be PermissionDeniedError).
    assert not isinstance(e, (anthropic.PermissionDeniedError, anthropic.InternalServerError))
    _assert_anthropic_refusal(e, "deny")


def test_anthropic_streamed_denial(ant):
    with pytest.raises(anthropic.APIStatusError) as info:
        with ant("foreign-national").messages.stream(model="mythos-5", max_tokens=100, messages=PROMPT) as s:
            for _ in s.text_stream:
                pytest.fail("a refused stream yielded text")
    _assert_anthropic_refusal(info.value, "deny")


def test_anthropic_verification_required(ant):
    with pytest.raises(anthropic.APIStatusError) as info:
        ant("unverified").messages.create(model="mythos-5", max_tokens=100, messages=PROMPT)
    _assert_anthropic_refusal(info.value, "verification_required")


def test_anthropic_end_user_behind_an_organisation_key_is_decided_on_as_the_person(ant):
    client = ant("tailspin")
    # The organisation's own account cannot answer an order about persons.
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="fable-5", max_tokens=100, messages=PROMPT)
    _assert_anthropic_refusal(info.value, "verification_required")
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="fable-5", max_tokens=100, messages=PROMPT, metadata={"user_id": END_USER})
    _assert_anthropic_refusal(info.value, "deny")


def test_anthropic_default_client_does_not_retry_refusal(base_url, keys):
    route = "/v1/messages"
    # A client with the SDK's default retry policy: the refusal must reach the gateway once.
    client = anthropic.Anthropic(base_url=base_url, api_key=keys["foreign-national"], timeout=30)
    assert client.max_retries > 0
    before = responses_total(base_url, route, 451)
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="fable-5", max_tokens=100, messages=PROMPT)
    assert info.value.status_code == 451
    after = responses_total(base_url, route, 451)
    assert after - before == 1


def test_anthropic_bad_key_is_authentication_error(ant):
    with pytest.raises(anthropic.AuthenticationError) as info:
        ant(BAD_KEY).messages.create(model="fable-5", max_tokens=100, messages=PROMPT)
    assert info.value.status_code == 401


def test_openai_responses_api_is_decided(oai):
    r = oai("foreign-national").responses.create(model="lyric-4", input="Hi")
    assert r.output_text == MOCK_TEXT
    with pytest.raises(openai.APIStatusError) as info:
        oai("foreign-national").responses.create(model="fable-5", input="Hi")
    _assert_openai_refusal(info.value, "cordon_denied", "deny")
    streamed = "".join(
        e.delta
        for e in oai("us-citizen").responses.create(model="fable-5", input="Hi", stream=True)
        if e.type == "response.output_text.delta"
    )
    assert streamed == MOCK_TEXT


def test_anthropic_count_tokens_is_decided(ant):
    assert ant("us-citizen").messages.count_tokens(model="mythos-5", messages=PROMPT).input_tokens == 5
    with pytest.raises(anthropic.APIStatusError) as info:
        ant("foreign-national").messages.count_tokens(model="mythos-5", messages=PROMPT)
    _assert_anthropic_refusal(info.value, "deny")


def test_anthropic_message_batch_is_refused_unless_every_request_is_allowed(ant):
    def req(custom_id, model):
        return {"custom_id": custom_id, "params": {"model": model, "max_tokens": 8, "messages": PROMPT}}

    batch = [req("a", "lyric-4"), req("b", "fable-5")]
    with pytest.raises(anthropic.APIStatusError) as info:
        ant("foreign-national").messages.batches.create(requests=batch)
    e = info.value
    assert e.status_code == 451
    assert [r["custom_id"] for r in e.body["cordon"]["refused"]] == ["b"]
    created = ant("us-citizen").messages.batches.create(requests=batch)
    assert created.processing_status == "in_progress"
