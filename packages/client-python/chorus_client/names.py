"""The name grammars of the spec (section 3), to refuse a bad name before sending it."""

import re

MAX_NAME_LENGTH = 255
BUS_NAME = "org.chorus.Bus"
_GROUP = re.compile(r"[A-Za-z_-][A-Za-z0-9_-]*(?:\.[A-Za-z_-][A-Za-z0-9_-]*)+")
_MEMBER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNIQUE = re.compile(r":1\.[1-9][0-9]{0,15}")


def group_name_ok(name):
    return isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH and _GROUP.fullmatch(name) is not None


def member_name_ok(name):
    return isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH and _MEMBER.fullmatch(name) is not None


def well_known_name_ok(name):
    return group_name_ok(name) and name != BUS_NAME


def unique_name_ok(name):
    return isinstance(name, str) and _UNIQUE.fullmatch(name) is not None
