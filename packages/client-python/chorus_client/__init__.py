"""A Python client of the Chorus bus, written from its wire spec (packages/protocol/README.md)."""

from .client import CallContext, Client, Signal
from .codec import NO_VALUE, decode_payload, encode_frame, encode_payload, parse_header
from .errors import ChorusError, ConnectionClosed
from .frames import FrameDecoder

__all__ = [
    "CallContext", "ChorusError", "Client", "ConnectionClosed", "FrameDecoder", "NO_VALUE", "Signal",
    "decode_payload", "encode_frame", "encode_payload", "parse_header",
]
