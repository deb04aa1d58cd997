"""`ecard qa run --base-url URL`: drive the whole flow over HTTP and print a pass/fail table.

Runs against a server in `ECARD_ENV=dev` (the SMS codes are read from the dev outbox) whose
registry holds `fixtures/cards.jsonl` and `fixtures/records.jsonl` (`ecard cards import …`,
`ecard records import …`). Each scenario is a fresh citizen: SMS code, registration, login, consent
with PKCE, real-name check, then a face session fed with fixture frames (or the caller's own, with
`--frames-dir`). For the genuine holder it goes on: the e-card claim, a QR code and its
verification by a relying party, renewal, the usage history, the social insurance records, a family
link with the other fixture person (who claims their own e-card and accepts with a face session),
a family QR code, and the holder's own loss report and unlock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
import httpx
from rich.console import Console
from rich.table import Table

from app.config import DEV_ADMIN_TOKEN
from app.qa.fixtures import cards_file, frame_bytes

MAX_SMS_WAITS = 5

REDIRECT = "https://qa.example.cn/ecard/callback"
PASSWORD = "Qa-run-pass-1"  # noqa: S105 - a throwaway account per scenario
HOLDERS = {"astronaut": ("柯林斯", "440305197611190248"), "hopper": ("霍珀", "370202196612090428")}

Frames = Callable[[list[str]], list[bytes]]
# Frames and the session's light list → the frames as captured under the colours, capture times.
LightFrames = Callable[[list[bytes], list[dict[str, Any]]], tuple[list[bytes], list[int]]]


@dataclass
class Outcome:
    scenario: str
    expected: str
    got: str

    @property
    def passed(self) -> bool:
        return self.expected == self.got


class Flow:
    """One QA run: the channels it created and a way to make a consenting, real-named citizen."""

    def __init__(self, http: httpx.Client, admin_token: str) -> None:
        self.http = http
        tag = secrets.token_hex(3)
        self.user_scopes = ["ecard:claim", "ecard:read", "ecard:qrcode", "ecard:records", "ecard:manage"]
        self.app = self.channel(admin_token, f"qa-app-{tag}", "app", self.user_scopes)
        self.light_app = self.channel(admin_token, f"qa-light-{tag}", "app", self.user_scopes,
                                       face_challenge="actions+light")
        self.relying_party = self.channel(admin_token, f"qa-rp-{tag}", "relying_party", ["ecard:verify"])

    def channel(self, admin_token: str, client_id: str, kind: str, scopes: list[str],
                 face_challenge: str = "actions") -> dict[str, Any]:
        body: dict[str, Any] = {"client_id": client_id, "kind": kind, "scopes": scopes, "name": f"QA {kind}",
                                "face_challenge": face_challenge}
        if kind == "app":
            body["redirect_uris"] = [REDIRECT]
        r = self.http.post("/v1/admin/channels", json=body, headers={"Authorization": f"Bearer {admin_token}"})
        _expect(r, 201)
        channel: dict[str, Any] = r.json()
        return channel

    def make_usable(self, admin_token: str, holders: list[tuple[str, str]]) -> list[str]:
        """The fixture cards made usable, and kept so for the run, as a counter would; what was done
        is returned. The 300-day rule reports a card lost whose financial application was never
        enabled (霍珀's, collected in January 2025): a bank enables it first, so that the server's
        sweep cannot report it lost in the middle of the run, and a counter then lifts a loss left
        by the rule or by an interrupted run. Holders not in fixtures/cards.jsonl are left alone."""
        cards = {}
        for line in cards_file().read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            cards[str(row["id_number"])] = str(row["card_no"])
        counter = self.channel(admin_token, f"qa-counter-{secrets.token_hex(3)}", "counter", ["card:manage"])
        issued = self.http.post("/v1/oauth/token", auth=(counter["client_id"], counter["client_secret"]),
                                data={"grant_type": "client_credentials", "scope": "card:manage"})
        _expect(issued, 200)
        headers = _bearer(issued.json()["access_token"])
        done = []
        for name, id_number in holders:
            card_no = cards.get(id_number)
            if card_no is None:
                continue
            card = self.http.get(f"/v1/cards/{card_no}", headers=headers)
            _expect(card, 200)
            loss = card.json()["loss"]["state"]
            if card.json()["financial"]["state"] != "active":
                _expect(self.http.post(f"/v1/cards/{card_no}/activations", headers=headers,
                                       json={"channel": "bank", "holder_id_number": id_number}), 200)
                done.append(f"{name}'s card {card_no}: the financial application enabled at the bank")
            if loss in ("overdue", "temporary"):
                _expect(self.http.post(f"/v1/cards/{card_no}/unlock", headers=headers,
                                       json={"holder_id_number": id_number}), 200)
                done.append(f"{name}'s card {card_no} was reported lost ({loss}): unlocked as a counter does")
        return done

    def send_sms_code(self, phone: str) -> httpx.Response:
        """Ask for a code as a well-behaved client does: on 429 wait as long as Retry-After says
        (the server bounds codes per client address per minute) and ask again."""
        for _ in range(MAX_SMS_WAITS):
            sent = self.http.post("/v1/accounts/sms-codes", json={"phone": phone})
            if sent.status_code != 429 or sent.json().get("code") != "rate_limited":
                return sent
            wait = min(int(sent.headers.get("retry-after", "60")), 60)
            click.echo(f"  the server limits SMS codes per address: waiting {wait} s", err=True)
            time.sleep(wait)
        return sent

    def citizen(self) -> str:
        """A new account, logged in; returns the user token."""
        phone = f"139{secrets.randbelow(10**8):08d}"
        _expect(self.send_sms_code(phone), 202)
        outbox = self.http.get("/v1/dev/outbox", params={"phone": phone})
        _expect(outbox, 200)
        code = outbox.json()["messages"][0]["body"].split("验证码 ")[1][:6]
        _expect(self.http.post("/v1/accounts", json={"phone": phone, "password": PASSWORD, "sms_code": code}), 201)
        login = self.http.post("/v1/sessions", json={"phone": phone, "password": PASSWORD})
        _expect(login, 201)
        token: str = login.json()["access_token"]
        return token

    def consent(self, user_token: str, *, verifier_override: str | None = None,
                channel: dict[str, Any] | None = None) -> httpx.Response:
        """Prompt → Allow → code exchange with PKCE; returns the token endpoint's response."""
        app = channel or self.app
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        prompt = self.http.get("/v1/oauth/authorize", params={
            "response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
            "scope": " ".join(self.user_scopes), "state": "qa", "code_challenge": challenge,
            "code_challenge_method": "S256"})
        _expect(prompt, 200)
        decision = self.http.post("/v1/oauth/consents", json={"consent_id": prompt.json()["consent_id"],
                                                              "decision": "allow"}, headers=_bearer(user_token))
        _expect(decision, 200)
        code = parse_qs(urlsplit(decision.json()["redirect_to"]).query)["code"][0]
        return self.http.post("/v1/oauth/token", auth=(app["client_id"], app["client_secret"]), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier_override or verifier})

    def channel_token(self, channel: dict[str, Any] | None = None) -> str:
        r = self.consent(self.citizen(), channel=channel)
        _expect(r, 200)
        token: str = r.json()["access_token"]
        return token

    def realname(self, token: str, name: str, id_number: str, purpose: str = "claim") -> httpx.Response:
        return self.http.post("/v1/realname", json={"name": name, "id_number": id_number, "purpose": purpose},
                              headers=_bearer(token))

    def passed_face(self, token: str, who: tuple[str, str], frames: Frames, purpose: str = "claim") -> str | None:
        """A real-name check and a face session of `who`; the session's id when it passed."""
        checked = self.realname(token, *who, purpose=purpose)
        if checked.status_code != 201:
            return None
        session_id, response = self.face(token, checked.json()["realname_id"], frames)
        return session_id if verdict(response) == "passed" else None

    def relying_party_token(self) -> str:
        rp = self.http.post("/v1/oauth/token", auth=(self.relying_party["client_id"],
                                                     self.relying_party["client_secret"]),
                            data={"grant_type": "client_credentials", "scope": "ecard:verify"})
        _expect(rp, 200)
        token: str = rp.json()["access_token"]
        return token

    def get(self, token: str, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params, headers=_bearer(token))

    def post(self, token: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {}, headers=_bearer(token))

    def start_face(self, token: str, realname_id: str) -> httpx.Response:
        return self.http.post("/v1/face/sessions", json={"realname_id": realname_id, "biometric_consent": True},
                              headers=_bearer(token))

    def face(self, token: str, realname_id: str, frames: Frames,
             light: LightFrames | None = None) -> tuple[str, httpx.Response]:
        """A face session fed with `frames(actions)`; returns (session id, the last response).

        With `light`, the session's colours are reflected on the frames and their capture times sent.
        """
        started = self.start_face(token, realname_id)
        _expect(started, 201)
        session = started.json()
        images = frames(session["actions"])
        files: list[tuple[str, Any]] = [("frame", (f"{i:03d}.jpg", data, "image/jpeg"))
                                        for i, data in enumerate(images)]
        if light is not None:
            images, times = light(images, session.get("light", []))
            files = [("frame", (f"{i:03d}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
            files += [("captured_at_ms", (None, str(t))) for t in times]
        upload = self.http.post(f"/v1/face/sessions/{session['session_id']}/frames", files=files,
                                headers=_bearer(token))
        if upload.status_code != 202:
            return session["session_id"], upload
        return session["session_id"], self.http.post(f"/v1/face/sessions/{session['session_id']}/complete",
                                                     headers=_bearer(token))


class UnexpectedResponse(Exception):
    pass


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise UnexpectedResponse(f"{response.request.method} {response.request.url.path} → "
                                 f"{response.status_code} {response.text[:200]}")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def verdict(response: httpx.Response) -> str:
    """`passed`, the failure reason, or the problem code of a refused request."""
    body = response.json()
    if response.status_code == 200 and "status" in body:
        return str(body["status"] if body["status"] == "passed" else body.get("reason"))
    return str(body.get("code", response.status_code))


def fixture_frames(person: str) -> Frames:
    return lambda actions: [f for action in actions for f in frame_bytes(f"genuine/{person}/{action}")]


def folder_frames(folder: Path) -> Frames:
    """Frames from FOLDER/<action>/*.jpg, as written by `ecard qa frames --out FOLDER/<action>`."""
    def load(actions: list[str]) -> list[bytes]:
        found: list[bytes] = []
        for action in actions:
            files = sorted((folder / action).glob("*.jpg"))
            if not files:
                raise click.ClickException(f"no frames for {action} in {folder / action}")
            found.extend(f.read_bytes() for f in files)
        return found
    return load


def constant(set_name: str) -> Frames:
    return lambda _actions: frame_bytes(set_name)


def lit(images: list[bytes], light: list[dict[str, Any]]) -> tuple[list[bytes], list[int]]:
    """The frames as a phone captures them while its screen flashes the session's colours."""
    from app.face.images import decode_image, encode_jpeg  # noqa: PLC0415 - only light scenarios need them
    from app.face.light import LightStep  # noqa: PLC0415
    from app.qa.light import covering_fps, respond  # noqa: PLC0415

    steps = [LightStep(color=step["color"], ms=step["ms"]) for step in light]
    frames, times = respond([decode_image(image) for image in images], steps,
                            fps=covering_fps(steps, len(images)))
    return [encode_jpeg(frame) for frame in frames], times


def unlit(images: list[bytes], light: list[dict[str, Any]]) -> tuple[list[bytes], list[int]]:
    """The frames unchanged (an animated still does not reflect the screen), with plausible times."""
    return images, [round(i * 1000 / 15) for i in range(len(images))]


def holder_services(flow: Flow, token: str, sign_no: str, holder: tuple[str, str],
                    genuine: Frames) -> list[Outcome]:
    """After the claim: renewal, usage, records, a family link and the holder's own acts."""
    outcomes: list[Outcome] = []

    def check(scenario: str, expected: str, got: str) -> None:
        outcomes.append(Outcome(scenario, expected, got))

    renewed = flow.post(token, "/v1/ecards/me/renewal")
    check("renewal: a fresh token for the same sign number", "same",
          "same" if renewed.status_code == 200 and renewed.json()["ecard"]["sign_no"] == sign_no
          else verdict(renewed))
    usage = flow.get(token, "/v1/ecards/me/usage")
    check("usage history, newest first: the QR verification", "qrcode_verified",
          usage.json()["entries"][0]["kind"] if usage.status_code == 200 and usage.json()["entries"]
          else verdict(usage))
    contributions = flow.get(token, "/v1/ecards/me/contributions", insurance="pension")
    check("pension contributions on record", "rows",
          ("rows" if contributions.json()["rows"] else "none") if contributions.status_code == 200
          else verdict(contributions))
    account = flow.get(token, "/v1/ecards/me/medical-account")
    check("medical individual account balance", "balance",
          ("balance" if account.json().get("balance") else "none") if account.status_code == 200
          else verdict(account))
    outcomes += family_link(flow, token, holder)

    # The holder's own acts, each proven by a fresh face session spent on it.
    proof = flow.passed_face(token, holder, genuine, purpose="manage")
    lost = flow.post(token, "/v1/ecards/me/loss-reports", {"face_session_id": proof or "none"})
    check("the holder reports the card lost from the app", "suspended",
          lost.json()["state"] if lost.status_code == 200 else verdict(lost))
    again = flow.post(token, "/v1/ecards/me/unlock", {"face_session_id": proof or "none"})
    check("the same face session for a second act", "face_session_used", verdict(again))
    proof = flow.passed_face(token, holder, genuine, purpose="manage")
    unlocked = flow.post(token, "/v1/ecards/me/unlock", {"face_session_id": proof or "none"})
    check("the holder lifts the report with a new face session", "active",
          unlocked.json()["state"] if unlocked.status_code == 200 else verdict(unlocked))
    return outcomes


def family_link(flow: Flow, token: str, holder: tuple[str, str]) -> list[Outcome]:
    """The other fixture person claims their e-card and accepts the holder's invitation; the holder
    shows the relative's card, a relying party verifies it; the holder ends the link."""
    outcomes: list[Outcome] = []
    relative = next(who for who in HOLDERS.values() if who != holder)
    person = next(key for key, who in HOLDERS.items() if who == relative)
    invited = flow.post(token, "/v1/ecards/me/family/invitations", {"relation": "parent"})
    outcomes.append(Outcome("family: the holder invites a relative", "201", str(invited.status_code)))
    relative_token = flow.channel_token()
    proof = flow.passed_face(relative_token, relative, fixture_frames(person))
    claimed = flow.post(relative_token, "/v1/ecards")
    if invited.status_code != 201 or proof is None or claimed.status_code not in (200, 201):
        outcomes.append(Outcome("family: the relative claims their own e-card", "201",
                                "no face pass" if proof is None else verdict(claimed)))
        return outcomes
    code = invited.json()["invitation_code"]
    accepted = flow.post(relative_token, f"/v1/family/invitations/{code}/accept", {"face_session_id": proof})
    outcomes.append(Outcome("family: the relative accepts with their face session", "201",
                            str(accepted.status_code)))
    if accepted.status_code != 201:
        return outcomes
    link_id = accepted.json()["link_id"]
    shown = flow.post(token, f"/v1/ecards/me/family/{link_id}/qrcodes")
    verified = (flow.post(flow.relying_party_token(), "/v1/qrcodes/verify", {"code": shown.json()["code"]})
                if shown.status_code == 201 else shown)
    outcomes.append(Outcome("family: the relative's QR code shown by the holder", "family",
                            str(verified.json().get("presented_by")) if verified.status_code == 200
                            else verdict(verified)))
    usage = flow.get(relative_token, "/v1/ecards/me/usage")
    outcomes.append(Outcome("family: the verification in the relative's usage history", "family_qrcode_verified",
                            usage.json()["entries"][0]["kind"] if usage.status_code == 200 else verdict(usage)))
    ended = flow.http.delete(f"/v1/ecards/me/family/{link_id}", headers=_bearer(token))
    outcomes.append(Outcome("family: the holder ends the link", "204", str(ended.status_code)))
    return outcomes


def scenarios(flow: Flow, holder: tuple[str, str], genuine: Frames) -> list[Outcome]:
    outcomes: list[Outcome] = []
    name, id_number = holder

    def face_case(scenario: str, expected: str, who: tuple[str, str], frames: Frames) -> None:
        token = flow.channel_token()
        checked = flow.realname(token, *who)
        _expect(checked, 201)
        _, response = flow.face(token, checked.json()["realname_id"], frames)
        outcomes.append(Outcome(scenario, expected, verdict(response)))

    # The genuine holder, then the e-card, the QR code and its single use.
    token = flow.channel_token()
    checked = flow.realname(token, name, id_number)
    outcomes.append(Outcome("real-name check of the holder", "201", str(checked.status_code)))
    _expect(checked, 201)
    _, response = flow.face(token, checked.json()["realname_id"], genuine)
    outcomes.append(Outcome("genuine holder performs the actions", "passed", verdict(response)))
    claim = flow.http.post("/v1/ecards", json={}, headers=_bearer(token))
    outcomes.append(Outcome("e-card claim after the passed session", "201", str(claim.status_code)))
    qrcode = flow.http.post("/v1/ecards/me/qrcodes", json={}, headers=_bearer(token))
    outcomes.append(Outcome("dynamic QR code (亮码)", "201", str(qrcode.status_code)))
    if qrcode.status_code == 201:
        rp_token = flow.relying_party_token()
        first = flow.http.post("/v1/qrcodes/verify", json={"code": qrcode.json()["code"]}, headers=_bearer(rp_token))
        outcomes.append(Outcome("relying party verifies the QR code", "200", str(first.status_code)))
        second = flow.http.post("/v1/qrcodes/verify", json={"code": qrcode.json()["code"]}, headers=_bearer(rp_token))
        outcomes.append(Outcome("the same QR code a second time", "qrcode_used", verdict(second)))

    if claim.status_code == 201:
        outcomes += holder_services(flow, token, claim.json()["ecard"]["sign_no"], holder, genuine)

    # Re-rolling: asking again while the session is open gives the same challenge.
    token = flow.channel_token()
    checked = flow.realname(token, name, id_number)
    _expect(checked, 201)
    first, again = (flow.start_face(token, checked.json()["realname_id"]) for _ in range(2))
    same = again.status_code == 200 and again.json()["session_id"] == first.json()["session_id"]
    outcomes.append(Outcome("a second start returns the open session", "same", "same" if same else "new"))

    # The light challenge (a channel that flashes the screen): the face must reflect the colours.
    for scenario, expected, respond_with in (("genuine holder under the light challenge", "passed", lit),
                                             ("animated frames without the light response", "liveness_failed",
                                              unlit)):
        light_token = flow.channel_token(flow.light_app)
        checked = flow.realname(light_token, name, id_number)
        _expect(checked, 201)
        _, response = flow.face(light_token, checked.json()["realname_id"], genuine, respond_with)
        outcomes.append(Outcome(scenario, expected, verdict(response)))

    astronaut, hopper = HOLDERS["astronaut"], HOLDERS["hopper"]
    face_case("another person doing the right actions", "face_mismatch", astronaut, fixture_frames("hopper"))
    face_case("a still selfie repeated", "liveness_failed", astronaut, constant("attacks/still_selfie"))
    face_case("blank frames", "no_face", hopper, constant("attacks/no_face"))
    face_case("two faces", "multiple_faces", hopper, constant("attacks/two_faces"))
    good = frame_bytes("genuine/hopper/blink")[0]
    face_case("corrupt bytes", "corrupt_image", hopper, lambda _actions: [good[: len(good) // 2]])

    wrong = flow.consent(flow.citizen(), verifier_override=secrets.token_urlsafe(48))
    outcomes.append(Outcome("token exchange with a wrong PKCE verifier", "invalid_grant", verdict(wrong)))
    bad_id = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    outcomes.append(Outcome("real-name check with a bad ID checksum", "invalid_id_number",
                            verdict(flow.realname(flow.channel_token(), name, bad_id))))
    outcomes.append(Outcome("real-name check with the wrong name", "realname_mismatch",
                            verdict(flow.realname(flow.channel_token(), "无此人", id_number))))
    return outcomes


@click.command("run")
@click.option("--base-url", required=True, help="The server, e.g. http://127.0.0.1:8000")
@click.option("--admin-token", envvar="ECARD_ADMIN_TOKEN", default=DEV_ADMIN_TOKEN, show_default=False,
              help="The server's admin token (default: ECARD_ADMIN_TOKEN, else the dev token).")
@click.option("--holder", type=click.Choice(sorted(HOLDERS)), default="astronaut", show_default=True,
              help="Fixture holder for the genuine scenario.")
@click.option("--name", default=None, help="Holder's name on record, with --id-number and --frames-dir.")
@click.option("--id-number", default=None, help="Holder's ID number on record.")
@click.option("--frames-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="FOLDER/<action>/*.jpg for your own holder (make them with `ecard qa frames`).")
def run(base_url: str, admin_token: str, holder: str, name: str | None, id_number: str | None,
        frames_dir: Path | None) -> None:
    """Walk the whole flow over HTTP with fixture selfies and print a pass/fail table."""
    if (name or id_number or frames_dir) and not (name and id_number and frames_dir):
        raise click.UsageError("--name, --id-number and --frames-dir go together")
    who = (name, id_number) if name and id_number else HOLDERS[holder]
    genuine = folder_frames(frames_dir) if frames_dir else fixture_frames(holder)
    with httpx.Client(base_url=base_url, timeout=120) as http:
        try:
            _expect(http.get("/health"), 200)
            flow = Flow(http, admin_token)
            for note in flow.make_usable(admin_token, [who, *HOLDERS.values()]):
                click.echo(f"  {note}", err=True)
            outcomes = scenarios(flow, who, genuine)
        except (httpx.HTTPError, UnexpectedResponse) as exc:
            raise click.ClickException(f"the flow broke off: {exc}") from exc
    table = Table(title=f"ecard QA run against {base_url}")
    for column in ("scenario", "expected", "got", "result"):
        table.add_column(column)
    for outcome in outcomes:
        table.add_row(outcome.scenario, outcome.expected, outcome.got,
                      "[green]PASS[/green]" if outcome.passed else "[red]FAIL[/red]")
    Console().print(table)
    failed = sum(not o.passed for o in outcomes)
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)
