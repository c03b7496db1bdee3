"""The language-neutral vectors of packages/protocol/vectors, run against this client's codec:
the same files the TypeScript codec is tested with."""

import json
import math
import pathlib
import unittest

import msgpack

from chorus_client.codec import NO_VALUE, decode_payload, encode_frame, encode_payload, parse_header
from chorus_client.errors import ChorusError
from chorus_client.frames import FrameDecoder

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "protocol" / "vectors"


def load(name):
    return json.loads((VECTORS / name).read_text())


def untag(value):
    """Tagged JSON (vectors/README.md) to the Python value."""
    if isinstance(value, list):
        return [untag(v) for v in value]
    if isinstance(value, dict):
        if "$bin" in value:
            return bytes.fromhex(value["$bin"])
        if "$int" in value:
            return int(value["$int"])
        if "$float" in value:
            return float(value["$float"])
        return {k: untag(v) for k, v in value.items()}
    return value


def same(a, b):
    """Equality that also tells int from float (2 and 2.0 are different MessagePack values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


class FrameVectors(unittest.TestCase):
    def test_every_frame(self):
        for vector in load("frames.json")["frames"]:
            with self.subTest(vector["name"]):
                payload = b"" if "payload" not in vector else encode_payload(untag(vector["payload"]))
                # Written independently of the TypeScript encoder (msgpack-python): same bytes.
                self.assertEqual(encode_frame(vector["header"], payload).hex(), vector["hex"])
                decoder = FrameDecoder()
                frames = []
                for byte in bytes.fromhex(vector["hex"]):
                    frames += decoder.push(bytes([byte]))
                self.assertEqual(len(frames), 1)
                header, body = frames[0]
                self.assertEqual(parse_header(header, vector["direction"]), vector["header"])
                if "payload" in vector:
                    self.assertTrue(same(decode_payload(body), untag(vector["payload"])))
                else:
                    self.assertIs(decode_payload(body), NO_VALUE)


class HeaderErrorVectors(unittest.TestCase):
    def test_every_error(self):
        vectors = load("header-errors.json")
        for vector in vectors["errors"]:
            with self.subTest(vector["name"], direction=vector["direction"]):
                with self.assertRaises(ChorusError) as caught:
                    parse_header(bytes.fromhex(vector["headerHex"]), vector["direction"])
                error = caught.exception
                self.assertEqual(error.code, vector["error"]["code"])
                self.assertFalse(error.fatal)
                self.assertEqual(error.serial, vector["error"].get("serial"))
                self.assertEqual(error.path, vector["error"].get("path"))

    def test_lenient(self):
        for vector in load("header-errors.json")["lenient"]:
            with self.subTest(vector["name"]):
                self.assertEqual(parse_header(bytes.fromhex(vector["headerHex"]), vector["direction"]), vector["header"])


class FramingVectors(unittest.TestCase):
    def test_every_stream(self):
        for vector in load("framing.json")["streams"]:
            with self.subTest(vector["name"]):
                decoder = FrameDecoder(vector["maxFrameBytes"])
                try:
                    frames = decoder.push(bytes.fromhex(vector["streamHex"]))
                    error = None
                except ChorusError as e:
                    frames, error = e.frames_before_error, e
                self.assertEqual(len(frames), vector["frames"])
                if "error" in vector:
                    self.assertEqual(error.code, vector["error"]["code"])
                    self.assertTrue(error.fatal)
                    self.assertEqual(decoder.push(b"\x00" * 16), [])  # ignored from then on
                else:
                    self.assertIsNone(error)


class PayloadVectors(unittest.TestCase):
    def test_every_payload(self):
        for vector in load("payloads.json")["payloads"]:
            with self.subTest(vector["name"]):
                data = bytes.fromhex(vector["hex"])
                if vector.get("empty"):
                    self.assertIs(decode_payload(data), NO_VALUE)
                    self.assertEqual(encode_payload(), b"")
                    continue
                value = untag(vector["value"])
                decoded = decode_payload(data)
                self.assertTrue(same(decoded, value), f"{decoded!r} != {value!r}")
                if vector["canonical"]:
                    # Python keeps exactly what was sent (2.0 stays a float, 2^64-1 an integer).
                    self.assertEqual(encode_payload(value).hex(), vector["hex"])


class NameVectors(unittest.TestCase):
    def test_grammar(self):
        from chorus_client.names import group_name_ok, member_name_ok, unique_name_ok, well_known_name_ok

        names = load("names.json")
        for kind, check in (("group", group_name_ok), ("member", member_name_ok), ("wellKnown", well_known_name_ok),
                            ("unique", unique_name_ok)):
            for valid in names[kind]["valid"]:
                self.assertTrue(check(valid), (kind, valid))
            for invalid in names[kind]["invalid"]:
                self.assertFalse(check(invalid), (kind, invalid))


if __name__ == "__main__":
    unittest.main()
