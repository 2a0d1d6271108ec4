"""The OpenAI SDK's realtime client against `/v1/realtime`.

The session is decided before the WebSocket upgrade, on the model in the
query; once open, events that change what the session may do are decided
again, and a refused one comes back as a realtime `error` event.
"""

import openai
import pytest
from websockets.exceptions import InvalidStatus

from test_sdk import base_url, keys  # noqa: F401  (fixtures)


def client(base_url, keys, account):  # noqa: F811
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=keys[account], max_retries=0)


def test_a_refused_session_fails_its_handshake_with_451(base_url, keys):  # noqa: F811
    c = client(base_url, keys, "foreign-national")
    with pytest.raises(InvalidStatus) as e:
        with c.realtime.connect(model="fable-5") as conn:
            conn.recv()
    response = e.value.response
    assert response.status_code == 451
    assert response.headers.get("x-cordon-decision-id", "").startswith("dec_")
    assert b"cordon_denied" in response.body


def test_an_allowed_session_opens_and_keeps_its_model(base_url, keys):  # noqa: F811
    c = client(base_url, keys, "us-citizen")
    with c.realtime.connect(model="fable-5") as conn:
        created = conn.recv()
        assert created.type == "session.created"
        assert created.session.model == "fable-5"
        # Another model inside the session is refused as an error event.
        conn.session.update(session={"type": "realtime", "model": "lyric-4"})
        refused = conn.recv()
        assert refused.type == "error"
        assert refused.error.param == "session.model"
        # Tools for a U.S. citizen reach the upstream.
        conn.session.update(
            session={"type": "realtime", "tools": [{"type": "function", "name": "lookup", "parameters": {}}]}
        )
        updated = conn.recv()
        assert updated.type == "session.updated"
        assert [t.name for t in updated.session.tools] == ["lookup"]
        conn.response.create()
        kinds = []
        while not kinds or kinds[-1] != "response.done":
            kinds.append(conn.recv().type)
        assert kinds[0] == "response.created"


def test_a_foreign_national_opens_a_session_on_a_model_not_restricted(base_url, keys):  # noqa: F811
    c = client(base_url, keys, "foreign-national")
    with c.realtime.connect(model="lyric-4") as conn:
        assert conn.recv().type == "session.created"
