"""The event envelope (proto ``events.v1.EventEnvelope``) and the per-domain topics.

Every message: key = contract address, value = a serialized EventEnvelope holding either a
decoded contract event (with its raw log and its identity (block_hash, log_index)) or a revert
marker. Consumers use :func:`arg_values` to get decoded arguments back as Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from novapb.events.v1 import events_pb2

ENVELOPE_VERSION = 1
DOMAINS = ("token", "staking", "governance")

EventEnvelope = events_pb2.EventEnvelope
ContractEvent = events_pb2.ContractEvent
RevertMarker = events_pb2.RevertMarker
Progress = events_pb2.Progress

RawLog = events_pb2.RawLog


def topic_name(prefix: str, domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; one of {DOMAINS}")
    return f"{prefix}{domain}"


def _scalar(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def arg_values(event: events_pb2.ContractEvent) -> dict[str, str | list[str]]:
    """The decoded args as strings (scalars) or lists of strings (arrays)."""
    out: dict[str, str | list[str]] = {}
    for name, arg in event.args.items():
        if arg.WhichOneof("kind") == "list":
            out[name] = list(arg.list.items)
        else:
            out[name] = arg.scalar
    return out


def scalar_arg(event: events_pb2.ContractEvent, name: str) -> str:
    """One scalar argument, without building the whole :func:`arg_values` dict (a consumer's
    hot path); KeyError naming it when the event has no such argument."""
    args = event.args
    if name in args:
        return str(args[name].scalar)
    raise KeyError(f"{event.event} has no argument {name!r}")


def fill_args(target: Any, args: Mapping[str, Any]) -> None:
    """Write decoded ``args`` into a ContractEvent's ``args`` map in place: scalars as strings
    (ints in decimal, bools as true/false), arrays as lists of those (twice as fast as
    building ArgValue messages and assigning them)."""
    for k, v in args.items():
        c = v.__class__
        if c is str:  # addresses, hex: most values
            target[k].scalar = v
        elif c is int:
            target[k].scalar = str(v)
        elif c is list or c is tuple:
            target[k].list.items.extend([_scalar(x) for x in v])
        else:
            target[k].scalar = _scalar(v)


def encode_args(args: Mapping[str, Any]) -> dict[str, events_pb2.ArgValue]:
    """The args as ArgValue messages (for building a ContractEvent by keywords; tests)."""
    event = events_pb2.ContractEvent()
    fill_args(event.args, args)
    return dict(event.args)


def parse(value: bytes) -> events_pb2.EventEnvelope:
    env = events_pb2.EventEnvelope()
    env.ParseFromString(value)
    if env.version != ENVELOPE_VERSION:
        raise ValueError(f"unsupported envelope version {env.version}")
    return env
