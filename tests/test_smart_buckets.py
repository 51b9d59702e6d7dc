"""SmartBuckets: objects indexed after put, found by exact terms and by paraphrase, on every backend."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime import App, BindingError, LimitError
from runtime.smart.buckets import SmartBucket
from tests.backends import BACKENDS, backend_url
from tests.smart.corpus import content_stems, documents, queries

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "smart"


@pytest.fixture(params=BACKENDS)
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[App]:
    shutil.copytree(APP, tmp_path / "smart")
    running = App.from_manifest(
        tmp_path / "smart" / "raindrop.manifest",
        backend=backend_url(request.param, tmp_path),
        state_dir=tmp_path / "state",
    )
    async with running:
        yield running


async def put_corpus(app: App) -> SmartBucket:
    bucket = app.env.BILLS
    for key, text in documents().items():
        await bucket.put(key, text, http_metadata={"contentType": "text/plain"})
    await app.drain()
    assert isinstance(bucket, SmartBucket)
    return bucket


def test_paraphrase_queries_share_no_word_with_their_answer() -> None:
    pages = documents()
    labelled = queries()
    assert len(labelled["exact"]) + len(labelled["paraphrase"]) >= 30
    for text, key in labelled["paraphrase"]:
        assert not content_stems(text) & content_stems(pages[key]), (text, key)
    for text, key in labelled["exact"]:
        assert content_stems(text) & content_stems(pages[key]), (text, key)


def recall_at_5(bucket: SmartBucket, pairs: list[tuple[str, str]], mode: Any) -> float:
    index, embedder = bucket._index, bucket._embedder
    found = 0
    for text, key in pairs:
        (vector,) = embedder.embed([text])
        keys: list[str] = []
        for hit in index.search(bucket._collection, text, vector, mode=mode, limit=100):
            if hit.key not in keys:
                keys.append(hit.key)
        found += key in keys[:5]
    return found / len(pairs)


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
async def test_hybrid_search_has_the_best_recall_at_5(app: App) -> None:
    bucket = await put_corpus(app)
    labelled = queries()
    everything = labelled["exact"] + labelled["paraphrase"]
    recall = {mode: recall_at_5(bucket, everything, mode) for mode in ("lexical", "vector", "hybrid")}
    by_kind = {
        (mode, kind): recall_at_5(bucket, labelled[kind], mode)
        for mode in ("lexical", "vector", "hybrid")
        for kind in ("exact", "paraphrase")
    }
    print("recall@5", recall, by_kind)
    assert recall["hybrid"] > recall["lexical"] and recall["hybrid"] > recall["vector"], recall
    assert by_kind[("hybrid", "paraphrase")] >= 0.9 and by_kind[("lexical", "paraphrase")] <= 0.2
    assert by_kind[("hybrid", "exact")] >= by_kind[("vector", "exact")]


async def test_search_pages_and_result_shapes(app: App) -> None:
    bucket = await put_corpus(app)
    found = await bucket.search(input="microchip factories in America", request_id="r1")
    first = found["results"][0]
    assert set(first) == {"chunk_signature", "text", "source", "payload_signature", "score", "embed", "type"}
    assert first["source"] == "s1133.txt" and first["type"] == "text/plain" and 0 < first["score"] <= 1
    assert first["payload_signature"] == (await bucket.head("s1133.txt")).etag  # type: ignore[union-attr]
    assert len({r["source"] for r in found["results"]}) == len(found["results"])  # a document once
    page = found["pagination"]
    assert page["page"] == 1 and page["page_size"] == 10 and page["total"] > 10
    assert page["total_pages"] == -(-page["total"] // 10) and page["has_more"] == (page["total"] > 10)
    second = await bucket.get_paginated_results(request_id="r1", page=2, page_size=5)
    assert second["pagination"]["page_size"] == 5 and second["pagination"]["page"] == 2
    assert [r["source"] for r in second["results"]] == [
        r["source"]
        for r in (await bucket.get_paginated_results(request_id="r1", page=1, page_size=10))["results"][5:10]
    ]
    third = await bucket.get_paginated_results(request_id="r1", page=3)  # the previous page size (10) stays
    assert third["pagination"]["page_size"] == 10
    chunks = await bucket.chunk_search(input="Laken Riley", request_id="r2")
    assert chunks["results"][0]["source"] == "s5.txt" and "pagination" not in chunks
    with pytest.raises(BindingError, match="no search was made with request_id 'nope'"):
        await bucket.get_paginated_results(request_id="nope")
    with pytest.raises(BindingError, match="the search input is empty"):
        await bucket.search(input="   ")


async def test_indexing_state_deletes_and_content_types(app: App) -> None:
    bucket = app.env.BILLS
    await bucket.put("notes.md", "# Ferry schedules\n\nThe harbor ferry leaves every hour.")
    await bucket.put(
        "data.json", '{"topic": "lighthouse keepers", "count": 3}', http_metadata={"contentType": "application/json"}
    )
    await bucket.put(
        "photo.png", b"\x89PNG\r\n\x1a\n" + bytes(100), custom_metadata={"caption": "sunset over the marina"}
    )
    await bucket.put("blob.bin", b"\x00\x01\x02", http_metadata={"contentType": "application/octet-stream"})
    assert bucket.index_status("blob.bin")["state"] == "pending"  # the last put: the indexer has not reached it
    await app.drain()
    states = {s["key"]: s for s in bucket.index_status()}
    assert states["notes.md"]["state"] == "indexed" and states["notes.md"]["content_type"] == "text/markdown"
    assert states["data.json"]["state"] == "indexed"
    assert states["photo.png"]["state"] == "indexed" and "name and metadata only" in states["photo.png"]["detail"]
    assert states["blob.bin"]["state"] == "not_indexed" and "application/octet-stream" in states["blob.bin"]["detail"]
    assert (await bucket.get("blob.bin")).body == b"\x00\x01\x02"  # stored all the same
    assert (await bucket.chunk_search(input="harbor ferry", request_id="a"))["results"][0]["source"] == "notes.md"
    assert (await bucket.chunk_search(input="marina sunset", request_id="b"))["results"][0]["source"] == "photo.png"
    await bucket.delete("notes.md")
    assert bucket.index_status("notes.md") is None
    assert all(
        r["source"] != "notes.md" for r in (await bucket.chunk_search(input="harbor ferry", request_id="c"))["results"]
    )
    # a put that replaces an object replaces its chunks
    await bucket.put("data.json", '{"topic": "glacier research"}', http_metadata={"contentType": "application/json"})
    await app.drain()
    hits = (await bucket.chunk_search(input="lighthouse keepers", request_id="d"))["results"]
    assert all("lighthouse" not in r["text"] for r in hits)


async def test_partitions_scope_search(app: App) -> None:
    bucket = app.env.BILLS
    await bucket.put("a.txt", "volcanic eruptions in Iceland", custom_metadata={"partition": "tenant-a"})
    await bucket.put("b.txt", "volcanic eruptions in Hawaii", custom_metadata={"partition": "tenant-b"})
    await app.drain()
    only_a = await bucket.search(input="volcanic eruptions", request_id="p", partition="tenant-a")
    assert [r["source"] for r in only_a["results"]] == ["a.txt"]
    everywhere = await bucket.search(input="volcanic eruptions", request_id="q")
    assert {r["source"] for r in everywhere["results"]} == {"a.txt", "b.txt"}


async def test_pdfs_are_read_and_oversized_documents_refused(app: App) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 20 100 Td (Quarterly avalanche forecast for alpine passes) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(content)
    pdf = io.BytesIO()
    writer.write(pdf)
    bucket = app.env.BILLS
    await bucket.put("forecast.pdf", pdf.getvalue(), http_metadata={"contentType": "application/pdf"})
    await bucket.put("broken.pdf", b"%PDF-1.4 not really", http_metadata={"contentType": "application/pdf"})
    await app.drain()
    assert bucket.index_status("forecast.pdf")["state"] == "indexed"
    assert (await bucket.chunk_search(input="avalanche forecast", request_id="x"))["results"][0][
        "source"
    ] == "forecast.pdf"
    broken = bucket.index_status("broken.pdf")
    assert broken["state"] == "not_indexed" and "PDF cannot be read" in broken["detail"]
    with pytest.raises(LimitError, match="at most 50 MiB"):
        await bucket.put("huge.txt", b"x" * (50 * 1024 * 1024 + 1))
    assert await bucket.head("huge.txt") is None


async def test_document_chat_and_page_summary_answer_through_env_ai(app: App) -> None:
    bucket = await put_corpus(app)
    answer = await bucket.document_chat(object_id="s5.txt", input="Who must be detained?", request_id="chat")
    assert answer["answer"].startswith("[offline model") and "detain" in answer["answer"]
    await bucket.search(input="veterans", request_id="v")
    summary = await bucket.create_page_summary(page=1, page_size=3, request_id="v")
    assert "offline" in summary["summary"] and "eteran" in summary["summary"]
    with pytest.raises(BindingError, match=re.escape("'nope.txt' cannot be chatted with: it is not stored")):
        await bucket.document_chat(object_id="nope.txt", input="hi", request_id="x")


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
async def test_the_index_and_pending_work_survive_a_restart(app: App, tmp_path: Path) -> None:
    bucket = app.env.BILLS
    await bucket.put("kept.txt", "tidal energy turbines in the Bay of Fundy")
    await app.drain()
    await bucket.put("pending.txt", "migratory monarch butterflies")  # not drained: still pending at stop
    await app.stop()
    again = App.from_manifest(app.manifest.path, state_dir=tmp_path / "state")
    async with again:
        await again.drain()
        reopened = again.env.BILLS
        assert (await reopened.chunk_search(input="Fundy tidal", request_id="a"))["results"][0]["source"] == "kept.txt"
        assert reopened.index_status("pending.txt")["state"] == "indexed"
        assert (await reopened.chunk_search(input="monarch butterflies", request_id="b"))["results"][0][
            "source"
        ] == "pending.txt"
