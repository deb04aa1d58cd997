"""The consent service on in-memory storage: the prompt, the user's answer, and the token endpoint
(authorization code with PKCE S256, refresh rotation, client credentials)."""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from app.clock import FrozenClock
from app.domain.channels import Channel
from app.domain.consent import CODE_TTL, CONSENT_TTL, AuthorizeRequest, ConsentService, IssuedTokens, OAuthError, s256
from app.errors import NotFound
from app.security.secrets import digest
from tests.unit.fakes import START, FakeStorage

APP_URI = "https://app.example.cn/cb"
APP_SECRET = "app-secret"
VERIFIER = "correct-horse-battery-staple-0123456789abcdef"
HOLDER = 7


def channel(client_id: str, kind: str, scopes: tuple[str, ...], *, secret: str | None = None) -> Channel:
    return msgspec.convert({
        "client_id": client_id, "name": f"{client_id} name", "kind": kind,
        "secret_hash": digest(secret) if secret else None, "redirect_uris": [APP_URI],
        "scopes": list(scopes), "created_at": START,
    }, Channel)


class OAuth:
    def __init__(self) -> None:
        self.storage = FakeStorage()
        self.clock = FrozenClock(START)
        self.service = ConsentService(self.storage, self.clock)
        for c in (channel("demo-app", "app", ("ecard:claim", "ecard:read", "ecard:qrcode"), secret=APP_SECRET),
                  channel("mini", "miniprogram", ("ecard:claim",)),
                  channel("hospital", "relying_party", ("ecard:verify",), secret="rp-secret")):
            self.storage.state.channels[c.client_id] = c

    def request(self, **changes: str | None) -> AuthorizeRequest:
        fields: dict[str, str | None] = {
            "response_type": "code", "client_id": "demo-app", "redirect_uri": APP_URI, "scope": None,
            "state": "s-1", "code_challenge": s256(VERIFIER), "code_challenge_method": "S256",
        }
        return AuthorizeRequest(**{**fields, **changes})

    async def code(self, **changes: str | None) -> str:
        """A code the holder granted with Allow."""
        prompt = await self.service.authorize(self.request(**changes))
        location = await self.service.decide(prompt.consent_id, HOLDER, "allow")
        return parse_qs(urlsplit(location).query)["code"][0]

    async def exchange(self, code: str, *, verifier: str = VERIFIER, client: str = "demo-app",
                       redirect_uri: str = APP_URI) -> IssuedTokens:
        channel = self.storage.state.channels[client]
        return await self.service.exchange_code(channel, code, redirect_uri, verifier)

    @property
    def app(self) -> Channel:
        return self.storage.state.channels["demo-app"]


@pytest.fixture
def oauth() -> OAuth:
    return OAuth()


async def refused(code: str, attempt: Awaitable[object]) -> OAuthError:
    """The OAuthError that `attempt` raises, checked to carry `code`."""
    with pytest.raises(OAuthError) as failure:
        await attempt
    assert failure.value.code == code
    return failure.value


# --- the prompt -----------------------------------------------------------------------------------

async def test_the_prompt_names_the_channel_and_describes_every_scope(oauth: OAuth) -> None:
    prompt = await oauth.service.authorize(oauth.request())
    assert prompt.channel_name == "demo-app name"
    assert [s.scope for s in prompt.scopes] == ["ecard:claim", "ecard:read", "ecard:qrcode"]
    assert prompt.scopes[0].zh.startswith("领取电子社保卡")
    assert prompt.expires_at == START + CONSENT_TTL
    assert oauth.storage.state.consents[prompt.consent_id].decision is None


async def test_a_redirect_uri_must_match_a_registered_one_exactly(oauth: OAuth) -> None:
    await refused("invalid_redirect_uri", oauth.service.authorize(oauth.request(redirect_uri=APP_URI + "/")))
    assert oauth.storage.state.consents == {}


async def test_pkce_with_s256_is_required(oauth: OAuth) -> None:
    plain = await refused("invalid_request", oauth.service.authorize(oauth.request(code_challenge_method="plain")))
    assert plain.extra["field"] == "code_challenge_method"
    await refused("invalid_request", oauth.service.authorize(oauth.request(code_challenge="too-short")))


async def test_a_relying_party_cannot_ask_users_for_consent(oauth: OAuth) -> None:
    await refused("invalid_client", oauth.service.authorize(oauth.request(client_id="hospital")))


async def test_only_user_scopes_the_channel_holds_can_be_asked_for(oauth: OAuth) -> None:
    await refused("invalid_scope", oauth.service.authorize(oauth.request(client_id="mini", scope="ecard:qrcode")))
    await refused("invalid_scope", oauth.service.authorize(oauth.request(scope="ecard:read card:manage")))
    narrowed = await oauth.service.authorize(oauth.request(scope="ecard:read ecard:read"))
    assert [s.scope for s in narrowed.scopes] == ["ecard:read"]


# --- the answer -----------------------------------------------------------------------------------

async def test_allow_sends_the_user_back_with_a_code_and_the_state(oauth: OAuth) -> None:
    prompt = await oauth.service.authorize(oauth.request())
    location = await oauth.service.decide(prompt.consent_id, HOLDER, "allow")
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(APP_URI + "?")
    assert query["state"] == ["s-1"]
    stored = oauth.storage.state.authorization_codes[digest(query["code"][0])]
    assert (stored.account_id, stored.expires_at) == (HOLDER, START + CODE_TTL)


async def test_deny_sends_the_user_back_with_access_denied_and_no_code(oauth: OAuth) -> None:
    prompt = await oauth.service.authorize(oauth.request())
    location = await oauth.service.decide(prompt.consent_id, HOLDER, "deny")
    assert parse_qs(urlsplit(location).query) == {"error": ["access_denied"], "state": ["s-1"]}
    assert oauth.storage.state.authorization_codes == {}
    assert [e.action for e in oauth.storage.state.audit] == ["consent.deny"]


async def test_a_prompt_is_answered_once(oauth: OAuth) -> None:
    prompt = await oauth.service.authorize(oauth.request())
    await oauth.service.decide(prompt.consent_id, HOLDER, "allow")
    second = await refused("consent_used", oauth.service.decide(prompt.consent_id, HOLDER + 1, "deny"))
    assert second.status == 409
    assert oauth.storage.state.consents[prompt.consent_id].account_id == HOLDER
    assert len(oauth.storage.state.authorization_codes) == 1


async def test_a_prompt_left_ten_minutes_cannot_be_answered(oauth: OAuth) -> None:
    prompt = await oauth.service.authorize(oauth.request())
    oauth.clock.advance(CONSENT_TTL)
    await refused("consent_expired", oauth.service.decide(prompt.consent_id, HOLDER, "allow"))
    with pytest.raises(NotFound):
        await oauth.service.decide("no-such-prompt", HOLDER, "allow")


# --- the token endpoint ---------------------------------------------------------------------------

async def test_a_code_and_its_verifier_give_tokens_for_the_granted_scopes(oauth: OAuth) -> None:
    tokens = await oauth.exchange(await oauth.code(scope="ecard:claim"))
    assert tokens.scope == "ecard:claim"
    assert tokens.refresh_token is not None
    access = oauth.storage.state.tokens[digest(tokens.access_token)]
    refresh = oauth.storage.state.tokens[digest(tokens.refresh_token)]
    assert (access.kind, access.account_id, access.client_id) == ("access", HOLDER, "demo-app")
    assert refresh.grant_id == access.grant_id is not None


async def test_a_replayed_code_is_refused_and_revokes_what_it_gave(oauth: OAuth) -> None:
    code = await oauth.code()
    tokens = await oauth.exchange(code)
    await refused("invalid_grant", oauth.exchange(code))
    assert oauth.storage.state.tokens[digest(tokens.access_token)].revoked_at == START
    assert tokens.refresh_token is not None
    assert oauth.storage.state.tokens[digest(tokens.refresh_token)].revoked_at == START


async def test_a_wrong_verifier_uses_the_code_up(oauth: OAuth) -> None:
    code = await oauth.code()
    await refused("invalid_grant", oauth.exchange(code, verifier="x" * 43))
    await refused("invalid_grant", oauth.exchange(code))
    assert [e.action for e in oauth.storage.state.audit][-2:] == ["oauth.code_refused", "oauth.code_replayed"]


async def test_a_code_lives_sixty_seconds(oauth: OAuth) -> None:
    code = await oauth.code()
    oauth.clock.advance(CODE_TTL)
    await refused("invalid_grant", oauth.exchange(code))


@pytest.mark.parametrize(("client", "redirect_uri"), [("mini", APP_URI), ("demo-app", "https://app.example.cn/other")])
async def test_a_code_is_bound_to_its_channel_and_redirect_uri(oauth: OAuth, client: str, redirect_uri: str) -> None:
    code = await oauth.code()
    await refused("invalid_grant", oauth.exchange(code, client=client, redirect_uri=redirect_uri))
    assert oauth.storage.state.tokens == {}


async def test_a_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant(oauth: OAuth) -> None:
    first = await oauth.exchange(await oauth.code())
    assert first.refresh_token is not None
    second = await oauth.service.refresh(oauth.app, first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    await refused("invalid_grant", oauth.service.refresh(oauth.app, first.refresh_token))
    assert second.refresh_token is not None
    assert oauth.storage.state.tokens[digest(second.refresh_token)].revoked_at == START


async def test_a_refresh_may_narrow_the_scope_but_never_widen_it(oauth: OAuth) -> None:
    tokens = await oauth.exchange(await oauth.code(scope="ecard:claim ecard:read"))
    assert tokens.refresh_token is not None
    await refused("invalid_scope", oauth.service.refresh(oauth.app, tokens.refresh_token, "ecard:qrcode"))
    narrowed = await oauth.service.refresh(oauth.app, tokens.refresh_token, "ecard:read")  # still usable
    assert narrowed.scope == "ecard:read"
    assert narrowed.refresh_token is not None
    assert oauth.storage.state.tokens[digest(narrowed.refresh_token)].scopes == ("ecard:claim", "ecard:read")


async def test_client_credentials_are_for_relying_parties_and_counters(oauth: OAuth) -> None:
    hospital = oauth.storage.state.channels["hospital"]
    tokens = await oauth.service.client_credentials(hospital, None)
    assert (tokens.scope, tokens.refresh_token) == ("ecard:verify", None)
    await refused("unauthorized_client", oauth.service.client_credentials(oauth.app, "ecard:claim"))


async def test_a_confidential_channel_proves_itself_and_a_public_one_has_no_secret(oauth: OAuth) -> None:
    assert (await oauth.service.authenticate_client("demo-app", APP_SECRET)).client_id == "demo-app"
    wrong = await refused("invalid_client", oauth.service.authenticate_client("demo-app", "guess"))
    assert wrong.status == 401
    assert (await oauth.service.authenticate_client("mini", None)).client_id == "mini"
    await refused("invalid_client", oauth.service.authenticate_client("mini", "anything"))
