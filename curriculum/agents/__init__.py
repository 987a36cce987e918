"""Infrastructure for the agent exercises: a local SMTP server, a SQLite calendar and a bounded agent loop.

These are the services and the harness; the tools, policies and scorers are what the exercises ask you to write.
"""

from curriculum.agents.calendar_store import CalendarStore, Event
from curriculum.agents.loop import RunResult, Step, Tool, ToolCallRecord, render_output, run_agent, validate_arguments
from curriculum.agents.smtp import Envelope, LocalSMTPServer, Mailbox, free_port

__all__ = [
    "CalendarStore",
    "Event",
    "Envelope",
    "LocalSMTPServer",
    "Mailbox",
    "free_port",
    "RunResult",
    "Step",
    "Tool",
    "ToolCallRecord",
    "render_output",
    "run_agent",
    "validate_arguments",
]
