"""Infrastructure for the agent exercises: a local SMTP server, a SQLite calendar, scheduling helpers (local
times in IANA zones, conflict-checked booking) and a bounded agent loop.

These are the services and the harness; the tools, policies and scorers are what the exercises ask you to write.
"""

from curriculum.agents.calendar_store import CalendarStore, Event
from curriculum.agents.loop import (
    AgentStopReason,
    BudgetRefusal,
    CallStatus,
    RunResult,
    Step,
    Tool,
    ToolCallRecord,
    call_tool,
    render_output,
    run_agent,
    validate_arguments,
)
from curriculum.agents.scheduling import LOCAL_FORMAT, book_if_free, in_zone, local_to_utc, time_zone
from curriculum.agents.smtp import Envelope, LocalSMTPServer, Mailbox, free_port

__all__ = [
    "CalendarStore",
    "Event",
    "Envelope",
    "LocalSMTPServer",
    "Mailbox",
    "free_port",
    "LOCAL_FORMAT",
    "book_if_free",
    "in_zone",
    "local_to_utc",
    "time_zone",
    "AgentStopReason",
    "BudgetRefusal",
    "CallStatus",
    "RunResult",
    "Step",
    "Tool",
    "ToolCallRecord",
    "call_tool",
    "render_output",
    "run_agent",
    "validate_arguments",
]
