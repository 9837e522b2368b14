"""Actions that leave the database: a webhook POST and an email through SMTP.

They run after the run's own transaction has committed (a slow or dead server never holds a
database lock, and never rolls back what the rule already did), each retried with backoff, and
return a one-line outcome ("POST https://... -> 200", "sent to 2") or raise OutboundError with
what went wrong, which the engine records on the run.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from crm_tui.config import SmtpSettings

BACKOFF = 0.5
"""Seconds before the first retry; each further retry waits twice as long."""


class OutboundError(Exception):
    """A webhook or email that failed after its retries."""


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def post_json(url: str, payload: dict[str, Any], *, timeout: float, retries: int, sleep: Callable[[float], None] = time.sleep) -> str:
    """POST `payload` as JSON; a 2xx answer is success. Connection errors and 5xx/429 answers are
    retried `retries` times with doubling waits; other 4xx answers are not (retrying cannot help)."""
    body = json.dumps(payload, default=_default).encode()
    attempt, wait = 0, BACKOFF
    while True:
        attempt += 1
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "crm-tui"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return f"POST {url} -> {answer.status} (attempt {attempt})"
        except urllib.error.HTTPError as error:
            problem, retry = f"POST {url} -> {error.code}", error.code >= 500 or error.code == 429
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            problem, retry = f"POST {url} failed: {reason}", True
        if not retry or attempt > retries:
            raise OutboundError(f"{problem} (attempt {attempt} of {retries + 1})")
        sleep(wait)
        wait *= 2


def send_mail(
    smtp: SmtpSettings | None,
    to: list[str],
    subject: str,
    body: str,
    *,
    retries: int = 2,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send one email to `to` through `smtp`; refused recipients and server errors are reported.
    Temporary failures (connection refused, 4xx) are retried; permanent ones (5xx) are not."""
    if smtp is None:
        raise OutboundError("no [smtp] server in config.toml: the email was not sent")
    if not to:
        raise OutboundError("nobody to send the email to (no address for the recipients)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, ", ".join(to), subject.replace("\n", " ")
    message.set_content(body)
    attempt, wait = 0, BACKOFF
    while True:
        attempt += 1
        try:
            refused = _deliver(smtp, message)
            if refused:
                raise OutboundError(f"the server refused {', '.join(sorted(refused))}")
            return f"sent to {len(to)} via {smtp.host}:{smtp.port} (attempt {attempt})"
        except smtplib.SMTPResponseException as error:
            problem, retry = f"SMTP {error.smtp_code}: {error.smtp_error!r}", 400 <= error.smtp_code < 500
        except smtplib.SMTPRecipientsRefused as error:
            raise OutboundError(f"the server refused {', '.join(sorted(error.recipients))}") from None
        except (smtplib.SMTPException, OSError) as error:
            problem, retry = f"SMTP {smtp.host}:{smtp.port} failed: {error}", True
        if not retry or attempt > retries:
            raise OutboundError(f"{problem} (attempt {attempt} of {retries + 1})")
        sleep(wait)
        wait *= 2


def _deliver(smtp: SmtpSettings, message: EmailMessage) -> dict[str, Any]:
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        return client.send_message(message)
