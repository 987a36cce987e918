import smtplib
from email.message import EmailMessage

import pytest

from curriculum.agents.smtp import LocalSMTPServer, free_port


def _message(to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "organizer@example.com", to, subject
    msg.set_content("see attachment")
    msg.add_attachment(
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", maintype="text", subtype="calendar", filename="invite.ics"
    )
    return msg


def test_real_smtp_round_trip_with_attachment():
    with LocalSMTPServer() as server:
        assert server.running and 1024 <= server.port <= 65535
        with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
            smtp.send_message(_message("bob@example.com", "Design review"))
            smtp.send_message(_message("eve@example.com", "Other"))
        assert len(server.mailbox) == 2
        [got] = server.mailbox.messages(to="BOB@example.com")
        assert got["Subject"] == "Design review"
        [part] = list(got.iter_attachments())
        assert part.get_filename() == "invite.ics" and part.get_content_type() == "text/calendar"
        assert server.mailbox.envelopes()[0].mail_from == "organizer@example.com"
    assert not server.running
    with pytest.raises(OSError):
        smtplib.SMTP(server.host, server.port, timeout=2)


def test_refuses_non_loopback_and_double_start():
    with pytest.raises(ValueError, match="loopback"):
        LocalSMTPServer(host="0.0.0.0")
    server = LocalSMTPServer(port=free_port()).start()
    try:
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
