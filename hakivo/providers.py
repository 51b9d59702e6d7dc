"""The external services behind one small interface each, with the real clients and offline
stand-ins that say so.

- Bills: Congress.gov v3 through httpx (about 1 request/s, retries on 429/5xx), or a bundled
  sample of real bill records.
- Script: Claude through the ``anthropic`` SDK (a JSON array of ``{host, text}``, validated, one
  repair request on malformed output), or a writer that works from the bill records.
- Audio: ElevenLabs text-to-dialogue through the ``elevenlabs`` SDK (chunks of at most 4,500
  characters, two voices), or ``espeak-ng`` when installed, else a generated WAV whose length
  follows the text.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import httpx

from hakivo import setting

CONGRESS_URL = "https://api.congress.gov/v3"
CLAUDE_MODEL = "claude-haiku-4-5-20251001"
CHUNK_CHARS = 4500
COST_PER_GENERATION = {"claude_per_1k_chars": 0.004, "elevenlabs_per_1k_chars": 0.03}


class ProviderError(Exception):
    """An external service failed in a way a retry may fix (or not); the message says which."""


@dataclass(frozen=True)
class Bill:
    id: str  # e.g. "hr1234"
    congress: int
    bill_type: str
    bill_number: str
    title: str
    sponsor: str
    latest_action_date: str
    latest_action_text: str
    summary: str = ""

    def as_covered(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "sponsor": self.sponsor}


@dataclass(frozen=True)
class Line:
    host: str  # "sarah" | "james"
    text: str


class BillsProvider(Protocol):
    name: str
    offline: bool

    async def recent(self, limit: int) -> list[Bill]: ...


class ScriptWriter(Protocol):
    name: str
    offline: bool

    async def write(self, bills: list[Bill], kind: str) -> list[Line]: ...


class AudioMaker(Protocol):
    name: str
    offline: bool
    content_type: str
    extension: str

    async def render(self, lines: list[Line]) -> bytes: ...


def _bill(record: dict[str, Any]) -> Bill:
    bill_type = str(record.get("billType") or record.get("type", "")).lower()
    number = str(record.get("billNumber") or record.get("number", ""))
    sponsors = record.get("sponsors") or []
    sponsor = record.get("sponsorName") or (sponsors[0].get("fullName") if sponsors else "") or "Unknown sponsor"
    latest = record.get("latestAction") or {}
    return Bill(
        id=f"{bill_type}{number}",
        congress=int(record.get("congress", 0)),
        bill_type=bill_type,
        bill_number=number,
        title=str(record.get("title", "")),
        sponsor=str(sponsor),
        latest_action_date=str(record.get("latestActionDate") or latest.get("actionDate", "")),
        latest_action_text=str(record.get("latestActionText") or latest.get("text", "")),
        summary=str(record.get("summary", "")),
    )


class SampleBills:
    """Bundled real bill records, for running without a Congress.gov key."""

    name = "sample bills (offline: no CONGRESS_API_KEY)"
    offline = True

    async def recent(self, limit: int) -> list[Bill]:
        records = json.loads(resources.files("hakivo").joinpath("sample_bills.json").read_text())
        return [_bill(r) for r in records[:limit]]


class CongressBills:
    """Congress.gov v3: recent bills, newest first. Keeps to about one request per second."""

    name = "Congress.gov"
    offline = False
    _last_request = 0.0
    _lock = asyncio.Lock()

    def __init__(self, api_key: str, base_url: str = CONGRESS_URL, congress: int = 119, timeout: float = 20.0) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.congress = congress
        self.timeout = timeout

    async def recent(self, limit: int) -> list[Bill]:
        data = await self._get(f"/bill/{self.congress}", {"limit": min(limit, 250), "sort": "updateDate desc"})
        return [_bill({**b, "congress": b.get("congress", self.congress)}) for b in data.get("bills", [])[:limit]]

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {**params, "api_key": self.api_key, "format": "json"}
        delay = 1.0
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            for attempt in range(4):
                async with CongressBills._lock:  # about 1 request/s across the process
                    wait = CongressBills._last_request + 1.0 - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    CongressBills._last_request = time.monotonic()
                try:
                    response = await client.get(path, params=query)
                except httpx.HTTPError as exc:
                    error = f"Congress.gov request failed: {exc}"
                else:
                    if response.status_code == 200:
                        return dict(response.json())
                    error = f"Congress.gov answered {response.status_code}: {response.text[:200]}"
                    if response.status_code not in (429, 500, 502, 503, 504):
                        raise ProviderError(error)
                    retry_after = response.headers.get("retry-after")
                    if retry_after and retry_after.isdigit():
                        delay = max(delay, float(retry_after))
                if attempt < 3:
                    await asyncio.sleep(delay)
                    delay *= 2
        raise ProviderError(error)


SYSTEM_PROMPT = (
    'You write scripts for the civic podcast "HakiVo". Two hosts: Sarah explains the policy details, '
    "James brings out the human impact. NPR tone: warm, clear, fair. Write {lines} lines, 6000-9000 characters "
    'for a daily episode. Return ONLY a JSON array of objects {{"host": "sarah"|"james", "text": ...}}.'
)


def bills_prompt(bills: list[Bill], kind: str) -> str:
    parts = [f"Create a {kind} podcast episode covering these bills:"]
    for bill in bills:
        block = (
            f"\n{bill.bill_type.upper()} {bill.bill_number}\nTitle: {bill.title}\nSponsor: {bill.sponsor}\n"
            f"Latest Action: {bill.latest_action_text} ({bill.latest_action_date})"
        )
        if bill.summary:
            block += f"\nSummary: {bill.summary}"
        parts.append(block)
    parts.append("\nGenerate the complete dialogue script as a JSON array.")
    return "\n".join(parts)


def parse_script(text: str, minimum: int) -> list[Line]:
    """Lines from a model's answer: fences stripped, a JSON array of {host, text} validated."""
    cleaned = re.sub(r"^```(?:json)?|```$", "", text.strip(), flags=re.MULTILINE).strip()
    match = re.search(r"\[.*\]", cleaned, re.DOTALL)
    if match is None:
        raise ValueError("the answer holds no JSON array")
    data = json.loads(match.group(0))
    if not isinstance(data, list):
        raise ValueError("the script is not a list")
    lines = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise ValueError(f"line {index} is not an object with a text")
        host = str(item.get("host", "")).lower()
        if host not in ("sarah", "james"):
            raise ValueError(f"line {index} has host {item.get('host')!r}; expected sarah or james")
        lines.append(Line(host, item["text"].strip()))
    if len(lines) < minimum:
        raise ValueError(f"the script has {len(lines)} lines; at least {minimum} are needed")
    return lines


