"""A compiled tool: an upstream Operation with the manifest's overrides applied, ready to list and call."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..contracts import Operation

if TYPE_CHECKING:
    from ..shaping.result import Shaping


@dataclass(frozen=True, slots=True)
class ArgPlan:
    """How the model's arguments become the upstream's: fixed values win, defaults fill gaps."""

    fixed: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()  # names the model cannot see (fixed or hidden)


@dataclass(slots=True)
class Tool:
    name: str
    source: str
    operation: Operation
    description: str
    input_schema: dict[str, Any]
    args: ArgPlan
    shaping: Shaping
    timeout: float
    max_response_bytes: int
    title: str | None = None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)
    expose: Literal["tools", "discovery"] = "tools"
    pinned: bool = False
    override_key: str | None = None  # the manifest key that overrides this tool, if any
    # May its calls run as tasks (`execution.taskSupport`: forbidden, optional, required; `tasks/`)
    task_support: str = "forbidden"
    gate: Any = None  # a policy's CallGate (toolset/gate.py), attached when the manifest has `policy:`
    # The tool a call with these arguments runs for this principal, when this one only forwards
    # (discovery's call tool: the operation it names); None when it runs itself.
    forwards_to: Callable[[Mapping[str, Any] | None, Any], Tool | None] | None = None
    # Its description for a caller from whom a policy hides these tool names, when it depends on them
    # (discovery's search tool counts the operations: a hidden one counted tells how many are hidden).
    described_for: Callable[[frozenset[str]], str] | None = None
    _definition: dict[str, Any] | None = None
    _validator: Any = None

    def reached(self, arguments: Mapping[str, Any] | None, principal: Any) -> Tool:
        """The tool a call with these arguments runs: for a forwarding tool (discovery's call tool) the
        operation it names, when there is one for this principal; else this tool. Its `task_support`
        decides whether the call may run as a task (the tasks extension lets the server decide per
        request, SEP-2663 "Abstract")."""
        if self.forwards_to is not None:
            target = self.forwards_to(arguments, principal)
            if target is not None:
                return target
        return self

    @property
    def listed(self) -> bool:
        """Directly visible in tools/list (else reachable through discovery only)."""
        return self.expose == "tools" or self.pinned

    def definition(self) -> dict[str, Any]:
        """The MCP `Tool` object (wire format), built once."""
        if self._definition is None:
            # Unmodelled upstream fields first: the fields mcprt shapes (name, description, …) win.
            wire: dict[str, Any] = {**self.operation.extra, "name": self.name}
            if self.title:
                wire["title"] = self.title
            wire["description"] = self.description
            wire["inputSchema"] = self.input_schema
            if self.output_schema is not None:
                wire["outputSchema"] = self.output_schema
            if self.annotations:
                wire["annotations"] = self.annotations
            # `execution.taskSupport` as MCP's Tool says (absent means forbidden): the manifest's
            # setting wins over what a proxied server declared (kept in `extra`).
            execution = {k: v for k, v in (wire.get("execution") or {}).items() if k != "taskSupport"}
            if self.task_support != "forbidden":
                execution["taskSupport"] = self.task_support
            if execution:
                wire["execution"] = execution
            else:
                wire.pop("execution", None)
            self._definition = wire
        return self._definition

    def definition_size(self) -> int:
        """Bytes of the compact JSON definition: what this tool costs a model's context."""
        # a lone surrogate (an odd spec's text) travels as its 6-byte `\\uXXXX` escape: backslashreplace writes it so
        return len(json.dumps(self.definition(), separators=(",", ":"), ensure_ascii=False)
                   .encode("utf-8", "backslashreplace"))
