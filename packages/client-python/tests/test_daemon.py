"""The Python client against the real daemon: handshake, groups, signals and their order,
errors, names, calls with every error code, monitors — each rule as the spec states it."""

import asyncio

from chorus_client import ChorusError, ConnectionClosed
from chorus_client.codec import NO_VALUE

from support import DaemonTestCase


class Handshake(DaemonTestCase):
    async def test_welcome(self):
        client = await self.connect()
        self.assertRegex(client.name, r"^:1\.[1-9][0-9]*$")
        self.assertEqual(client.welcome["v"], 1)
        self.assertGreater(client.limits["maxFrameBytes"], 0)
        self.assertGreater(client.limits["maxQueueBytes"], 0)

    async def test_unknown_group_in_hello_is_fatal_without_welcome(self):
        with self.assertRaises(ConnectionClosed) as caught:
            await self.connect(join=[{"g": "test.hello.Missing"}])
        self.assertEqual(caught.exception.code, "UNKNOWN_GROUP")
        self.assertTrue(caught.exception.fatal)

    async def test_bad_field_in_hello_is_fatal_with_its_path(self):
        with self.assertRaises(ConnectionClosed) as caught:
            await self.connect(join=[{"g": "test.hello.G", "f": [{"eq": {"level": [1]}}]}])
        self.assertEqual(caught.exception.code, "BAD_FIELD")
        self.assertEqual(caught.exception.path, ["join", 0, "f", 0, "eq", "level"])

    async def test_duplicate_hello_is_not_fatal(self):
        client = await self.connect()
        client._send({"t": "hello", "v": 1})
        await client.ping()
        self.assertEqual([e.code for e in client.connection_errors], ["DUPLICATE_HELLO"])


class Signals(DaemonTestCase):
    async def test_emit_reaches_members_with_its_payload(self):
        owner = await self.connect()
        await owner.create("test.sig.A", {"emitters": "anyone"})
        member = await self.connect()
        start = await member.join("test.sig.A")
        value = {"text": "hé", "n": 2**40, "f": 1.5, "b": b"\x00\x01", "none": None, "list": [1, "x"]}
        ack = await owner.emit("test.sig.A", "Line", value)
        self.assertEqual(ack["n"], 1)
        signal = await member.next_signal("test.sig.A")
        self.assertEqual((signal.sig, signal.value, signal.sender), ("Line", value, owner.name))
        self.assertEqual((signal.seq, signal.gseq), (ack["seq"], ack["gseq"]))
        self.assertEqual((signal.seq, signal.gseq), (start["startSeq"], start["startGroupSeq"]))
        await owner.emit("test.sig.A", "Tick")
        self.assertIs((await member.next_signal("test.sig.A")).value, NO_VALUE)

    async def test_publish_is_answered_only_when_it_fails(self):
        owner = await self.connect()
        await owner.create("test.sig.Pub", {"emitters": "owner"})
        member = await self.connect()
        await member.join("test.sig.Pub")
        owner.publish("test.sig.Pub", "Line", {"n": 1})
        owner.publish("test.sig.Missing", "Line", {"n": 2})
        owner.publish("test.sig.Pub", "Line", {"n": 3})
        await owner.flush()
        self.assertEqual([f["t"] for f in owner.frames[-2:]], ["err", "ok"])  # no ok per publish
        [error] = owner.publish_errors
        self.assertEqual((error.code, error.group, error.signal), ("UNKNOWN_GROUP", "test.sig.Missing", "Line"))
        values = [(await member.next_signal("test.sig.Pub")).value for _ in range(2)]
        self.assertEqual(values, [{"n": 1}, {"n": 3}])

    async def test_loopback_sig_comes_before_the_emit_ok(self):
        client = await self.connect()
        await client.create("test.sig.Loop", {"loopback": True})
        await client.join("test.sig.Loop")
        await client.emit("test.sig.Loop", "Echo", {"n": 1})
        kinds = [(f["t"], f.get("sig")) for f in client.frames[-2:]]
        self.assertEqual(kinds, [("sig", "Echo"), ("ok", None)])

    async def test_retained_values_follow_the_join_ok_with_older_seq(self):
        owner = await self.connect()
        await owner.create("test.sig.Ret", {"retain": True})
        first = await owner.emit("test.sig.Ret", "Level", {"percent": 1})
        second = await owner.emit("test.sig.Ret", "Mode", {"on": True})
        member = await self.connect()
        serial, reply = member.send_request({"t": "join", "g": "test.sig.Ret"})
        header, _ = await reply
        retained = [await member.next_signal("test.sig.Ret") for _ in range(2)]
        index = member.frames.index(header)
        self.assertEqual([f["t"] for f in member.frames[index : index + 3]], ["ok", "sig", "sig"])
        self.assertEqual([s.seq for s in retained], [first["seq"], second["seq"]])
        self.assertTrue(all(s.retained for s in retained))
        self.assertTrue(all(s.seq < header["r"]["startSeq"] for s in retained))
        live = await owner.emit("test.sig.Ret", "Level", {"percent": 2})
        self.assertGreaterEqual(live["seq"], header["r"]["startSeq"])
        self.assertEqual((await member.next_signal("test.sig.Ret")).seq, live["seq"])

    async def test_send_to_peer_reaches_the_owner_without_membership(self):
        owner = await self.connect()
        await owner.create("test.sig.Peer", {"emitters": "members", "sendToPeer": True})
        member = await self.connect()
        await member.join("test.sig.Peer")
        ack = await member.emit("test.sig.Peer", "Hi", {"n": 1})
        signal = await owner.next_signal("test.sig.Peer")
        self.assertEqual((signal.seq, signal.sender, signal.retained), (ack["seq"], member.name, False))

    async def test_filters(self):
        owner = await self.connect()
        await owner.create("test.sig.F")
        member = await self.connect()
        await member.join("test.sig.F", [{"sig": "Log", "eq": {"level": "error"}}])
        await owner.emit("test.sig.F", "Log", {"level": "info"})
        await owner.emit("test.sig.F", "Other", {"level": "error"})
        ack = await owner.emit("test.sig.F", "Log", {"level": "error"})
        self.assertEqual((await member.next_signal("test.sig.F")).seq, ack["seq"])

    async def test_gclosed(self):
        owner = await self.connect()
        await owner.create("test.sig.C")
        member = await self.connect()
        await member.join("test.sig.C")
        await owner.close_group("test.sig.C")
        self.assertEqual(await member.next_signal("test.sig.C"), ("gclosed", "closed"))

    async def test_bus_errors(self):
        owner = await self.connect()
        other = await self.connect()
        await owner.create("test.err.G")
        cases = [
            (other.join("test.err.Missing"), "UNKNOWN_GROUP"),
            (other.join("bad"), "INVALID_NAME"),
            (other.leave("test.err.G"), "NOT_MEMBER"),
            (owner.create("test.err.G"), "GROUP_EXISTS"),
            (other.close_group("test.err.G"), "NOT_OWNER"),
            (other.emit("test.err.G", "S"), "NOT_PERMITTED"),
            (owner.emit("test.err.G", "bad-signal"), "INVALID_NAME"),
            (other.create("org.chorus.Bus"), "GROUP_EXISTS"),
        ]
        for request, code in cases:
            with self.subTest(code):
                with self.assertRaises(ChorusError) as caught:
                    await request
                self.assertEqual(caught.exception.code, code)
                self.assertFalse(caught.exception.fatal)
        await owner.join("test.err.G")
        with self.assertRaises(ChorusError) as caught:
            await owner.join("test.err.G")
        self.assertEqual(caught.exception.code, "ALREADY_MEMBER")


class Names(DaemonTestCase):
    async def test_request_name_signals_come_before_the_reply(self):
        watcher = await self.connect()
        await watcher.join("org.chorus.Bus")
        client = await self.connect()
        self.assertEqual(await client.request_name("test.names.A"), "primary-owner")
        # NameAcquired was queued before the ok: already here when the reply is.
        acquired = client.received[-1]
        self.assertEqual((acquired.g, acquired.sig, acquired.sender, acquired.gseq),
                         ("org.chorus.Bus", "NameAcquired", "org.chorus.Bus", 0))
        self.assertEqual(acquired.value, {"name": "test.names.A"})
        changed = await watcher.next_signal("org.chorus.Bus")
        self.assertEqual(changed.sig, "NameOwnerChanged")
        self.assertGreater(changed.gseq, 0)
        self.assertEqual(changed.value, {"name": "test.names.A", "oldOwner": None, "newOwner": client.name})
        self.assertEqual(await client.get_name_owner("test.names.A"), client.name)
        second = await self.connect()
        self.assertEqual(await second.request_name("test.names.A"), "in-queue")
        self.assertEqual(await second.request_name("test.names.B", doNotQueue=True), "primary-owner")
        self.assertEqual(await client.release_name("test.names.A"), "released")
        self.assertEqual(await second.get_name_owner("test.names.A"), second.name)
        self.assertEqual(await client.release_name("test.names.Nobody"), "non-existent")
        self.assertIsNone(await client.get_name_owner("test.names.Nobody"))
        for bad in (":1.1", "org.chorus.Bus", "nodots"):
            with self.assertRaises(ChorusError) as caught:
                await client.request_name(bad)
            self.assertEqual(caught.exception.code, "INVALID_NAME")

    async def test_bus_method_errors(self):
        client = await self.connect()
        for method, value, code in [
            ("NoSuchMethod", {}, "UNKNOWN_METHOD"),
            ("GetNameOwner", {"name": 3}, "INVALID_ARGS"),
            ("GetGroupSchema", {"group": "test.names.Missing"}, "UNKNOWN_GROUP"),
        ]:
            with self.subTest(method):
                with self.assertRaises(ChorusError) as caught:
                    await client.bus(method, value)
                self.assertEqual(caught.exception.code, code)
        # An empty input counts as {} for the bus.
        _r, body = await client.request({"t": "call", "dest": "org.chorus.Bus", "m": "ListNames"})
        from chorus_client.codec import decode_payload

        self.assertIn("names", decode_payload(body))