class ClaudeScriptWriter:
    name = "Claude"
    offline = False

    def __init__(self, api_key: str, base_url: str | None = None, model: str = CLAUDE_MODEL) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.model = model

    async def write(self, bills: list[Bill], kind: str) -> list[Line]:
        import anthropic

        # A client per call, closed after it: no connection outlives the job that opened it.
        async with anthropic.AsyncAnthropic(
            api_key=self.api_key, base_url=self.base_url, max_retries=3, timeout=120.0
        ) as client:
            return await self._write(client, bills, kind)

    async def _write(self, client: Any, bills: list[Bill], kind: str) -> list[Line]:
        import anthropic

        daily = kind != "weekly"
        minimum = 15 if daily else 30
        messages: list[dict[str, Any]] = [{"role": "user", "content": bills_prompt(bills, kind)}]
        problem = ""
        for _ in range(2):  # the answer, then one repair request
            try:
                response = await client.messages.create(
                    model=self.model,
                    max_tokens=8192 if daily else 12288,
                    temperature=0.7,
                    system=SYSTEM_PROMPT.format(lines="25-35" if daily else "40-50"),
                    messages=messages,
                )
            except anthropic.APIError as exc:
                raise ProviderError(f"Claude request failed: {exc}") from exc
            text = "".join(getattr(block, "text", "") for block in response.content)
            try:
                return parse_script(text, minimum)
            except ValueError as exc:
                problem = str(exc)
                messages += [
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": f"That was not usable ({problem}). Return only the JSON array."},
                ]
        raise ProviderError(f"Claude's script was malformed twice: {problem}")


class OfflineScriptWriter:
    """Writes a short dialogue from the bill records themselves (no model)."""

    name = "offline script writer (no ANTHROPIC_API_KEY)"
    offline = True

    async def write(self, bills: list[Bill], kind: str) -> list[Line]:
        if not bills:
            raise ProviderError("No bills available")
        lines = [
            Line("sarah", f"Welcome to your {kind} HakiVo briefing. I'm Sarah."),
            Line("james", "And I'm James. We have a few bills from Congress to walk through today."),
        ]
        for bill in bills:
            lines += [
                Line(
                    "sarah",
                    f"First up, {bill.bill_type.upper()} {bill.bill_number}, the {bill.title}, sponsored by {bill.sponsor}.",
                ),
                Line("james", "What's the latest on it?"),
                Line("sarah", f"On {bill.latest_action_date}: {bill.latest_action_text}"),
            ]
            if bill.summary:
                lines.append(Line("james", f"In plain terms: {bill.summary}"))
        lines.append(Line("sarah", "That's the briefing. Thanks for listening to HakiVo."))
        return lines


def chunks(lines: list[Line], limit: int = CHUNK_CHARS) -> list[list[Line]]:
    """Consecutive lines grouped so that each group's text stays within ``limit`` characters."""
    groups: list[list[Line]] = [[]]
    size = 0
    for line in lines:
        if groups[-1] and size + len(line.text) > limit:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line.text)
    return [g for g in groups if g]


