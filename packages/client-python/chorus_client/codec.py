"""Headers and payloads (spec sections 2, 4, 5 and 13), written from the spec: every field of
every message type is checked for presence and type, unknown keys are ignored, nil counts as
absent, integers are accepted in any MessagePack format."""

import msgpack

from .errors import ChorusError
from .frames import join_frame

MAX_SERIAL = 0xFFFF_FFFF
MAX_COUNT = 2**53 - 1
MAX_NESTING_DEPTH = 100

EMITTERS = ("owner", "members", "anyone")
ON_FULL = ("block", "reject", "evict")
GCLOSED_REASONS = ("closed", "owner-left", "owner-evicted", "shutdown", "not-permitted")
ABORT_REASONS = ("cancelled", "timeout", "caller-left")


class FieldIssue(Exception):
    def __init__(self, path, message):
        super().__init__(message)
        self.path = path


# ---- value readers: each takes the value (None when absent or nil) and returns it or raises ----

def _integer(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def serial(value):
    n = _integer(value)
    if n is None or not 1 <= n <= MAX_SERIAL:
        raise FieldIssue([], f"expected an integer in 1..{MAX_SERIAL}")
    return n


def count(value):
    n = _integer(value)
    if n is None or not 0 <= n <= MAX_COUNT:
        raise FieldIssue([], "expected a non-negative integer")
    return n


def name(value):
    if isinstance(value, str) and value != "":
        return value
    raise FieldIssue([], "expected a non-empty string")


def text(value):
    if isinstance(value, str):
        return value
    raise FieldIssue([], "expected a string")


def boolean(value):
    if isinstance(value, bool):
        return value
    raise FieldIssue([], "expected a boolean")


def any_value(value):
    return value


def a_map(value):
    if isinstance(value, dict):
        return value
    raise FieldIssue([], "expected a map")


def enum(allowed):
    def read(value):
        if isinstance(value, str) and value in allowed:
            return value
        raise FieldIssue([], f"expected one of {', '.join(allowed)}")
    return read


def array(item):
    def read(value):
        if not isinstance(value, list):
            raise FieldIssue([], "expected an array")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except FieldIssue as issue:
                issue.path.insert(0, index)
                raise
        return out
    return read


def record(fields):
    """A map with these fields: [(key, reader, required)], read in order; unknown keys dropped."""
    def read(value):
        if not isinstance(value, dict):
            raise FieldIssue([], "expected a map")
        out = {}
        for key, reader, required in fields:
            field = value.get(key)
            if field is None:
                if required:
                    raise FieldIssue([key], "required")
                continue
            try:
                out[key] = reader(field)
            except FieldIssue as issue:
                issue.path.insert(0, key)
                raise
        return out
    return read


def eq_map(value):
    if not isinstance(value, dict):
        raise FieldIssue([], "expected a map")
    for key, field in value.items():
        if not (field is None or isinstance(field, (str, int, float, bool))):
            raise FieldIssue([key], "expected a string, number, boolean or nil")
    return dict(value)


FILTER = record([("sig", name, False), ("from", name, False), ("eq", eq_map, False)])
JOIN_SPEC = record([("g", name, True), ("f", array(FILTER), False)])
OPTIONS = record(
    [("emitters", enum(EMITTERS), False), ("loopback", boolean, False), ("sendToPeer", boolean, False),
     ("onFull", enum(ON_FULL), False), ("retain", boolean, False)]
)
JOIN_RESULT = record([("g", name, True), ("startSeq", count, True), ("startGroupSeq", count, True),
                      ("fseq", count, False)])


def limits(value):
    out = record([("maxFrameBytes", count, True), ("maxQueueBytes", count, True)])(value)
    for key, field in value.items():
        if key not in out and _integer(field) is not None:
            out[key] = field
    return out


def monitor_groups(value):
    return array(name)(value)


# The message types of each direction, fields in wire order (spec sections 4 and 5).
CLIENT_TYPES = {
    "hello": [("v", count, True), ("join", array(JOIN_SPEC), False), ("token", text, False), ("client", text, False)],
    "create": [("s", serial, True), ("g", name, True), ("o", OPTIONS, False), ("schema", any_value, False)],
    "join": [("s", serial, True), ("g", name, True), ("f", array(FILTER), False), ("fseq", count, False),
             ("own", array(name), False)],
    "leave": [("s", serial, True), ("g", name, True)],
    "close": [("s", serial, True), ("g", name, True)],
    "emit": [("s", serial, True), ("g", name, True), ("sig", name, True), ("q", boolean, False)],
    "ping": [("s", serial, True)],
    "call": [("s", serial, True), ("dest", name, True), ("m", name, True), ("g", name, False), ("to", count, False)],
    "ret": [("id", serial, True)],
    "fail": [("id", serial, True), ("code", name, True), ("msg", text, True), ("name", text, False)],
    "cancel": [("id", serial, True)],
    "monitor": [("s", serial, True), ("g", monitor_groups, False)],
}
DAEMON_TYPES = {
    "welcome": [("v", count, True), ("name", name, True), ("seq", count, True), ("limits", limits, True),
                ("joined", array(JOIN_RESULT), True), ("origin", name, False)],
    "ok": [("s", serial, True), ("r", a_map, False)],
    "err": [("s", serial, False), ("code", name, True), ("msg", text, True), ("fatal", boolean, False),
            ("data", any_value, False), ("g", name, False), ("sig", name, False)],
    "sig": [("seq", count, True), ("gseq", count, True), ("g", name, True), ("sig", name, True),
            ("from", name, True), ("r", boolean, False), ("fseq", count, False)],
    "gclosed": [("g", name, True), ("reason", enum(GCLOSED_REASONS), True)],
    "bye": [("reason", text, True)],
    "invoke": [("id", serial, True), ("from", name, True), ("dest", name, True), ("m", name, True),
               ("g", name, False)],
    "abort": [("id", serial, True), ("reason", enum(ABORT_REASONS), True)],
}


# ---- MessagePack ----

def _depth_ok(value, depth=0):
    if isinstance(value, (list, dict)):
        if depth >= MAX_NESTING_DEPTH:
            return False
        children = value.values() if isinstance(value, dict) else value
        return all(_depth_ok(child, depth + 1) for child in children)
    return True


def _unpack(data):
    value = msgpack.unpackb(data, raw=False, strict_map_key=False, timestamp=0)
    if not _depth_ok(value):
        raise ValueError("nested deeper than 100 levels")
    return value


def _serial_before_damage(header):
    """The top-level `s` of a damaged header, when it can be read before the damage (spec §2)."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(header)
    try:
        entries = unpacker.read_map_header()
        for _ in range(entries):
            key = unpacker.unpack()
            value = unpacker.unpack()
            if key == "s":
                n = _integer(value)
                return n if n is not None and 1 <= n <= MAX_SERIAL else None
    except Exception:
        return None
    return None


def _decode_map(header):
    problem = None
    if len(header) == 0 or not (0x80 <= header[0] <= 0x8F or header[0] in (0xDE, 0xDF)):
        problem = "header: not a MessagePack map"
    else:
        try:
            value = _unpack(header)
            if "__proto__" in value:
                problem = "header: the key __proto__ is refused"
            elif any(not isinstance(key, (str, int)) or isinstance(key, bool) for key in value):
                problem = "header: map keys must be strings or integers"
            else:
                return value
        except Exception as error:  # msgpack raises several types for bad input
            problem = f"header: {error}"
    raise ChorusError("BAD_MSGPACK", problem, serial=_serial_before_damage(header))


def parse_header(header: bytes, direction: str) -> dict:
    """Decodes and checks a header of `direction` ('client': client → daemon, 'daemon': daemon →
    client). Raises ChorusError BAD_MSGPACK, UNKNOWN_TYPE or BAD_FIELD (with `serial` and `data.path`)."""
    value = _decode_map(header)
    s = _integer(value.get("s"))
    readable_serial = s if s is not None and 1 <= s <= MAX_SERIAL else None
    t = value.get("t")
    if not isinstance(t, str):
        message = "t: required" if t is None else "t: expected a string"
        raise ChorusError("BAD_FIELD", message, serial=readable_serial, data={"path": ["t"]})
    types = CLIENT_TYPES if direction == "client" else DAEMON_TYPES
    fields = types.get(t)
    if fields is None:
        raise ChorusError("UNKNOWN_TYPE", f"unknown {direction} message type '{t}'", serial=readable_serial)
    try:
        message = record(fields)(value)
    except FieldIssue as issue:
        where = ".".join(str(p) for p in issue.path)
        raise ChorusError("BAD_FIELD", f"{where}: {issue}", serial=readable_serial, data={"path": issue.path}) from None
    return {"t": t, **message}


def encode_header(message: dict) -> bytes:
    """The MessagePack map of a header; keys as given (the spec's order), None values left out."""
    return msgpack.packb({k: v for k, v in message.items() if v is not None}, use_bin_type=True)


def encode_frame(message: dict, payload: bytes = b"") -> bytes:
    return join_frame(encode_header(message), payload)


# ---- payloads (spec section 13) ----

class _NoValue:
    """The empty payload: no value (distinct from None, which is nil)."""

    def __repr__(self):
        return "NO_VALUE"


NO_VALUE = _NoValue()


def encode_payload(value=NO_VALUE) -> bytes:
    if value is NO_VALUE:
        return b""
    return msgpack.packb(value, use_bin_type=True)


def decode_payload(data: bytes):
    """The value of a payload: NO_VALUE for the empty payload. Raises ChorusError BAD_MSGPACK."""
    if len(data) == 0:
        return NO_VALUE
    try:
        return _unpack(data)
    except Exception as error:
        raise ChorusError("BAD_MSGPACK", f"payload: {error}") from None
