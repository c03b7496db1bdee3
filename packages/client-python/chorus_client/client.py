"""An asyncio client of the Chorus bus, written from the wire spec (packages/protocol/README.md).

    client = await Client.connect("/run/user/1000/chorus/bus.sock", join=[{"g": "org.example.Battery"}])
    await client.create("org.example.Logs", {"emitters": "anyone"})
    await client.emit("org.example.Logs", "Line", {"text": "hi"})
    signal = await client.next_signal("org.example.Logs")

Signals are routed as they arrive, before and independently of any reply (spec section 9): each
group has a queue (`next_signal`), and `received` keeps every `sig` in arrival order.
"""

import asyncio
import inspect
import os
from dataclasses import dataclass, field

from .codec import NO_VALUE, decode_payload, encode_frame, encode_payload, parse_header
from .errors import ChorusError, ConnectionClosed
from .frames import FrameDecoder
from .names import BUS_NAME

PROTOCOL_VERSION = 1
MAX_SERIAL = 0xFFFF_FFFF


@dataclass
class Signal:
    g: str
    sig: str
    value: object
    seq: int
    gseq: int
    sender: str
    retained: bool = False
    payload: bytes = b""


@dataclass
class CallContext:
    """What a handler knows about the call it answers; `aborted` is set when the caller gave up."""

    sender: str
    dest: str
    interface: str
    method: str
    aborted: asyncio.Event = field(default_factory=asyncio.Event)
    abort_reason: str = ""


