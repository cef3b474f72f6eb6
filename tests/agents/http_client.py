"""The official MCP Python SDK as a client of `necromap mcp-observe --http`.

    python http_client.py URL TOKEN

Connects to URL (the relay) with `Authorization: Bearer TOKEN`, lists the
tools, calls `list_connections` with `{"limit": 5}`, leaves (the SDK's
DELETE ends the session) and prints one JSON line: the tool names, whether
the call was an error and its first text block's length.
"""

import asyncio
import json
import sys

from mcp import ClientSession

URL, TOKEN = sys.argv[1], sys.argv[2]


async def main():
    try:
        from mcp.client.streamable_http import streamablehttp_client as connect
    except ImportError:
        from mcp.client.streamable_http import streamable_http_client as connect
    async with connect(URL, headers={"Authorization": f"Bearer {TOKEN}"}) as (read, write, session_id):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = (await session.list_tools()).tools
            r = await session.call_tool("list_connections", {"limit": 5})
            out = {
                "server": init.serverInfo.name,
                "tools": [t.name for t in tools],
                "is_error": bool(r.isError),
                "text_len": len(r.content[0].text) if r.content else 0,
            }
    print(json.dumps(out), flush=True)


asyncio.run(main())
