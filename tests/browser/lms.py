"""A test LMS for the browser tests: one origin (``https://platform.test:<port>``) whose course page
frames Assay on another (``https://tool.test:<port>``), as Canvas and Moodle do.

It plays the platform's part of an LTI 1.3 launch (the login initiation in the frame's ``src``, an
authorisation endpoint that signs an id_token and posts it to Assay) and of 1EdTech's postMessage
storage (``lti.capabilities``, ``lti.put_data``, ``lti.get_data``: a few lines of JavaScript in the
course page, keeping values per the asking origin), which a course page may leave out. Its key set,
OpenID configuration and Dynamic Registration endpoint reach Assay through
:func:`assessments.lti.http.use_transport` (Assay runs in this process). Both names resolve to
127.0.0.1 through Chromium's ``--host-resolver-rules``; both are served over HTTPS with one
self-signed certificate, generated here.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "assay-in-the-test-lms"
DEPLOYMENT = "test-lms-deployment"
CONTEXT = "course-101"
KID = "test-lms-key"
HOST_RULES = "--host-resolver-rules=MAP platform.test 127.0.0.1, MAP tool.test 127.0.0.1"


def certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate for platform.test and tool.test (the browser context accepts it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "assay browser tests")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("platform.test"), x509.DNSName("tool.test")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


COURSE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Week 4 · Test LMS</title></head>
<body style="margin: 0"><h1>Foundations of LLMs: week 4</h1>
<iframe name="tool" title="Assay" src="{src}" style="width: 100%; height: 900px; border: 1px solid #888"></iframe>
<p id="closed"></p>
<script>
  const STORAGE = {storage};
  const kept = {{}};
  window.addEventListener("message", (event) => {{
    const m = event.data;
    if (!m || typeof m !== "object") return;
    if (m.subject === "org.imsglobal.lti.close") {{ document.getElementById("closed").textContent = "closed"; return; }}
    if (!STORAGE) return;
    const reply = (body) => event.source.postMessage(
      Object.assign({{subject: m.subject + ".response", message_id: m.message_id}}, body), event.origin);
    if (m.subject === "lti.capabilities") {{
      reply({{supported_messages: [{{subject: "lti.capabilities"}}, {{subject: "lti.put_data"}},
                                   {{subject: "lti.get_data"}}]}});
    }} else if (m.subject === "lti.put_data") {{
      kept[event.origin + " " + m.key] = m.value;
      reply({{key: m.key, value: m.value}});
    }} else if (m.subject === "lti.get_data") {{
      const key = event.origin + " " + m.key;
      if (key in kept) reply({{key: m.key, value: kept[key]}});
      else reply({{key: m.key, error: {{code: "bad_request", message: "nothing is kept under " + m.key}}}});
    }}
  }});
</script></body></html>"""

LAUNCH_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launching · Test LMS</title></head><body>
<form method="post" action="{action}">{fields}</form>
<script>document.forms[0].submit();</script></body></html>"""


class _TlsServer(ThreadingHTTPServer):
    request_queue_size = 64  # a browser opens several connections at once; the default backlog is 5
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a connection the browser dropped or left idle
            return
        super().handle_error(request, client_address)


@dataclass
class CourseLms:
    tool: str
    """Assay's address (``https://tool.test:<port>``)."""
    tls: tuple[str, str]
    quiz_id: int = 0
    port: int = 0
    private_pem: str = field(default_factory=lambda: rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())
    registered: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"https://platform.test:{self.port}"

    def registration(self) -> dict[str, Any]:
        return {"issuer": self.url, "client_id": CLIENT_ID, "deployment_ids": [DEPLOYMENT],
                "auth_login_url": f"{self.url}/authorize", "auth_token_url": f"{self.url}/token",
                "jwks_url": f"{self.url}/jwks"}

    def jwks(self) -> dict[str, Any]:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        return {"keys": [jwk | {"kid": KID, "alg": "RS256", "use": "sig"}]}

    def course_page(self, user: str, *, storage: bool) -> str:
        login = {"iss": self.url, "login_hint": user, "target_link_uri": f"{self.tool}/lti/launch",
                 "lti_message_hint": "storage" if storage else "plain", "client_id": CLIENT_ID,
                 "lti_deployment_id": DEPLOYMENT}
        if storage:
            login["lti_storage_target"] = "_parent"
        src = f"{self.tool}/lti/login?{urlencode(login)}"
        return COURSE_PAGE.format(src=src.replace("&", "&amp;"), storage="true" if storage else "false")

    def launch_form(self, query: dict[str, str]) -> str:
        """The authorisation endpoint's answer: the id_token, posted to Assay by the browser."""
        now = int(time.time())
        claims = {
            "iss": self.url, "aud": query["client_id"], "sub": query["login_hint"], "iat": now, "exp": now + 300,
            "nonce": query["nonce"], "name": f"Student {query['login_hint']}",
            CLAIM + "deployment_id": DEPLOYMENT, CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0", CLAIM + "target_link_uri": query["redirect_uri"], CLAIM + "roles": [LEARNER],
            CLAIM + "resource_link": {"id": "week-4-quiz", "title": "Week 4 quiz"},
            CLAIM + "context": {"id": CONTEXT, "title": "Foundations of LLMs"},
            CLAIM + "custom": {"quiz_id": str(self.quiz_id)},
            CLAIM + "launch_presentation": {"document_target": "iframe"},
        }
        token = jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": KID})
        fields = {"id_token": token, "state": query["state"]}
        if query.get("lti_message_hint") == "storage":
            fields["lti_storage_target"] = "_parent"
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        return LAUNCH_FORM.format(action=query["redirect_uri"], fields=inputs)

    # --- what Assay fetches from the platform (in-process) -------------------------------------

    def openid_configuration(self) -> dict[str, Any]:
        return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                "registration_endpoint": f"{self.url}/register",
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "test-lms", "version": "1",
                    "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}]}}

    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            url = str(request.url)
            if url == f"{self.url}/jwks":
                return httpx2.Response(200, json=self.jwks())
            if url == f"{self.url}/openid-configuration":
                return httpx2.Response(200, json=self.openid_configuration())
            if url == f"{self.url}/register" and request.headers.get("authorization") == "Bearer dr-token":
                body = json.loads(request.content)
                self.registered.append(body)
                return httpx2.Response(200, json=body | {
                    "client_id": "registered-dynamically",
                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": "dr-1"}})
            return httpx2.Response(404)

        return httpx2.MockTransport(handle)

    # --- serving ------------------------------------------------------------------------------

    def start(self) -> None:
        lms = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30  # a connection left idle is dropped, not waited on forever

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/course":
                    self._html(lms.course_page(query["user"], storage=query.get("storage") == "1"))
                elif parts.path == "/authorize":
                    self._html(lms.launch_form(query))
                elif parts.path == "/admin":
                    self._html(COURSE_PAGE.format(src=query["register"].replace("&", "&amp;"), storage="false"))
                else:  # the browser's favicon.ico: nothing, and no error in the console
                    self.send_response(204)
                    self.end_headers()

            def _html(self, body: str) -> None:
                data = body.encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = _TlsServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.tls)
        # The handshake happens in each connection's own thread (on its first read), not in the
        # accepting thread: a connection the browser opens and leaves idle (a preconnect, a backup
        # connect job) must not keep the LMS from accepting the next one.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