class Client:
    def __init__(self, reader, writer):
        self._reader = reader
        self._writer = writer
        self._serial = 0
        self._pending = {}  # serial -> Future[(header, payload)]
        self._queues = {}  # group -> asyncio.Queue[Signal | ('gclosed', reason)]
        self._services = {}  # interface -> {method: handler}
        self._invocations = {}  # invoke id -> (task, context)
        self.received = []  # every sig, in arrival order
        self.frames = []  # every frame header after welcome, in arrival order (for tests of order)
        self.connection_errors = []  # non-fatal err without s
        self.publish_errors = []  # the err of each failed publish, in order (it names g and sig)
        self.closed = asyncio.get_running_loop().create_future()
        self.welcome = None
        self._decoder = None
        self._task = None

    # ---- connection ----

    @classmethod
    async def connect(cls, path=None, *, join=None, client="python", token=None):
        """Connects and says hello. Raises ChorusError with the daemon's fatal error (no welcome)."""
        path = path or _default_address()
        reader, writer = await asyncio.open_unix_connection(path)
        self = cls(reader, writer)
        hello = {"t": "hello", "v": PROTOCOL_VERSION, "join": join, "token": token, "client": client}
        writer.write(encode_frame(hello))
        welcomed = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._read(welcomed))
        try:
            self.welcome = await welcomed
        except BaseException:
            writer.close()
            raise
        return self

    @property
    def name(self):
        return self.welcome["name"]

    @property
    def limits(self):
        return self.welcome["limits"]

    async def close(self):
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, BrokenPipeError):
            pass
        if self._task is not None:
            await asyncio.wait([self._task], timeout=5)

    def _send(self, message, payload=b""):
        frame = encode_frame(message, payload)
        if self.welcome is not None and len(frame) - 8 > self.limits["maxFrameBytes"]:
            raise ChorusError("FRAME_TOO_LARGE", f"frame of {len(frame) - 8} bytes exceeds maxFrameBytes")
        self._writer.write(frame)

    async def _read(self, welcomed):
        self._decoder = FrameDecoder()
        error = ConnectionClosed("CLOSED", "the connection closed")
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    break
                for header, payload in self._decoder.push(chunk):
                    message = parse_header(header, "daemon")
                    if self.welcome is None and not welcomed.done():
                        if message["t"] == "welcome":
                            # Set here, before the next frame of this chunk (hello.join's retained values).
                            self.welcome = message
                            self._decoder.max_frame_bytes = message["limits"]["maxFrameBytes"]
                            welcomed.set_result(message)
                            continue
                        if message["t"] == "err":
                            raise _error(message)
                    self._dispatch(message, payload)
        except ChorusError as fatal:
            error = fatal if isinstance(fatal, ConnectionClosed) else ConnectionClosed(
                fatal.code, fatal.msg, fatal=True, data=fatal.data
            )
        except (ConnectionError, OSError):
            pass
        for future in [welcomed, *self._pending.values()]:
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        for _task, context in self._invocations.values():
            context.abort_reason = "closed"
            context.aborted.set()
        if not self.closed.done():
            self.closed.set_result(error)

    def _dispatch(self, message, payload):
        t = message["t"]
        self.frames.append(message)
        if t == "sig":
            signal = Signal(
                message["g"], message["sig"], decode_payload(payload), message["seq"], message["gseq"],
                message["from"], message.get("r", False), payload,
            )
            self.received.append(signal)
            self._queue(message["g"]).put_nowait(signal)
        elif t in ("ok", "err"):
            serial = message.get("s")
            future = self._pending.pop(serial, None) if serial is not None else None
            if future is not None:
                future.set_result((message, payload))
            elif t == "err" and message.get("fatal"):
                raise _error(message)
            elif t == "err" and "sig" in message:
                self.publish_errors.append(_error(message))
            elif t == "err":
                self.connection_errors.append(_error(message))
        elif t == "gclosed":
            self._queue(message["g"]).put_nowait(("gclosed", message["reason"]))
        elif t == "invoke":
            self._invoke(message, payload)
        elif t == "abort":
            running = self._invocations.pop(message["id"], None)
            if running is not None:
                task, context = running
                context.abort_reason = message["reason"]
                context.aborted.set()
                task.cancel()
        elif t == "bye":
            raise ConnectionClosed("BYE", message["reason"])

    def _queue(self, group):
        queue = self._queues.get(group)
        if queue is None:
            queue = self._queues[group] = asyncio.Queue()
        return queue

    async def next_signal(self, group, timeout=10):
        """The next `sig` of `group` (or ('gclosed', reason)), in arrival order."""
        return await asyncio.wait_for(self._queue(group).get(), timeout)

    # ---- requests ----

    def _next_serial(self):
        while True:
            self._serial = self._serial % MAX_SERIAL + 1
            if self._serial not in self._pending:
                return self._serial

    def send_request(self, message, payload=b""):
        """Sends a request with the next serial; returns (serial, future of (reply header, payload))."""
        serial = self._next_serial()
        future = asyncio.get_running_loop().create_future()
        self._pending[serial] = future
        self._send({"t": message["t"], "s": serial, **{k: v for k, v in message.items() if k != "t"}}, payload)
        return serial, future

    async def request(self, message, payload=b"", timeout=30):
        """Sends a request and waits for its reply: the ok's (r, payload), or raises its err."""
        if self.closed.done():
            raise self.closed.result()
        _serial, future = self.send_request(message, payload)
        reply, body = await asyncio.wait_for(future, timeout)
        if reply["t"] == "err":
            raise _error(reply)
        return reply.get("r", {}), body

    async def create(self, group, options=None, schema=None):
        await self.request({"t": "create", "g": group, "o": options, "schema": schema})

    async def join(self, group, filters=None):
        """Joins; returns {startSeq, startGroupSeq}. Retained values follow the reply (spec §9)."""
        r, _ = await self.request({"t": "join", "g": group, "f": filters})
        return r

    async def leave(self, group):
        await self.request({"t": "leave", "g": group})

    async def close_group(self, group):
        await self.request({"t": "close", "g": group})

    async def emit(self, group, signal, value=NO_VALUE):
        """Emits; returns {seq, gseq, n}."""
        r, _ = await self.request({"t": "emit", "g": group, "sig": signal}, encode_payload(value))
        return r

    def publish(self, group, signal, value=NO_VALUE):
        """Emits without waiting: no ok comes when accepted (spec §6, publish); a failure lands in
        `publish_errors`, naming the group and signal. `flush()` waits until the daemon handled it."""
        self._send({"t": "emit", "s": self._next_serial(), "g": group, "sig": signal, "q": True},
                   encode_payload(value))

    async def flush(self):
        """Resolves once the daemon handled everything sent before (replies come in order)."""
        await self.ping()

    async def ping(self):
        await self.request({"t": "ping"})

    async def monitor(self, groups=None):
        await self.request({"t": "monitor", "g": groups})

    # ---- calls ----

    async def call(self, dest, method, value=None, *, interface=None, timeout_ms=None, timeout=30):
        """Calls `method` on `dest` (interface `g`); returns the decoded output. `value` None sends {}."""
        _r, body = await self.request(
            {"t": "call", "dest": dest, "m": method, "g": interface, "to": timeout_ms},
            encode_payload({} if value is None else value),
            timeout=timeout,
        )
        return decode_payload(body)

    def start_call(self, dest, method, value=None, *, interface=None, timeout_ms=None):
        """Sends a call without waiting: returns (serial, future); `cancel(serial)` abandons it."""
        message = {"t": "call", "dest": dest, "m": method, "g": interface, "to": timeout_ms}
        return self.send_request(message, encode_payload({} if value is None else value))

    def cancel(self, serial):
        """Abandons the call `serial`: its answer never comes (spec §10)."""
        self._pending.pop(serial, None)
        self._send({"t": "cancel", "id": serial})

    def serve(self, interface, handlers):
        """Answers calls whose interface (invoke.g) is `interface`: handlers[method](input, ctx),
        sync or async. Raise ChorusError(code, msg) to fail with a code; any other exception fails
        with REMOTE_ERROR and its class name."""
        self._services[interface] = dict(handlers)

    def _invoke(self, message, payload):
        invoke_id = message["id"]
        # Route on the interface the daemon checked (spec §10), never on another one.
        interface = message.get("g", message["dest"])
        handler = self._services.get(interface, {}).get(message["m"])
        if handler is None:
            self._fail(invoke_id, "UNKNOWN_METHOD", f"{interface} has no method '{message['m']}'")
            return
        try:
            value = decode_payload(payload)
        except ChorusError:
            self._fail(invoke_id, "INVALID_ARGS", "the input is not valid MessagePack")
            return
        context = CallContext(message["from"], message["dest"], interface, message["m"])
        task = asyncio.ensure_future(self._answer(invoke_id, handler, value, context))
        self._invocations[invoke_id] = (task, context)

    async def _answer(self, invoke_id, handler, value, context):
        try:
            output = handler(value, context)
            if inspect.isawaitable(output):
                output = await output
        except asyncio.CancelledError:
            return  # aborted: nobody wants the answer
        except ChorusError as error:
            if self._invocations.pop(invoke_id, None) is not None:
                self._fail(invoke_id, error.code, error.msg, error.remote_name)
            return
        except Exception as error:  # the handler failed: its name and message cross, not its stack
            if self._invocations.pop(invoke_id, None) is not None:
                self._fail(invoke_id, "REMOTE_ERROR", str(error), type(error).__name__)
            return
        if self._invocations.pop(invoke_id, None) is not None and not self.closed.done():
            self._send({"t": "ret", "id": invoke_id}, encode_payload(output))

    def _fail(self, invoke_id, code, msg, name=None):
        if not self.closed.done():
            self._send({"t": "fail", "id": invoke_id, "code": code, "msg": msg, "name": name})

    # ---- org.chorus.Bus (spec section 11) ----

    async def bus(self, method, value=None):
        return await self.call(BUS_NAME, method, value)

    async def request_name(self, name, **flags):
        value = {"name": name, "flags": flags} if flags else {"name": name}
        return (await self.bus("RequestName", value))["result"]

    async def release_name(self, name):
        return (await self.bus("ReleaseName", {"name": name}))["result"]

    async def get_name_owner(self, name):
        return (await self.bus("GetNameOwner", {"name": name}))["owner"]


def _error(message):
    return ChorusError(
        message["code"], message["msg"], fatal=message.get("fatal", False), serial=message.get("s"),
        data=message.get("data"), group=message.get("g"), signal=message.get("sig"),
    )


def _default_address():
    address = os.environ.get("CHORUS_BUS_ADDRESS")
    if address and address.startswith("unix:path="):
        return address[len("unix:path="):]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "chorus", "bus.sock") if runtime else f"/tmp/chorus-{os.getuid()}/bus.sock"
