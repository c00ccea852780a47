"""The LMS in these tests: ``lti1p3platform`` (an independent LTI 1.3 platform) plays it in-process.

The package builds the OIDC login initiation, checks our authorisation redirect, signs id_tokens,
issues service tokens (checking our client assertion against ``/lti/jwks``) and checks our deep
linking responses. What it leaves to its host (serving its key set, line items, scores and the
roster over HTTP) is served here through an ``httpx2.MockTransport``, which Assay's outbound client
uses for the test. ``down`` makes the platform's services answer 503.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest

ISSUER = "https://lms.example.edu"
CLIENT_ID = "assay-tool-1"
DEPLOYMENT = "deployment-1"
TOOL = "http://testserver"
CONTEXT = "course-101"
LINEITEMS = f"{ISSUER}/api/lti/courses/101/line_items"
MEMBERSHIPS = f"{ISSUER}/api/lti/courses/101/names_and_roles"
DEEP_LINK_RETURN = f"{ISSUER}/deep_linking/return"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class _Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _Request(Request):
    def build_metadata(self, request: Any) -> TRequest:
        return {"method": "GET", "form_data": {}, "get_data": request, "headers": {}, "content_type": None,
                "path": "/", "json": None}


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


@dataclass
class Platform:
    client: TestClient
    private_pem: str = field(default_factory=rsa_pem)
    down: bool = False
    jwks_fetches: int = 0
    token_requests: int = 0
    scores: list[dict[str, Any]] = field(default_factory=list)
    lineitems: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    deep_link_items: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.registration = (
            Registration().set_iss(ISSUER).set_client_id(CLIENT_ID).set_deployment_id(DEPLOYMENT)
            .set_oidc_login_url(f"{TOOL}/lti/login").set_launch_url(f"{TOOL}/lti/launch")
            .set_deeplink_launch_url(f"{TOOL}/lti/launch").set_tool_key_set_url(f"{TOOL}/lti/jwks"))
        self.use_key(self.private_pem)
        self.conf = _Conf(registration=self.registration)
        self.conf.get_registration()

    def use_key(self, private_pem: str) -> None:
        """The platform rotates its key (the new one is what its JWKS publishes)."""
        self.private_pem = private_pem
        self.registration.set_platform_private_key(private_pem).set_platform_public_key(public_pem(private_pem))

    @property
    def kid(self) -> str:
        kid = self.registration.get_kid()
        assert kid is not None
        return kid

    def registration_body(self) -> dict[str, Any]:
        return {"issuer": ISSUER, "client_id": CLIENT_ID, "deployment_ids": [DEPLOYMENT],
                "auth_login_url": f"{ISSUER}/api/lti/authorize_redirect",
                "auth_token_url": f"{ISSUER}/login/oauth2/token", "jwks_url": f"{ISSUER}/api/lti/security/jwks"}

    def trust_tool_keys(self) -> None:
        """What a platform admin does when installing the tool: read its key set."""
        self.registration.set_tool_key_set(self.client.get("/lti/jwks").json())

    # --- the OIDC round trip and the launch ---------------------------------------------------

    def login(self, user_id: str, hint: str = "resource-1") -> dict[str, str]:
        """Start a launch: the login initiation, then our redirect to the authorisation endpoint."""
        oidc = _Login(None, self.conf)
        oidc.set_lti_message_hint(hint=hint)
        url = oidc.initiate_login(user_id)
        reply = self.client.get(url, follow_redirects=False)
        assert reply.status_code == 302, reply.text
        location = urlsplit(reply.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.registration_body()["auth_login_url"]
        return {k: v[0] for k, v in parse_qs(location.query).items()}

    def id_token(self, preflight: dict[str, str], user_id: str, roles: list[str], *,
                 resource_link: str = "resource-1", custom: dict[str, str] | None = None,
                 deep_link: bool = False, name: str = "Ada Lovelace") -> dict[str, Any]:
        message = _Launch(_Request(preflight), self.conf)
        message.set_user_data(user_id, roles, full_name=name, email_address=f"{user_id}@example.edu")
        message.set_resource_link_claim(resource_link, title="Week 4 quiz")
        message.set_launch_context_claim(CONTEXT, context_title="Foundations of LLMs", context_label="LLM101")
        message.set_ags(lineitems_url=LINEITEMS, allow_creating_lineitems=True)
        message.set_nrps(MEMBERSHIPS)
        if custom:
            message.set_custom_parameters_claim(custom)
        if deep_link:
            message.set_dl(DEEP_LINK_RETURN, title="Add a quiz", extra_data={"opaque": "platform-data"})
        return message.lti_launch()

    def launch(self, user_id: str, roles: list[str], **options: Any) -> Any:
        """The whole round trip: login, authorisation, the launch form posted back to Assay."""
        preflight = self.login(user_id)
        form = self.id_token(preflight, user_id, roles, **options)
        return self.client.post(form["launch_url"], data={"id_token": form["id_token"], "state": form["state"]},
                                follow_redirects=False)

    def accept_deep_link(self, html: str) -> list[dict[str, Any]]:
        """What the platform does with the auto-submitted form: check the JWT, keep the items."""
        token = html.split('name="JWT" value="', 1)[1].split('"', 1)[0]
        assert html.count(f'action="{DEEP_LINK_RETURN}"') == 1
        self.deep_link_items = self.conf.validate_deeplinking_resp({"JWT": token})
        self.deep_link_claims = jwt.decode(token, options={"verify_signature": False})
        return self.deep_link_items

    # --- the platform's services, over (mock) HTTP --------------------------------------------

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url)
        if url == self.registration_body()["jwks_url"]:
            self.jwks_fetches += 1
            return httpx2.Response(200, json=self.conf.get_jwks())
        if self.down:
            return httpx2.Response(503, text="maintenance")
        if url == self.registration_body()["auth_token_url"] and request.method == "POST":
            self.token_requests += 1
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            return httpx2.Response(200, json=self.conf.get_access_token(form))
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if url.startswith(LINEITEMS):
            return self._line_items(request, url, bearer)
        if url.startswith(MEMBERSHIPS):
            return self._roster(request, url, bearer)
        return httpx2.Response(404)

    def _authorised(self, bearer: str, scope: str) -> bool:
        try:
            return self.conf.validate_token(bearer, allowed_scopes=[scope])
        except Exception:  # noqa: BLE001 - any bad token is a 401 here
            return False

    def _line_items(self, request: httpx2.Request, url: str, bearer: str) -> httpx2.Response:
        if not self._authorised(bearer, SCORE_SCOPE):
            return httpx2.Response(401)
        path = urlsplit(url).path
        if path.endswith("/scores") and request.method == "POST":
            assert request.headers["content-type"] == "application/vnd.ims.lis.v1.score+json"
            self.scores.append({"lineitem": url.removesuffix("/scores")} | json.loads(request.content))
            return httpx2.Response(200)
        if request.method == "GET":
            query = parse_qs(urlsplit(url).query)
            found = [i for i in self.lineitems if i["resourceId"] in query.get("resource_id", [i["resourceId"]])]
            return httpx2.Response(200, json=found)
        item = json.loads(request.content) | {"id": f"{LINEITEMS}/{len(self.lineitems) + 1}"}
        self.lineitems.append(item)
        return httpx2.Response(201, json=item)

    def _roster(self, request: httpx2.Request, url: str, bearer: str) -> httpx2.Response:
        if not self._authorised(bearer, NRPS_SCOPE):
            return httpx2.Response(401)
        page = int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
        start = (page - 1) * self.page_size
        body = {"id": url, "context": {"id": CONTEXT, "title": "Foundations of LLMs"},
                "members": self.members[start:start + self.page_size]}
        headers = {}
        if start + self.page_size < len(self.members):
            headers["link"] = f'<{MEMBERSHIPS}?page={page + 1}>; rel="next"'
        return httpx2.Response(200, json=body, headers=headers)