class Calls(DaemonTestCase):
    async def service(self, name="test.calls.Svc"):
        service = await self.connect()

        def add(value, ctx):
            if not isinstance(value.get("a"), int):
                raise ChorusError("INVALID_ARGS", "a: expected an integer")
            return {"sum": value["a"] + value["b"], "caller": ctx.sender, "iface": ctx.interface}

        async def slow(value, ctx):
            await asyncio.sleep(30)

        def boom(value, ctx):
            raise ValueError("boom")

        def forged(value, ctx):
            raise ChorusError("NOT_OWNER", "pretending to be the bus")

        service.serve(name, {"Add": add, "Slow": slow, "Boom": boom, "Forged": forged,
                             "BadReply": lambda v, c: (_ for _ in ()).throw(ChorusError("INVALID_REPLY", "bad"))})
        await service.request_name(name)
        return service

    async def test_answers_and_every_error_code(self):
        service = await self.service()
        caller = await self.connect()
        out = await caller.call("test.calls.Svc", "Add", {"a": 2, "b": 3}, interface="test.calls.Svc")
        self.assertEqual(out, {"sum": 5, "caller": caller.name, "iface": "test.calls.Svc"})
        # Without g, a well-known dest is the interface; a unique dest, the one name its owner has.
        self.assertEqual((await caller.call("test.calls.Svc", "Add", {"a": 1, "b": 1}))["iface"], "test.calls.Svc")
        self.assertEqual((await caller.call(service.name, "Add", {"a": 1, "b": 1}))["iface"], "test.calls.Svc")
        cases = [
            ("test.calls.Nobody", "Add", {}, "SERVICE_UNKNOWN", None),
            ("test.calls.Svc", "Nope", {}, "UNKNOWN_METHOD", None),
            ("test.calls.Svc", "Add", {"a": "x", "b": 1}, "INVALID_ARGS", None),
            ("test.calls.Svc", "BadReply", {}, "INVALID_REPLY", None),
            ("test.calls.Svc", "Boom", {}, "REMOTE_ERROR", "ValueError"),
            ("test.calls.Svc", "Forged", {}, "REMOTE_ERROR", None),
        ]
        for dest, method, value, code, name in cases:
            with self.subTest(code=code, method=method):
                with self.assertRaises(ChorusError) as caught:
                    await caller.call(dest, method, value)
                self.assertEqual(caught.exception.code, code)
                self.assertEqual(caught.exception.remote_name, name)
        with self.assertRaises(ChorusError) as caught:
            await caller.call("test.calls.Svc", "Slow", {}, timeout_ms=100)
        self.assertEqual(caught.exception.code, "TIMEOUT")

    async def test_unique_dest_with_no_name_needs_g(self):
        service = await self.connect()
        service.serve("test.calls.Anon", {"Get": lambda v, c: {}})
        caller = await self.connect()
        with self.assertRaises(ChorusError) as caught:
            await caller.call(service.name, "Get")
        self.assertEqual((caught.exception.code, caught.exception.path), ("BAD_FIELD", ["g"]))
        self.assertEqual(await caller.call(service.name, "Get", interface="test.calls.Anon"), {})
        # The service answers from invoke.g only: another interface is UNKNOWN_METHOD.
        with self.assertRaises(ChorusError) as caught:
            await caller.call(service.name, "Get", interface="test.calls.Other")
        self.assertEqual(caught.exception.code, "UNKNOWN_METHOD")

    async def test_cancel_aborts_the_service_and_answers_nothing(self):
        service = await self.service("test.calls.Cancel")
        caller = await self.connect()
        serial, future = caller.start_call("test.calls.Cancel", "Slow")
        while not service._invocations:
            await asyncio.sleep(0.01)
        (_task, context), = service._invocations.values()
        caller.cancel(serial)
        await asyncio.wait_for(context.aborted.wait(), 10)
        self.assertEqual(context.abort_reason, "cancelled")
        await caller.ping()
        self.assertFalse(future.done())
        self.assertFalse(any(f.get("s") == serial for f in caller.frames))

    async def test_no_reply_and_serial_reuse(self):
        service = await self.service("test.calls.Gone")
        caller = await self.connect()
        serial, first = caller.start_call("test.calls.Gone", "Slow")
        while not service._invocations:
            await asyncio.sleep(0.01)
        # The same serial again while the first call waits: BAD_FIELD.
        second = asyncio.get_running_loop().create_future()
        caller._pending[serial] = second
        caller._send({"t": "call", "s": serial, "dest": "test.calls.Gone", "m": "Slow"}, b"\x80")
        reply, _ = await asyncio.wait_for(second, 10)
        self.assertEqual(reply["code"], "BAD_FIELD")
        caller._pending[serial] = first
        await service.close()
        reply, _ = await asyncio.wait_for(first, 10)
        self.assertEqual(reply["code"], "NO_REPLY")


class Monitors(DaemonTestCase):
    async def test_monitor_sees_signals_and_may_only_ping(self):
        owner = await self.connect()
        await owner.create("test.mon.G")
        monitor = await self.connect()
        await monitor.monitor(["test.mon.G"])
        ack = await owner.emit("test.mon.G", "S", {"n": 1})
        self.assertEqual((await monitor.next_signal("test.mon.G")).seq, ack["seq"])
        await monitor.ping()
        with self.assertRaises(ChorusError) as caught:
            await monitor.join("test.mon.G")
        self.assertEqual(caught.exception.code, "MONITOR_ONLY")
