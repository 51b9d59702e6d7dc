"""The second job type: personalized news audio (``news_audio``) for the user's topics.

News comes from Brave Search through httpx when ``BRAVE_SEARCH_API_KEY`` is set, otherwise from
a bundled sample; the script and audio use the same providers as podcasts.
"""

from __future__ import annotations

from typing import Any

import httpx

from hakivo import setting
from hakivo.podcast import Generated, Step, iso, now
from hakivo.providers import Bill, ProviderError, audio_seconds, choose, estimated_cost

BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
SAMPLE_NEWS = [
    {
        "title": "Congress returns to a crowded fall calendar",
        "description": "Funding deadlines and farm policy top the agenda.",
        "topic": "Politics",
    },
    {
        "title": "States weigh changes to Medicaid eligibility checks",
        "description": "New federal rules shift work to state agencies.",
        "topic": "Healthcare",
    },
    {
        "title": "School districts plan for new federal education grants",
        "description": "Districts expect guidance on formula changes.",
        "topic": "Education",
    },
]


async def news_items(env: Any, topics: list[str]) -> tuple[list[dict[str, str]], str]:
    key = setting(env, "BRAVE_SEARCH_API_KEY")
    if not key:
        picked = [n for n in SAMPLE_NEWS if not topics or n["topic"] in topics] or SAMPLE_NEWS
        return picked, "sample news (offline: no BRAVE_SEARCH_API_KEY)"
    base = setting(env, "BRAVE_BASE_URL") or BRAVE_URL
    items: list[dict[str, str]] = []
    async with httpx.AsyncClient(timeout=20) as client:
        for topic in topics or ["Politics"]:
            response = await client.get(
                base,
                params={"q": f"{topic} legislation", "count": 5, "freshness": "pw"},
                headers={"X-Subscription-Token": key},
            )
            if response.status_code != 200:
                raise ProviderError(f"Brave Search answered {response.status_code}")
            for result in response.json().get("web", {}).get("results", [])[:2]:
                items.append(
                    {"title": result.get("title", ""), "description": result.get("description", ""), "topic": topic}
                )
    return items, "Brave Search"


async def generate_news_audio(env: Any, user: dict[str, Any], topics: list[str], step: Step) -> Generated:
    _, writer, audio_maker = choose(env)
    await step("bills", 20)
    items, source = await news_items(env, topics)
    stories = [
        Bill(
            f"news{i}",
            0,
            "news",
            str(i),
            n["title"],
            n["topic"],
            iso(now(env))[:10],
            n["description"],
            n["description"],
        )
        for i, n in enumerate(items)
    ]
    await step("script", 40)
    lines = await writer.write(stories, "news")
    transcript = "\n\n".join(f"{line.host.upper()}: {line.text}" for line in lines)
    await step("audio", 60)
    audio = await audio_maker.render(lines)
    await step("upload", 80)
    key = f"{user['id']}/news/{iso(now(env)).replace(':', '-').replace('.', '-')}.{audio_maker.extension}"
    await env.PODCAST_AUDIO.put(key, audio, http_metadata={"contentType": audio_maker.content_type})
    await step("metadata", 90)
    podcast = {
        "audioUrl": f"/cdn/{key}",
        "transcript": transcript,
        "billsCovered": [],
        "duration": audio_seconds(audio, audio_maker.content_type),
        "generatedAt": iso(now(env)),
    }
    return Generated(
        podcast,
        estimated_cost(len(transcript), writer.offline, audio_maker.offline),
        {"news": source, "script": writer.name, "audio": audio_maker.name},
    )
