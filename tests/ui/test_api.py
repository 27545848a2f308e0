"""`rag serve` driven by clients nobody here wrote: the official `openai` package, plain HTTP for the
REST API, `gradio_client` for the chat mounted at `/`; keys, collections and errors as a user meets them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag import REFUSAL_TEXT
from tests.llm_servers import Script, ScriptedServer
from tests.ui.serving import ADMIN, HR_ONLY, READER, key_of, make_home, rag_serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FIRST = "When was the first pilot zone set up?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("api") / "home"
    make_home(home)
    with rag_serve(home, "--api-key", ADMIN, "--api-key", READER, "--api-key", HR_ONLY) as url:
        yield url


def client(url: str, key: str = ADMIN) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=url + "/v1", api_key=key_of(key), max_retries=0)


def auth(key: str = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_of(key)}"}


def test_openai_client_gets_a_cited_answer_with_the_citations_beside_it(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="default", messages=[{"role": "user", "content": FIRST}]
    )
    message = reply.choices[0].message
    assert "2015" in message.content and "[1]" in message.content
    rag = message.model_extra["rag"]
    assert rag["refused"] is False
    cited = rag["citations"][0]
    assert cited["n"] == 1 and cited["doc_id"] == "pilot-zones.md" and "Hangzhou" in cited["quote"]
    assert cited["end"] - cited["start"] == len(cited["quote"])
    assert reply.choices[0].finish_reason == "stop" and reply.model == "default"


def test_streamed_completion_sends_the_same_text_then_the_citations(server: str) -> None:
    bot = client(server)
    plain = bot.chat.completions.create(model="default", messages=[{"role": "user", "content": FIRST}])
    chunks = list(
        bot.chat.completions.create(
            model="default", messages=[{"role": "user", "content": FIRST}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert len(chunks) > 3  # the text arrives in pieces
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert last.delta.model_extra["rag"]["citations"][0]["quote"] in text


def test_a_follow_up_is_resolved_from_the_messages_without_asking_again(server: str) -> None:
    bot = client(server)
    first = bot.chat.completions.create(model="default", messages=[{"role": "user", "content": FIRST}])
    messages = [
        {"role": "system", "content": "Answer from the documents."},
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And how many cities did it expand to the next year?"},
    ]
    reply = bot.chat.completions.create(model="default", messages=messages)
    rag = reply.choices[0].message.model_extra["rag"]
    assert rag["resolved_question"].startswith(FIRST)  # the earlier question, taken from `messages`
    assert "12" in reply.choices[0].message.content and not rag["refused"]


def test_a_question_the_documents_cannot_answer_is_refused(server: str) -> None:
    reply = client(server).chat.completions.create(
        model="default", messages=[{"role": "user", "content": "What is the GDP of Mars in 2023?"}]
    )
    assert reply.choices[0].message.content == REFUSAL_TEXT
    assert reply.choices[0].message.model_extra["rag"] == {
        **reply.choices[0].message.model_extra["rag"],
        "refused": True,
        "citations": [],
    }


def test_a_wrong_key_is_401_and_no_key_too(server: str) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError, match="not one of them"):
        client(server, "sk-not-a-real-key").chat.completions.create(
            model="default", messages=[{"role": "user", "content": FIRST}]
        )
    plain = httpx.post(
        server + "/v1/chat/completions", json={"messages": [{"role": "user", "content": FIRST}]}
    )
    assert plain.status_code == 401 and "Authorization: Bearer" in plain.json()["error"]["message"]


def test_an_unknown_collection_is_404_naming_the_valid_ones(server: str) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        client(server).chat.completions.create(model="finance", messages=[{"role": "user", "content": FIRST}])
    message = caught.value.body["message"]  # type: ignore[index]
    assert "'finance'" in message and "default, hr" in message


def test_models_are_the_collections_this_key_may_use(server: str) -> None:
    assert [m.id for m in client(server).models.list()] == ["default", "hr"]
    assert [m.id for m in client(server, READER).models.list()] == ["default"]
    assert [m.id for m in client(server, HR_ONLY).models.list()] == ["hr"]


def test_model_names_the_collection_and_a_key_is_held_to_its_collections(server: str) -> None:
    import openai

    reply = client(server, HR_ONLY).chat.completions.create(
        model="hr", messages=[{"role": "user", "content": "How many days of paid leave do employees get?"}]
    )
    assert "27 days" in reply.choices[0].message.content
    assert reply.choices[0].message.model_extra["rag"]["citations"][0]["doc_id"] == "leave.md"
    with pytest.raises(openai.PermissionDeniedError, match="may use: hr"):
        client(server, HR_ONLY).chat.completions.create(
            model="default", messages=[{"role": "user", "content": FIRST}]
        )


def test_documents_limit_the_search_everywhere(server: str) -> None:
    question = "When does the night shift start?"
    reply = client(server).chat.completions.create(
        model="hr", messages=[{"role": "user", "content": question}], extra_body={"documents": ["leave.md"]}
    )
    assert {c["doc_id"] for c in reply.choices[0].message.model_extra["rag"]["citations"]} <= {"leave.md"}
    asked = httpx.post(
        server + "/api/v1/collections/hr/ask",
        json={"question": question, "documents": ["shifts.md"]},
        headers=auth(),
    ).json()
    assert "22:00" in asked["text"] and {c["doc_id"] for c in asked["citations"]} == {"shifts.md"}
    found = httpx.post(
        server + "/api/v1/collections/hr/retrieve",
        json={"question": question, "documents": ["leave.md"]},
        headers=auth(),
    ).json()
    assert found and {p["doc_id"] for p in found} == {"leave.md"}
    unknown = httpx.post(
        server + "/api/v1/collections/hr/ask",
        json={"question": question, "documents": ["nope.md"]},
        headers=auth(),
    )
    assert unknown.status_code == 400 and "no document named 'nope.md'" in unknown.json()["error"]["message"]


def test_rest_api_lists_adds_and_removes_documents_with_write_rights_only(
    server: str, tmp_path: Path
) -> None:
    listed = httpx.get(server + "/api/v1/collections/hr/documents", headers=auth()).json()
    assert sorted(d["id"] for d in listed) == ["leave.md", "shifts.md"]
    note = tmp_path / "canteen.md"
    note.write_text(
        "# Canteen\n\nThe Walrus Point canteen serves lunch from 11:30 to 14:00.\n", encoding="utf-8"
    )
    files = {"files": ("canteen.md", note.read_bytes(), "text/markdown")}
    denied = httpx.post(server + "/api/v1/collections/default/documents", files=files, headers=auth(READER))
    assert denied.status_code == 403 and "write rights" in denied.json()["error"]["message"]
    added = httpx.post(server + "/api/v1/collections/hr/documents", files=files, headers=auth(), timeout=120)
    assert added.status_code == 200, added.text
    body = added.json()
    assert [d["id"] for d in body["added"]] == ["uploads/canteen.md"] and body["documents"] == 3
    asked = httpx.post(
        server + "/api/v1/collections/hr/ask",
        json={"question": "When does the canteen serve lunch?"},
        headers=auth(),
    ).json()
    assert "11:30" in asked["text"] and asked["citations"][0]["doc_id"] == "uploads/canteen.md"
    gone = httpx.delete(server + "/api/v1/collections/hr/documents/uploads/canteen.md", headers=auth())
    assert gone.json() == {"removed": 1, "documents": 2}
    info = httpx.get(server + "/api/v1/collections/hr", headers=auth()).json()
    assert info["name"] == "hr" and info["documents"] == 2 and "path" not in info


def test_rest_ask_takes_history_and_export_gives_markdown_and_json(server: str) -> None:
    url = server + "/api/v1/collections/default/ask"
    first = httpx.post(url, json={"question": FIRST}, headers=auth()).json()
    second = httpx.post(
        url,
        json={
            "question": "And how many cities did it expand to the next year?",
            "history": [{"question": FIRST, "answer": first["text"]}],
        },
        headers=auth(),
    ).json()
    assert "12" in second["text"]
    md = httpx.post(server + "/api/v1/export", json={"answers": [first, second]}, headers=auth())
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert FIRST in md.text and first["citations"][0]["quote"] in md.text
    js = httpx.post(
        server + "/api/v1/export?format=json", json={"answers": [first, second]}, headers=auth()
    ).json()
    assert [t["question"] for t in js["turns"]] == [FIRST, second["question"]]
    bad = httpx.post(server + "/api/v1/export", json={"answers": [{"text": "x"}]}, headers=auth())
    assert bad.status_code == 400 and "as `ask` returned them" in bad.json()["error"]["message"]


def test_errors_are_json_that_name_the_problem(server: str) -> None:
    empty = httpx.post(server + "/api/v1/collections/default/ask", json={"question": " "}, headers=auth())
    assert empty.status_code == 400 and "the question is empty" in empty.json()["error"]["message"]
    shapeless = httpx.post(server + "/v1/chat/completions", json={"model": "default"}, headers=auth())
    assert shapeless.status_code == 422 and "messages" in shapeless.json()["error"]["message"]
    last_not_user = httpx.post(
        server + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": FIRST}, {"role": "assistant", "content": "x"}]},
        headers=auth(),
    )
    assert last_not_user.status_code == 400 and "last message must be the user's" in last_not_user.text
    nowhere = httpx.get(server + "/api/v1/nowhere", headers=auth())
    assert nowhere.status_code == 404 and nowhere.json()["error"]["message"]
    spec = httpx.get(server + "/openapi.json").json()  # open without a key, as /api/v1/health is
    assert "/v1/chat/completions" in spec["paths"] and "/api/v1/collections/{collection}/ask" in spec["paths"]
    assert httpx.get(server + "/api/v1/health").json()["status"] == "ok"


def test_the_chat_asks_for_a_key_once_then_works(server: str) -> None:
    browser = httpx.Client(base_url=server, follow_redirects=False)
    page = browser.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/rag/login?next=%2F"
    assert browser.post("/rag/login", data={"key": "sk-wrong-key-123"}).status_code == 401
    assert browser.post("/rag/login", data={"key": key_of(HR_ONLY)}).status_code == 401  # not for `default`
    signed = browser.post("/rag/login", data={"key": key_of(READER), "next": "/"})
    assert signed.status_code == 303 and "httponly" in signed.headers["set-cookie"].lower()
    assert browser.get("/", headers={"Accept": "text/html"}).status_code == 200
    # every other collection's chat is at /c/<name>/, behind the keys that may use it
    hr = browser.get("/c/hr/", headers={"Accept": "text/html"})
    assert hr.status_code == 303 and hr.headers["location"] == "/rag/login?next=%2Fc%2Fhr%2F"
    elsewhere = browser.post("/rag/login", data={"key": key_of(HR_ONLY), "next": "https://evil.example/"})
    assert elsewhere.status_code == 401  # an address off this server means "/", which this key may not use
    moved = browser.post("/rag/login", data={"key": key_of(HR_ONLY), "next": "/c/hr/"})
    assert moved.status_code == 303 and moved.headers["location"] == "/c/hr/"
    page = browser.get("/c/hr/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    config = browser.get("/c/hr/config").json()
    assert any("Collection: **hr**" in str(c.get("props", {}).get("value", "")) for c in config["components"])


def test_gradio_client_asks_the_chat_mounted_on_the_server(server: str) -> None:
    from gradio_client import Client

    chat = Client(server + "/", headers=auth(READER), verbose=False)
    answer = chat.predict(FIRST, [], 0, api_name="/ask")
    assert "2015" in answer["text"] and answer["citations"][0]["doc_id"] == "pilot-zones.md"


def test_llm_mode_streams_the_checked_answer(tmp_path: Path) -> None:
    question = "What did the Asia-Pacific retail e-commerce grow by in 2024?"
    with ScriptedServer("openai") as llm:
        llm.script(Script(template="It grew by 8.4% in 2024 [{n:8.4%}]. It was all cheese [9]."))
        env = {"RAG_LLM_BACKEND": "openai", "RAG_LLM_MODEL": "m", "RAG_LLM_URL": llm.url}
        with rag_serve(tmp_path / "home", "--mode", "llm", env=env) as url:
            chunks = list(
                client(url).chat.completions.create(
                    model="default", messages=[{"role": "user", "content": question}], stream=True
                )
            )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    rag = chunks[-1].choices[0].delta.model_extra["rag"]
    assert text.startswith("It grew by 8.4% in 2024. [1]") and "[9]" not in text  # checked: no made-up source
    assert rag["mode"] == "llm" and rag["citations"][0]["doc_id"] == "trade-figures.md"
