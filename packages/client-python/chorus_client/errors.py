"""Errors of the Chorus wire protocol (spec section 14): a stable code, a message, and whether
the connection ends with it."""

# Fatal whatever happens (spec section 14); any error answering hello is fatal too.
FATAL_CODES = frozenset(
    {"BAD_LENGTH", "FRAME_TOO_LARGE", "HELLO_REQUIRED", "VERSION_MISMATCH", "HELLO_TIMEOUT", "SLOW_CONSUMER"}
)


class ChorusError(Exception):
    """An `err` from the daemon, or a codec error found locally. Match on `code`, never on the message."""

    def __init__(self, code, message, *, fatal=False, serial=None, data=None, group=None, signal=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.msg = message
        self.fatal = fatal
        self.serial = serial
        self.data = data
        # The group and signal of the publish this error answers (spec §6), if it answers one.
        self.group = group
        self.signal = signal

    @property
    def path(self):
        """BAD_FIELD's path (keys and indexes from the header root), if any."""
        return self.data.get("path") if isinstance(self.data, dict) else None

    @property
    def remote_name(self):
        """The name of the error a service's handler threw (REMOTE_ERROR's data.name), if any."""
        return self.data.get("name") if isinstance(self.data, dict) else None


class ConnectionClosed(ChorusError):
    """The connection ended: `code` is the fatal error's, or CLOSED when the socket just closed."""
