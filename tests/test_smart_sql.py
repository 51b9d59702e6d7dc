"""SmartSQL: call-me-back's data path through sql_query, natural language through a local
OpenAI-compatible server, metadata from the live schema, and personal data found on writes."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App, BindingError
from tests.smart.fake_llm import FakeLlm

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "callmeback"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "cmb")
    return tmp_path / "cmb"


@pytest.fixture
async def app(project: Path) -> AsyncIterator[App]:
    async with App.from_manifest(project / "raindrop.manifest") as running:
        yield running


async def test_call_me_back_personas_and_scenarios_through_sql_query(app: App) -> None:
    personas = app.env.PERSONA_MANAGER
    listed = await personas.get_personas()
    assert [p["name"] for p in listed] == ["Sarah", "Brad"]  # public ones, newest first
    new_id = await personas.create_persona("O'Brien", "An Irish storyteller", "voice-ob", "You tell stories.", True)
    listed = await personas.get_personas()
    assert listed[0]["id"] == new_id and listed[0]["name"] == "O'Brien"  # a quote inside survives the formatting
    first = await personas.save_scenario("demo_user", "Dentist reminder", "Remind me about the dentist at 3 pm")
    await personas.save_scenario("demo_user", "Boss call", "Pretend to be my boss with an urgent problem")
    await personas.save_scenario("other_user", "Mom", "Call as my mother")
    await personas.use_scenario(first)
    await personas.use_scenario(first)
    scenarios = await personas.scenarios("demo_user")
    assert [(s["name"], s["use_count"]) for s in scenarios] == [("Dentist reminder", 2), ("Boss call", 0)]


async def test_replies_have_the_platform_shape_and_sql_errors_are_status_400(app: App) -> None:
    db = app.env.CALL_ME_BACK_DB
    ok = await db.execute_query(sql_query="SELECT id, name FROM personas WHERE is_public = 1 ORDER BY id")
    assert set(ok) == {"message", "results", "status", "query_executed", "ai_reasoning"}
    assert ok["status"] == 200 and ok["ai_reasoning"] is None
    assert json.loads(ok["results"]) == [{"id": "brad_001", "name": "Brad"}, {"id": "sarah_001", "name": "Sarah"}]
    assert ok["query_executed"] == "SELECT id, name FROM personas WHERE is_public = 1 ORDER BY id"
    as_csv = await db.execute_query(sql_query="SELECT id, name FROM personas ORDER BY id LIMIT 2", format="csv")
    assert as_csv["results"] == "id,name\nbrad_001,Brad\ndraft_001,Draft\n"
    write = await db.execute_query(sql_query="UPDATE personas SET tags = 'fun' WHERE id = 'brad_001'")
    assert write["status"] == 200 and "1 row(s) changed" in write["message"] and json.loads(write["results"]) == []
    bad = await db.execute_query(sql_query="SELECT nope FROM personas")
    assert bad["status"] == 400 and bad["message"] == "SQL error: no such column: nope" and bad["results"] is None
    two = await db.execute_query(sql_query="SELECT 1; DROP TABLE personas")
    assert two["status"] == 400 and "one SQL statement" in two["message"]
    assert (await db.execute_query(sql_query="SELECT count(*) AS n FROM personas"))["results"] == '[{"n":3}]'
    with pytest.raises(BindingError, match="sql_query or text_query"):
        await db.execute_query()
    with pytest.raises(BindingError, match="format is 'json' or 'csv'"):
        await db.execute_query(sql_query="SELECT 1", format="xml")  # type: ignore[arg-type]


async def test_text_query_offline_says_it_needs_a_model(app: App) -> None:
    reply = await app.env.CALL_ME_BACK_DB.execute_query(text_query="how many personas are public?")
    assert (
        reply["status"] == 501
        and "needs a language model" in reply["message"]
        and "raindrop.local.yaml" in reply["message"]
    )


async def test_text_query_through_a_local_openai_compatible_server(project: Path) -> None:
    with FakeLlm() as llm:
        (project / "raindrop.local.yaml").write_text(
            f"ai:\n  models:\n    llama-3.3-70b: {{provider: openai-compatible, base_url: '{llm.url}/v1', model: qwen2.5-coder}}\n"
        )
        async with App.from_manifest(project / "raindrop.manifest") as app:
            db = app.env.CALL_ME_BACK_DB
            llm.chat_reply = "```sql\nSELECT name FROM personas WHERE is_public = 1 ORDER BY name;\n```\nReasoning: public personas by name."
            reply = await db.execute_query(text_query="which personas can everyone use?")
            assert reply["status"] == 200 and json.loads(reply["results"]) == [{"name": "Brad"}, {"name": "Sarah"}]
            assert reply["query_executed"] == "SELECT name FROM personas WHERE is_public = 1 ORDER BY name"
            assert reply["ai_reasoning"] == "public personas by name."
            _, _, request = llm.requests[-1]
            prompt = request["messages"][0]["content"]
            assert "personas(id TEXT" in prompt and "e.g. 'Brad'" in prompt  # the live metadata as context
            assert request["messages"][1]["content"] == "which personas can everyone use?"

            llm.chat_reply = "```sql\nDELETE FROM personas\n```"
            refused = await db.execute_query(text_query="remove every persona")
            assert refused["status"] == 403 and "read-only" in refused["message"]
            assert json.loads((await db.execute_query(sql_query="SELECT count(*) AS n FROM personas"))["results"]) == [
                {"n": 3}
            ]
            llm.chat_reply = "WITH x AS (SELECT 1) DELETE FROM personas"  # a write behind a WITH is still a write
            assert (await db.execute_query(text_query="sneaky"))["status"] == 403
            llm.chat_reply = "I cannot help with that."
            assert (await db.execute_query(text_query="?"))["status"] == 422
        (project / "raindrop.local.yaml").write_text(
            f"ai:\n  models:\n    llama-3.3-70b: {{provider: openai-compatible, base_url: '{llm.url}/v1'}}\n"
            "smartsql:\n  call-me-back-db: {text_query_writes: true}\n"
        )
        async with App.from_manifest(project / "raindrop.manifest") as app:
            llm.chat_reply = "```sql\nDELETE FROM personas WHERE is_public = 0\n```"
            allowed = await app.env.CALL_ME_BACK_DB.execute_query(text_query="drop the drafts")
            assert allowed["status"] == 200 and "1 row(s) changed" in allowed["message"]


async def test_metadata_from_the_live_schema_and_stored_descriptions(app: App) -> None:
    db = app.env.CALL_ME_BACK_DB
    meta = await db.get_metadata()
    assert [t["table_name"] for t in meta["tables"]] == ["call_scenario_templates", "personas", "users"]
    personas = (await db.get_metadata(table_name="personas"))["tables"][0]
    columns = {c["column_name"]: c for c in personas["columns"]}
    assert columns["id"] == {
        "column_name": "id",
        "data_type": "TEXT",
        "sample_data": "brad_001",
        "nullable": True,
        "is_primary_key": True,
    }
    assert columns["name"]["nullable"] is False and columns["is_public"]["data_type"] == "INTEGER"
    assert columns["tags"]["sample_data"] is None
    result = await db.update_metadata(
        [
            {
                "table_name": "personas",
                "description": "AI personalities",
                "columns": [{"column_name": "voice", "description": "an ElevenLabs voice id"}],
            }
        ]
    )
    assert result == {"success": True, "tables_updated": 1, "message": "1 table(s) updated (replace)"}
    described = (await db.get_metadata(table_name="personas"))["tables"][0]
    assert described["description"] == "AI personalities" and described["created_at"] and described["updated_at"]
    voice = next(c for c in described["columns"] if c["column_name"] == "voice")
    assert voice["description"] == "an ElevenLabs voice id" and voice["data_type"] == "TEXT"
    await db.update_metadata(
        [{"table_name": "personas", "columns": [{"column_name": "name", "description": "shown to users"}]}],
        mode="merge",
    )
    merged = {c["column_name"]: c for c in (await db.get_metadata(table_name="personas"))["tables"][0]["columns"]}
    assert (
        merged["voice"]["description"] == "an ElevenLabs voice id" and merged["name"]["description"] == "shown to users"
    )
    appended = await db.update_metadata(
        [{"table_name": "personas", "description": "ignored"}, {"table_name": "users", "description": "people"}],
        mode="append",
    )
    assert appended["tables_updated"] == 1
    assert (await db.update_metadata([], mode="wipe"))["success"] is False  # type: ignore[arg-type]


async def test_personal_data_is_found_on_writes(app: App) -> None:
    db = app.env.CALL_ME_BACK_DB
    await db.execute_query(
        sql_query="INSERT INTO users (id, email, name, phone) VALUES "
        "('u1', 'demo@callmeback.ai', 'Demo', '+15555551234'), ('u2', 'plain@example.org', 'Card 4111 1111 1111 1111', NULL), "
        "('u3', 'x', 'nothing here', '12')"
    )
    found = await db.get_pii_data(table_name="users")
    by_record = {d["record_id"]: d for d in found["pii_detections"]}
    assert set(by_record) == {"u1", "u2"}
    kinds = {e["entity_type"]: e for e in by_record["u1"]["entities"]}
    assert set(kinds) == {"EMAIL", "PHONE_NUMBER"}
    email = kinds["EMAIL"]
    assert (
        email["detected_text"] == "demo@callmeback.ai" and email["start_position"] == 0 and email["end_position"] == 18
    )
    assert 0 < email["confidence_score"] <= 1 and email["token_index"] == 0
    assert [e["entity_type"] for e in by_record["u2"]["entities"]] == ["EMAIL", "CREDIT_CARD"]
    assert by_record["u1"]["detection_id"] and by_record["u1"]["detected_at"].endswith("Z")
    one = await db.get_pii_data(table_name="users", record_id="u2")
    assert [d["record_id"] for d in one["pii_detections"]] == ["u2"]
    await db.execute_query(sql_query="UPDATE users SET name = 'No card now' WHERE id = 'u2'")
    assert [
        e["entity_type"]
        for e in (await db.get_pii_data(table_name="users", record_id="u2"))["pii_detections"][0]["entities"]
    ] == ["EMAIL"]


async def test_json_built_by_sqlite_equals_the_rows(app: App) -> None:
    """Large SELECT replies are built in SQLite; every shape of row must read back as the rows
    the statement gives (order, NULLs, floats, unicode, expressions, joins, no rows)."""
    db = app.env.CALL_ME_BACK_DB
    await db.execute_query(
        sql_query="INSERT INTO users (id, email, name, phone) VALUES ('u\"1', 'e@x.org', 'Zoë \"quoted\" 🙂', NULL)"
    )
    for n in range(30):  # past the rows encoded in Python
        await db.execute_query(
            sql_query=f"INSERT INTO call_scenario_templates (id, user_id, name, scenario_text, use_count) VALUES ('t{n}', 'u', 'n{n}', 'é {n}', {n % 7})"
        )
    raw = db._db  # the same file through the plain binding
    for statement in [
        "SELECT * FROM call_scenario_templates ORDER BY use_count DESC, id",
        "SELECT id, use_count * 0.1 AS f, NULL AS nil FROM call_scenario_templates ORDER BY id DESC LIMIT 25",
        "SELECT * FROM personas ORDER BY created_at DESC",
        "SELECT * FROM users",
        "SELECT count(*), avg(is_public), 0.1 + 0.2 AS f, 1e300 AS big, -7 AS neg FROM personas",
        "SELECT t.name, p.name AS persona FROM call_scenario_templates t LEFT JOIN personas p ON p.id = t.user_id",
        "SELECT * FROM personas WHERE name = 'nobody'",
        'SELECT \'it\'\'s\' AS "a ""b""", name FROM call_scenario_templates',
    ]:
        reply = await db.execute_query(sql_query=statement)
        assert reply["status"] == 200, (statement, reply)
        assert json.loads(reply["results"]) == (await raw.prepare(statement).all())["results"], statement
    blob = await db.execute_query(sql_query="SELECT x'00ff' AS b")  # SQLite's JSON holds no BLOBs
    assert blob["status"] == 200 and json.loads(blob["results"]) == [{"b": "00ff"}]
    same = await db.execute_query(sql_query="SELECT 1 AS a, 2 AS a")  # repeated names: the ordinary path
    assert same["status"] == 200 and json.loads(same["results"]) == [{"a": 2}]
