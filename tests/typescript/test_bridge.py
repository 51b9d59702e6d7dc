"""How smart bindings' results are spelled for TypeScript: camelCase where the platform's API
has it, the user's own documents untouched."""

from __future__ import annotations

from runtime.typescript.bridge import Bridge


def test_search_hits_get_camel_case_keys_and_documents_stay_as_stored() -> None:
    result = {
        "success": True,
        "document_search_response": {
            "results": [{"chunk_signature": "k:0", "payload_signature": "k", "text": "{}", "score": 1.0}]
        },
        "page_info": {"total_pages": 1},
    }
    assert Bridge()._platform(result, 0) == {
        "success": True,
        "documentSearchResponse": {
            "results": [{"chunkSignature": "k:0", "payloadSignature": "k", "text": "{}", "score": 1.0}]
        },
        "pageInfo": {"totalPages": 1},
    }
    hits = {"results": [{"chunk_signature": "k:0", "source": {"user_id": "ada", "nested_list": [{"my_key": 1}]}}]}
    assert Bridge()._platform(hits, 0) == {
        "results": [{"chunkSignature": "k:0", "source": {"user_id": "ada", "nested_list": [{"my_key": 1}]}}]
    }
