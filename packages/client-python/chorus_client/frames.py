"""Framing (spec section 1): an 8-byte prefix (header length, payload length; u32 big-endian),
the header, the payload. Sans-IO: bytes in, frames out."""

import struct

from .errors import ChorusError

PREFIX = struct.Struct(">II")
PREFIX_BYTES = 8
DEFAULT_MAX_FRAME_BYTES = 1_048_576


def join_frame(header: bytes, payload: bytes = b"") -> bytes:
    return PREFIX.pack(len(header), len(payload)) + header + payload


class FrameDecoder:
    """Push chunks of a byte stream; complete frames come back as (header, payload) pairs. A
    framing error is raised once (always fatal) and every later byte is ignored."""

    def __init__(self, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self.failed = False

    def push(self, chunk: bytes):
        """Returns the frames completed by `chunk`; raises ChorusError on a framing error
        (after which `frames_before_error` holds the frames the chunk completed first)."""
        frames = []
        if self.failed:
            return frames
        self._buffer += chunk
        buffer = self._buffer
        while True:
            if len(buffer) >= 4:
                header_length = int.from_bytes(buffer[0:4], "big")
                # The header length alone can be refused before the rest of the prefix arrives.
                problem = self._check(header_length, 0)
                if problem is None and len(buffer) >= PREFIX_BYTES:
                    problem = self._check(header_length, int.from_bytes(buffer[4:8], "big"))
                if problem is not None:
                    self.failed = True
                    self._buffer = bytearray()
                    error = ChorusError(problem[0], problem[1], fatal=True)
                    error.frames_before_error = frames
                    raise error
            if len(buffer) < PREFIX_BYTES:
                return frames
            header_length, payload_length = PREFIX.unpack_from(buffer)
            end = PREFIX_BYTES + header_length + payload_length
            if len(buffer) < end:
                return frames
            frames.append((bytes(buffer[PREFIX_BYTES : PREFIX_BYTES + header_length]), bytes(buffer[PREFIX_BYTES + header_length : end])))
            del buffer[:end]

    def _check(self, header_length, payload_length):
        if header_length == 0:
            return ("BAD_LENGTH", "headerLength is 0")
        if header_length + payload_length > self.max_frame_bytes:
            return ("FRAME_TOO_LARGE", f"frame of {header_length + payload_length} bytes exceeds maxFrameBytes {self.max_frame_bytes}")
        return None
