"""Test support: the real daemon (apps/chorusd/dist/main.js, built by `npm test`) in a child
process on a private socket, and Node SDK fixture scripts (test/fixtures/*.mjs)."""

import asyncio
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

REPO = pathlib.Path(__file__).resolve().parents[3]
DAEMON = REPO / "apps" / "chorusd" / "dist" / "main.js"
NODE = shutil.which("node")


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chorus-py-")
        os.chmod(self.dir, 0o700)
        self.socket = os.path.join(self.dir, "bus.sock")
        self.process = subprocess.Popen(
            [NODE, str(DAEMON), "--socket", self.socket, "--no-ws", "--log-level", "warn"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        )
        for line in self.process.stdout:
            if line.startswith("CHORUS_BUS_ADDRESS="):
                return
        raise RuntimeError("chorusd did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class DaemonTestCase(unittest.IsolatedAsyncioTestCase):
    """One daemon for the test class; each test uses its own group and name prefixes."""

    @classmethod
    def setUpClass(cls):
        if NODE is None or not DAEMON.exists():
            raise unittest.SkipTest("node or the built daemon (apps/chorusd/dist) is missing: run npm run build")
        cls.daemon = Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    async def asyncSetUp(self):
        self.clients = []
        self.nodes = []

    async def asyncTearDown(self):
        for node in self.nodes:
            await node.stop()
        for client in self.clients:
            await client.close()

    async def connect(self, **options):
        from chorus_client import Client

        client = await Client.connect(self.daemon.socket, **options)
        self.clients.append(client)
        return client

    async def node(self, script, options):
        node = await NodeFixture.start(script, {"address": self.daemon.socket, **options})
        self.nodes.append(node)
        return node


class NodeFixture:
    """A Node SDK client (test/fixtures/<script>): JSON options in, JSON-line events out, commands in."""

    @classmethod
    async def start(cls, script, options):
        self = cls()
        self.process = await asyncio.create_subprocess_exec(
            NODE, str(REPO / "test" / "fixtures" / script), json.dumps(options),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO,
        )
        return self

    async def event(self, name, timeout=20):
        """The next event named `name` (others before it are skipped); a 'failed' event raises."""
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"node fixture exited before '{name}'")
            event = json.loads(line)
            if event["event"] == "failed":
                raise RuntimeError(f"node fixture failed: {event}")
            if event["event"] == name:
                return event

    def command(self, cmd, **fields):
        self.process.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())

    async def stop(self):
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