class ElevenLabsAudio:
    name = "ElevenLabs"
    offline = False
    content_type = "audio/mpeg"
    extension = "mp3"

    def __init__(
        self, api_key: str, sarah_voice: str, james_voice: str, base_url: str | None = None, pause: float = 1.0
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.voices = {"sarah": sarah_voice, "james": james_voice}
        self.pause = pause

    async def render(self, lines: list[Line]) -> bytes:
        from elevenlabs.client import AsyncElevenLabs

        async with httpx.AsyncClient(timeout=180.0) as http:  # closed with the job, like the Claude client
            options: dict[str, Any] = {"api_key": self.api_key, "httpx_client": http}
            if self.base_url:
                options["base_url"] = self.base_url
            return await self._render(AsyncElevenLabs(**options), lines)

    async def _render(self, client: Any, lines: list[Line]) -> bytes:
        from elevenlabs.core.api_error import ApiError

        audio = bytearray()
        for index, group in enumerate(chunks(lines)):
            if index:
                await asyncio.sleep(self.pause)
            inputs = [
                {"text": line.text, "voice_id": self.voices.get(line.host, self.voices["james"])} for line in group
            ]
            try:
                async for piece in client.text_to_dialogue.convert(
                    inputs=inputs,
                    model_id="eleven_v3",
                    output_format="mp3_44100_192",
                ):
                    audio += piece
            except ApiError as exc:
                raise ProviderError(f"ElevenLabs text-to-dialogue failed: {exc.status_code} {exc.body}") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(f"ElevenLabs request failed: {exc}") from exc
        return bytes(audio)


class OfflineAudio:
    """Speech from espeak-ng when installed, else a WAV of soft tones as long as the speech would be."""

    offline = True
    content_type = "audio/wav"
    extension = "wav"

    def __init__(self) -> None:
        self.espeak = shutil.which("espeak-ng")
        self.name = (
            "espeak-ng (offline: no ELEVENLABS_API_KEY)"
            if self.espeak
            else "generated tones (offline: no ELEVENLABS_API_KEY, no espeak-ng)"
        )

    async def render(self, lines: list[Line]) -> bytes:
        text = " ".join(line.text for line in lines)
        if self.espeak:
            return await asyncio.to_thread(self._speak, text)
        return tone_wav(seconds_for(text))

    def _speak(self, text: str) -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "speech.wav"
            subprocess.run(
                [str(self.espeak), "-w", str(out), text[:20000]], check=True, capture_output=True, timeout=120
            )
            return out.read_bytes()


def seconds_for(text: str) -> int:
    """How long the text takes to say, at about 14.5 characters a second."""
    return max(1, math.ceil(len(text) / 14.5))


def tone_wav(seconds: int, rate: int = 4000) -> bytes:
    """A small 8-bit mono WAV of ``seconds`` with a quiet tone, silent between 'sentences'."""
    period = [int(128 + 20 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(rate // 220 * 11)]
    frames = bytearray()
    for second in range(seconds):
        beat = bytes(period * (rate // len(period))) if second % 4 != 3 else bytes([128]) * rate
        frames += beat[:rate].ljust(rate, b"\x80")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def wav_seconds(data: bytes) -> int:
    with wave.open(io.BytesIO(data)) as audio:
        seconds: float = audio.getnframes() / audio.getframerate()
        return round(seconds)


def audio_seconds(data: bytes, content_type: str) -> int:
    if content_type == "audio/wav":
        return wav_seconds(data)
    return max(1, round(len(data) / 24576))  # 192 kbps MP3


def estimated_cost(script_chars: int, writer_offline: bool, audio_offline: bool) -> float:
    """The provider cost of one generation, in dollars (offline providers cost nothing)."""
    cost = 0.0
    if not writer_offline:
        cost += script_chars / 1000 * COST_PER_GENERATION["claude_per_1k_chars"]
    if not audio_offline:
        cost += script_chars / 1000 * COST_PER_GENERATION["elevenlabs_per_1k_chars"]
    return round(cost, 4)


def choose(env: Any) -> tuple[BillsProvider, ScriptWriter, AudioMaker]:
    """The providers for this app: the real ones whose keys are set, offline ones otherwise."""

    bills: BillsProvider = SampleBills()
    if setting(env, "CONGRESS_API_KEY"):
        bills = CongressBills(
            str(setting(env, "CONGRESS_API_KEY")), setting(env, "CONGRESS_API_BASE_URL") or CONGRESS_URL
        )
    writer: ScriptWriter = OfflineScriptWriter()
    if setting(env, "ANTHROPIC_API_KEY"):
        writer = ClaudeScriptWriter(str(setting(env, "ANTHROPIC_API_KEY")), setting(env, "ANTHROPIC_BASE_URL"))
    audio: AudioMaker = OfflineAudio()
    if setting(env, "ELEVENLABS_API_KEY"):
        audio = ElevenLabsAudio(
            str(setting(env, "ELEVENLABS_API_KEY")),
            str(setting(env, "ELEVENLABS_SARAH_VOICE_ID") or "sarah"),
            str(setting(env, "ELEVENLABS_JAMES_VOICE_ID") or "james"),
            setting(env, "ELEVENLABS_BASE_URL"),
        )
    return bills, writer, audio
