"""A port of call-me-back's persona manager: its SQL through SmartSQL's sql_query, as the app does it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runtime import Service


async def execute_sql(db: Any, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
    """The app's executeSQL helper: arguments formatted inline, results parsed from JSON."""
    for arg in args or []:
        value = "'" + arg.replace("'", "''") + "'" if isinstance(arg, str) else "NULL" if arg is None else str(arg)
        sql = sql.replace("?", value, 1)
    result = await db.execute_query(sql_query=sql)
    if result["status"] != 200:
        raise RuntimeError(result["message"])
    if result["results"]:
        parsed = json.loads(result["results"])
        return parsed if isinstance(parsed, list) else [parsed]
    return []


class PersonaManager(Service):
    async def fetch(self, request: Request) -> Response:
        return Response("Not implemented", status_code=501)

    async def get_personas(self) -> list[dict[str, Any]]:
        self.env.logger.info("Fetching personas")
        rows = await execute_sql(
            self.env.CALL_ME_BACK_DB, "SELECT * FROM personas WHERE is_public = 1 ORDER BY created_at DESC", []
        )
        return [{"id": r["id"], "name": r["name"], "voice": r["voice"], "isPublic": bool(r["is_public"])} for r in rows]

    async def create_persona(self, name: str, description: str, voice: str, prompt: str, public: bool) -> str:
        persona_id = str(uuid.uuid4())
        await execute_sql(
            self.env.CALL_ME_BACK_DB,
            "INSERT INTO personas (id, name, description, voice, system_prompt, is_public, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [persona_id, name, description, voice, prompt, 1 if public else 0, "system"],
        )
        self.env.logger.info("Persona created", {"personaId": persona_id, "name": name})
        return persona_id

    async def save_scenario(self, user_id: str, name: str, text: str) -> str:
        template_id = str(uuid.uuid4())
        await execute_sql(
            self.env.CALL_ME_BACK_DB,
            "INSERT INTO call_scenario_templates (id, user_id, name, scenario_text) VALUES (?, ?, ?, ?)",
            [template_id, user_id, name, text],
        )
        return template_id

    async def use_scenario(self, template_id: str) -> None:
        await execute_sql(
            self.env.CALL_ME_BACK_DB,
            "UPDATE call_scenario_templates SET use_count = use_count + 1 WHERE id = ?",
            [template_id],
        )

    async def scenarios(self, user_id: str) -> list[dict[str, Any]]:
        return await execute_sql(
            self.env.CALL_ME_BACK_DB,
            "SELECT name, scenario_text, use_count FROM call_scenario_templates WHERE user_id = ? ORDER BY use_count DESC, name",
            [user_id],
        )
