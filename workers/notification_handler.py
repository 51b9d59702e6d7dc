"""Stores user notifications (podcast ready or failed) for the page to show."""

from __future__ import annotations

import json

from hakivo.podcast import now
from raindrop_gen import Env
from runtime import Each, Message


class NotificationHandler(Each[Env]):
    async def process(self, message: Message) -> None:
        body = message.body
        await (
            self.env.HAKIVO_DB.prepare(
                "INSERT INTO notifications (user_id, type, title, message, data, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            )
            .bind(
                body["userId"],
                body["type"],
                body.get("title", ""),
                body.get("message", ""),
                json.dumps(body),
                now(self.env),
            )
            .run()
        )
