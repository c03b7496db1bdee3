"""The Python client and Node SDK clients on one bus (test/fixtures/py-interop.mjs): typed
signals both ways, calls both ways with every error code, names, and one interleaving of a Python
and a Node emitter seen identically by a Python and a Node recipient."""

import asyncio

from chorus_client import ChorusError

from support import DaemonTestCase


class Interop(DaemonTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.node_client = await self.node("py-interop.mjs", {})
        self.node_name = (await self.node_client.event("ready"))["name"]

    async def test_python_emits_to_a_typed_node_subscriber_and_back(self):
        py = await self.connect()
        await py.create("test.interop.Py")
        await py.join("test.interop.Node")
        self.node_client.command("subscribe")
        await self.node_client.event("subscribed")
        sent = {"n": 2**40, "label": "héllo", "raw": b"\x00\xff", "ratio": 0.25, "tags": ["a", "b"], "gone": None}
        await py.emit("test.interop.Py", "Reading", sent)
        reading = await self.node_client.event("reading")
        self.assertEqual(reading["sender"], py.name)
        self.assertEqual(reading["value"], {**sent, "raw": "00ff"})
        reply = await py.next_signal("test.interop.Node")
        self.assertEqual((reply.sig, reply.sender), ("Reply", self.node_name))
        self.assertEqual(reply.value, {"n": 2**40, "sender": py.name, "raw": b"\x00\xff"})
        # A value the Node contract refuses reaches it as 'invalid', never as a Reading.
        await py.emit("test.interop.Py", "Reading", {**sent, "n": 1.5})
        self.assertEqual((await self.node_client.event("invalid"))["signal"], "Reading")

    async def test_python_calls_node_with_every_error_code(self):
        py = await self.connect()
        self.assertEqual(await py.get_name_owner("test.interop.Node"), self.node_name)
        iface = "test.interop.Node"
        out = await py.call("test.interop.Node", "Echo", {"text": "hi"}, interface=iface)
        self.assertEqual(out, {"text": "hi", "caller": py.name})
        cases = [
            ("Echo", {"text": 3}, None, "INVALID_ARGS", None),
            ("Nope", {}, None, "UNKNOWN_METHOD", None),
            ("Fail", {"kind": "throw"}, None, "REMOTE_ERROR", "TypeError"),
            ("Fail", {"kind": "invalid-reply"}, None, "INVALID_REPLY", None),
            ("Fail", {"kind": "slow"}, 200, "TIMEOUT", None),
        ]
        for method, value, timeout_ms, code, name in cases:
            with self.subTest(code):
                with self.assertRaises(ChorusError) as caught:
                    await py.call("test.interop.Node", method, value, interface=iface, timeout_ms=timeout_ms)
                self.assertEqual((caught.exception.code, caught.exception.remote_name), (code, name))
        with self.assertRaises(ChorusError) as caught:
            await py.call("test.interop.Nobody", "Echo", {"text": "x"})
        self.assertEqual(caught.exception.code, "SERVICE_UNKNOWN")
        # Another interface at the same service: it answers from invoke.g only.
        with self.assertRaises(ChorusError) as caught:
            await py.call(self.node_name, "Echo", {"text": "x"}, interface="test.interop.Other")
        self.assertEqual(caught.exception.code, "UNKNOWN_METHOD")

    async def test_node_calls_python_with_every_error_code(self):
        py = await self.connect()

        async def slow(value, ctx):
            await ctx.aborted.wait()

        py.serve("test.interop.PySvc", {
            "Add": lambda v, ctx: {"sum": v["a"] + v["b"]},
            "Refuse": lambda v, ctx: (_ for _ in ()).throw(ChorusError("INVALID_ARGS", "refused")),
            "Boom": lambda v, ctx: 1 / 0,
            "BadOutput": lambda v, ctx: {"sum": "not a number"},
            "Slow": slow,
        })
        self.assertEqual(await py.request_name("test.interop.PySvc"), "primary-owner")
        self.node_client.command("callPython")
        called = await self.node_client.event("called")
        self.assertEqual(called["add"], {"ok": {"sum": 42}})
        self.assertEqual(called["invalidArgs"], {"code": "INVALID_ARGS"})
        self.assertEqual(called["remote"], {"code": "REMOTE_ERROR", "name": "ZeroDivisionError"})
        self.assertEqual(called["invalidReply"], {"code": "INVALID_REPLY"})
        self.assertEqual(called["unknownMethod"], {"code": "UNKNOWN_METHOD"})
        self.assertEqual(called["timeout"], {"code": "TIMEOUT"})

    async def test_one_interleaving_seen_by_python_and_node(self):
        count = 50
        owner = await self.connect()
        await owner.create("test.interop.Mix", {"emitters": "anyone", "loopback": True})
        recipient = await self.connect()
        await recipient.join("test.interop.Mix")
        self.node_client.command("mix", count=count)
        await self.node_client.event("mixJoined")
        emitter = await self.connect()
        self.node_client.command("mixEmit")
        await asyncio.gather(*(emitter.emit("test.interop.Mix", "Tick", {"e": "python", "i": i}) for i in range(count)))
        seen = [await recipient.next_signal("test.interop.Mix") for _ in range(2 * count)]
        python_view = [[s.seq, s.sender, s.value["e"], s.value["i"]] for s in seen]
        node_view = (await self.node_client.event("mixed"))["received"]
        self.assertEqual(node_view, python_view)
        self.assertEqual(sorted(s[0] for s in python_view), [s[0] for s in python_view])
        for who in ("python", "node"):
            self.assertEqual([s[3] for s in python_view if s[2] == who], list(range(count)))
