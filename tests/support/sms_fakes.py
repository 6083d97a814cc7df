"""Local HTTP servers speaking GOV.UK Notify's and Twilio's real SMS APIs: their auth, errors and 429s.

Each fake records every request it received (``fake.requests``) so a test asserts exactly what was sent.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt

from tests.support.services import free_port

UK_MOBILE = re.compile(r"^(?:\+44|0044|0)7\d{9}$")  # what Notify accepts without international sending
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
NOTIFY_TOKEN_BOUND = 30  #: seconds either side of ``iat`` Notify accepts


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider(ABC):
    """A ThreadingHTTPServer on a free port; subclasses answer with ``respond``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[RecordedRequest] = []
        self.replies: list[Reply] = []  #: what the fake answered, in the same order
        #: after this many accepted messages every send gets the provider's 429 (None: no limit)
        self.rate_limit: int | None = None
        #: answer every request with the provider's 500
        self.server_error = False
        self.accepted = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @abstractmethod
    def respond(self, request: RecordedRequest) -> Reply:
        """The provider's answer to one request, as its real API would give it."""

    def _rate_limited(self) -> bool:
        return self.rate_limit is not None and self.accepted >= self.rate_limit

    def _handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self.respond(request)
            self.replies.append(reply)
            if reply.status in (200, 201):
                self.accepted += 1
            return reply

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method="POST", path=self.path, headers=dict(self.headers.items()), body=self.rfile.read(length)
                )
                reply = fake._handle(request)
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args) -> None:
                pass

        return Handler


def _notify_error(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"status_code": status, "errors": [{"error": error, "message": message}]})


class NotifyFake(FakeProvider):
    """``POST /v2/notifications/sms`` with Notify's JWT auth (HS256, ``iss`` = service id, fresh ``iat``)."""

    def __init__(self, key_name: str = "commons_test") -> None:
        super().__init__()
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.api_key = f"{key_name}-{self.service_id}-{self.secret}"
        self.template_id = str(uuid.uuid4())
        self.daily_limit_reached = False  #: answer 429 TooManyRequestsError (the service's daily limit)

    def respond(self, request: RecordedRequest) -> Reply:
        if self.server_error:
            return _notify_error(500, "Exception", "Internal server error")
        if request.path != "/v2/notifications/sms":
            return _notify_error(404, "BadRequestError", "Not found")
        auth_error = self._auth_error(request.headers.get("Authorization", ""))
        if auth_error:
            return auth_error
        if self.daily_limit_reached:
            return _notify_error(429, "TooManyRequestsError", "Exceeded send limits (250000) for today")
        if self._rate_limited():
            limit = "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"
            return _notify_error(429, "RateLimitError", limit)
        try:
            notification = request.json()
        except ValueError:
            return _notify_error(400, "BadRequestError", "Invalid JSON supplied in POST data")
        phone_number = str(notification.get("phone_number", "")).replace(" ", "")
        if notification.get("template_id") != self.template_id:
            return _notify_error(400, "BadRequestError", "Template not found")
        if not UK_MOBILE.match(phone_number):
            return _notify_error(400, "ValidationError", "phone_number Not a UK mobile number")
        notification_id = str(uuid.uuid4())
        return Reply(
            201,
            {
                "id": notification_id,
                "reference": notification.get("reference"),
                "content": {"body": notification.get("personalisation", {}).get("body", ""), "from_number": "COMMONS"},
                "uri": f"{self.base_url}/v2/notifications/{notification_id}",
                "template": {
                    "id": self.template_id,
                    "version": 1,
                    "uri": f"{self.base_url}/services/{self.service_id}/templates/{self.template_id}",
                },
                "scheduled_for": None,
            },
        )

    def _auth_error(self, authorization: str) -> Reply | None:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return _notify_error(401, "AuthError", "Unauthorized: authentication token must be provided")
        try:
            claims = jwt.decode(token, key=self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidTokenError:
            return _notify_error(403, "AuthError", "Invalid token: signature, api token not found")
        if claims.get("iss") != self.service_id:
            return _notify_error(403, "AuthError", "Invalid token: service not found")
        if abs(time.time() - int(claims.get("iat", 0))) > NOTIFY_TOKEN_BOUND:
            return _notify_error(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return None


class TwilioFake(FakeProvider):
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, form-encoded, HTTP basic auth sid:token."""

    def __init__(self, retry_after: int = 7) -> None:
        super().__init__()
        self.account_sid = "AC" + uuid.uuid4().hex
        self.auth_token = uuid.uuid4().hex
        self.retry_after = retry_after  #: seconds sent in Retry-After with a 429

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def respond(self, request: RecordedRequest) -> Reply:
        if self.server_error:
            return _twilio_error(500, 20500, "Internal Server Error")
        if not self._authorised(request.headers.get("Authorization", "")):
            return _twilio_error(401, 20003, "Authenticate")
        if request.path != self.messages_path:
            return _twilio_error(404, 20404, "The requested resource was not found")
        if self._rate_limited():
            reply = _twilio_error(429, 20429, "Too Many Requests")
            reply.headers["Retry-After"] = str(self.retry_after)
            return reply
        form = request.form()
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        return Reply(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"{self.messages_path[: -len('.json')]}/{sid}.json",
            },
        )

    def _authorised(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme != "Basic":
            return False
        try:
            credentials = base64.b64decode(encoded).decode()
        except ValueError:
            return False
        return credentials == f"{self.account_sid}:{self.auth_token}"


def _twilio_error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )
