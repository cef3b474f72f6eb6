"""The official MCP Python SDK (1.x) against necromap, as a real client.

    python client.py stdio|http NECROMAP_BINARY EXPECTED_PROTOCOL

Over stdio (`necromap --mcp --demo --no-store`) or Streamable HTTP
(`necromap --mcp --http 127.0.0.1:0 ...`, token from NECROMAP_MCP_TOKEN),
with the demo replayed fast:

1. the handshake negotiates EXPECTED_PROTOCOL (the SDK's newest);
2. tools/list and a few tool calls pass the SDK's own validation of
   structured content against each tool's output schema;
3. a subscription to necromap://findings is told of a new finding of medium
   or above (one the replay brings) within 2 s of its appearance;
4. closing the session logs no warning (the SDK logs
   "Session termination failed: <status>" unless DELETE answers 200).

Prints `ok: ...` lines and exits 0, or raises.
"""

import asyncio
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import time

from pydantic import AnyUrl

from mcp import ClientSession, types

MODE, BINARY, EXPECTED = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = "sdk-test-token-0123456789abcdef"
DEMO = ["--demo", "--no-store", "--interval", "200ms"]
SERIOUS = {"medium", "high", "critical"}


class Warnings(logging.Handler):
    """Every warning or error any logger writes."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()}")


WARNINGS = Warnings()
logging.getLogger().addHandler(WARNINGS)
logging.getLogger().setLevel(logging.INFO)


class Updates:
    """When each notifications/resources/updated arrived, by URI."""

    def __init__(self):
        self.times = {}

    async def __call__(self, message):
        if isinstance(message, Exception):
            raise message
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ResourceUpdatedNotification):
            self.times.setdefault(str(message.root.params.uri), []).append(time.monotonic())


def serious_ids(text):
    return {f["id"] for f in json.loads(text).get("findings", []) if f["severity"] in SERIOUS}


async def exercise(session: ClientSession, updates: Updates):
    try:
        await _exercise(session, updates)
    except BaseException:
        # anyio may hide this behind the transport's teardown errors.
        import traceback

        traceback.print_exc()
        raise


async def _exercise(session: ClientSession, updates: Updates):
    init = await session.initialize()
    assert init.protocolVersion == EXPECTED, f"negotiated {init.protocolVersion}, expected {EXPECTED}"
    assert init.capabilities.resources and init.capabilities.resources.subscribe, init.capabilities
    print(f"ok: {MODE} handshake on {init.protocolVersion}")

    tools = (await session.list_tools()).tools
    assert len(tools) == 20, [t.name for t in tools]
    for name, args in [
        ("analyze_connections", {}),
        ("list_connections", {"limit": 5}),
        ("explain_connection", {"pid": 3401, "remote_address": "203.0.113.200"}),
        ("get_suspicious_connections", {"detail": "full", "limit": 3}),
        ("list_processes", {"detail": "full", "with_connections": True, "limit": 3}),
    ]:
        r = await session.call_tool(name, args)
        assert not r.isError, (name, r.content)
        assert r.structuredContent, name
    bad = await session.call_tool("list_connections", {"limit": 0})
    assert bad.isError and "between 1 and 10000" in bad.content[0].text, bad
    print(f"ok: {MODE} tools answer and pass the SDK's output-schema validation")

    findings = AnyUrl("necromap://findings")
    await session.subscribe_resource(findings)
    await session.subscribe_resource(AnyUrl("necromap://alerts/recent"))
    known = serious_ids((await session.read_resource(findings)).contents[0].text)
    seen_at = before = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = time.monotonic()
        now = serious_ids((await session.read_resource(findings)).contents[0].text)
        if now - known:
            seen_at = time.monotonic()
            new = sorted(now - known)
            break
        known = now
        before = polled
        await asyncio.sleep(0.1)
    assert seen_at is not None, "the replay brought no new finding of medium or above in 30 s"
    # The notification may come before this poll saw the finding, never
    # before the poll that did not see it yet, and at the latest 2 s after.
    while time.monotonic() < seen_at + 2.5 and not any(t >= before for t in updates.times.get(str(findings), [])):
        await asyncio.sleep(0.05)
    told = [t for t in updates.times.get(str(findings), []) if t >= before]
    assert told, f"no notifications/resources/updated for {findings} within 2 s of {new}"
    assert told[0] <= seen_at + 2.0, f"told {told[0] - seen_at:.2f} s after {new} appeared"
    print(f"ok: {MODE} told of {new} {max(0.0, told[0] - seen_at):.2f} s after it was seen")
    try:
        await session.unsubscribe_resource(findings)
    except Exception as e:  # an old SDK without the method
        raise AssertionError(f"unsubscribe failed: {e}")


async def over_stdio():
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = dict(os.environ)
    params = StdioServerParameters(command=BINARY, args=["--mcp", *DEMO], env=env)
    updates = Updates()
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, message_handler=updates) as session:
            await exercise(session, updates)


async def over_http():
    try:
        from mcp.client.streamable_http import streamablehttp_client as connect
    except ImportError:
        from mcp.client.streamable_http import streamable_http_client as connect
    env = dict(os.environ, NECROMAP_MCP_TOKEN=TOKEN)
    server = subprocess.Popen(
        [BINARY, "--mcp", "--http", "127.0.0.1:0", *DEMO], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = None
        for line in server.stderr:
            if "at http://" in line:
                url = "http://" + line.split("at http://", 1)[1].split()[0].rstrip(";,")
                break
        assert url, "the server did not say where it listens"
        updates = Updates()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(url, headers=auth) as (read, write, session_id):
            async with ClientSession(read, write, message_handler=updates) as session:
                await exercise(session, updates)
                sid = session_id()
        assert sid, "the server gave no session id"
        # The SDK sent DELETE on leaving the context: the session is gone.
        import httpx

        async with httpx.AsyncClient() as http:
            again = await http.delete(url, headers={**auth, "Mcp-Session-Id": sid, "Mcp-Protocol-Version": EXPECTED})
        assert again.status_code == 404, f"the SDK's DELETE did not end session {sid}: a second DELETE got {again.status_code}"
        print(f"ok: http session {sid[:8]}… ended by the SDK's DELETE (a second one: 404)")
    finally:
        server.kill()
        server.wait()


asyncio.run(over_stdio() if MODE == "stdio" else over_http())
problems = [w for w in WARNINGS.records if "termination" in w.lower() or w.startswith("mcp")]
assert not problems, f"warnings logged: {problems}"
print(f"ok: {MODE} closed with no warning (mcp {importlib.metadata.version('mcp')})")
