"""A port of Shop-ai's shopping-agent MCP server (its add tool and greeting resource), plus tools
that read the app's KV cache and keep state, as the platform's module shape has them."""

from __future__ import annotations

import json
from typing import Any

implementation = {"name": "shopping-agent", "version": "1.0.0"}


def register(server: Any, env: Any, state: Any) -> None:
    @server.tool(title="Addition Tool", description="Add two numbers")
    async def add(a: float, b: float) -> str:
        return str(a + b)

    @server.tool(description="The cached price of a product, by SKU")
    async def lookup_price(sku: str) -> str:
        cached = await env.PRODUCT_CACHE.get(f"price:{sku}", type="json")
        if cached is None:
            return f"no price cached for {sku}"
        return f"{cached['name']} costs {cached['price']} {cached['currency']}"

    @server.tool(description="Count the searches this agent has served")
    async def count_search() -> int:
        seen = (await state.storage.get("searches") or 0) + 1
        await state.storage.put("searches", seen)
        return int(seen)

    @server.tool(description="A tool that fails")
    async def out_of_stock(sku: str) -> str:
        raise RuntimeError(f"{sku} is out of stock")

    @server.resource("greeting://{name}", title="Greeting Resource", description="Dynamic greeting generator")
    def greeting(name: str) -> str:
        return f"Hello, {name}!"

    @server.prompt(description="Ask for a product recommendation")
    def recommend(budget: str) -> str:
        return json.dumps({"task": "recommend a product", "budget": budget})
