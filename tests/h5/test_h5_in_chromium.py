"""The reference H5 client (/h5/) in Debian's Chromium, against a real server and the real face
engine, with fixture frames as the camera.

Each test walks the page the way a citizen does: the consent prompt, registration with the SMS
code, the real-name form, the consent to facial processing, the camera with the announced
actions. The genuine holder gets the e-card and a QR code that a relying party verifies over the
API; a still photo gets the failed verdict and its hint. Screenshots of every step are written
to test-output/h5/<test>/.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Route, expect

from app.domain.face_hints import HINTS
from tests.h5.camera import fixture_camera, still_camera
from tests.h5.conftest import FACE_ACTIONS, H5Service, launch
from tests.h5.sms import latest_code

pytestmark = pytest.mark.face

PASSWORD = "H5-test-pass-1"
ASTRONAUT = ("柯林斯", "440305197611190248", "A44030001")
HOPPER = ("霍珀", "370202196612090428", "B37020002")
FRAMES = "/v1/face/sessions/*/frames"
CAMERA_FPS = 8  # the page takes every frame of an 8 fps camera (it takes up to ~9 a second)
STEP_TIMEOUT_MS = 30_000
VERDICT_TIMEOUT_S = 90


class Walk:
    """One citizen in one browser page, with a screenshot of each step."""

    def __init__(self, page: Page, service: H5Service, folder: Path, channel: str = "h5") -> None:
        self.page = page
        self.channel = channel
        self.service = service
        self.folder = folder
        self.shots: list[Path] = []

    def shot(self, name: str) -> Path:
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def step(self, section: str) -> None:
        expect(self.page.locator(f"#{section}")).to_be_visible(timeout=STEP_TIMEOUT_MS)

    def consent_and_register(self) -> None:
        page = self.page
        self.step("step-consent")
        expect(page.locator("#consent-channel")).to_have_text(self.service.channels[self.channel]["name"])
        scopes = page.locator("#consent-scopes li")
        expect(scopes).to_have_count(3)
        expect(scopes.first).to_contain_text("领取电子社保卡（实名认证、人脸核验、签发）")
        expect(scopes.first).to_contain_text("Claim the electronic social security card")
        self.shot("consent")
        page.get_by_role("button", name="允许").click()
        self.step("step-account")
        page.get_by_role("button", name="注册").click()
        form = page.locator("#form-register")
        phone = f"139{secrets.randbelow(10**8):08d}"
        form.get_by_label("手机号").fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#register-code-status")).to_contain_text("验证码已发送")
        code = wait_for(lambda: latest_code(self.service.sms_file, phone), "the SMS code")
        form.get_by_label("短信验证码").fill(code)
        form.get_by_label("设置密码").fill(PASSWORD)
        self.shot("register")
        form.get_by_role("button", name="注册并登录").click()

    def realname(self, name: str, id_number: str) -> None:
        page = self.page
        self.step("step-realname")
        form = page.locator("#form-realname")
        form.get_by_label("姓名").fill(name)
        form.get_by_label("身份证号码").fill(id_number)
        form.get_by_role("button", name="下一步").click()

    def agree_and_open_camera(self) -> None:
        page = self.page
        self.step("step-biometric")
        page.get_by_label("我同意为本次核验处理我的人脸信息").check()
        self.shot("biometric-consent")
        page.get_by_role("button", name="同意并继续").click()
        self.step("step-camera")
        expect(page.get_by_role("button", name="开始核验")).to_be_enabled(timeout=STEP_TIMEOUT_MS)
        assert page.evaluate("document.getElementById('preview').videoWidth") == 400

    def capture(self, on_start: Callable[[], None] | None = None,
                on_poll: Callable[[], None] | None = None) -> list[str]:
        """Start and wait for the verdict; returns what the live region announced, in order."""
        page = self.page
        page.get_by_role("button", name="开始核验").click()
        if on_start:
            on_start()
        announced: list[str] = []
        deadline = time.monotonic() + VERDICT_TIMEOUT_S
        while not page.locator("#step-verdict").is_visible():
            assert time.monotonic() < deadline, f"no verdict; announced {announced}; {page.errors}"  # type: ignore[attr-defined]
            if on_poll:
                on_poll()
            said = page.locator("#announcer").text_content() or ""
            if said and (not announced or announced[-1] != said):
                announced.append(said)
                if "步" in said:
                    self.shot(f"action-{len([a for a in announced if '步' in a])}")
            time.sleep(0.05)
        self.shot("verdict")
        return announced


def wait_for(read: Callable[[], str | None], what: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while (value := read()) is None:
        assert time.monotonic() < deadline, f"{what} did not come"
        time.sleep(0.1)
    return value


def decode_qr(png: bytes) -> str:
    """The text of the QR symbol in a screenshot."""
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None, "no QR code found in the screenshot"
    assert text, "a QR code was found but not read"
    return str(text)


def frame_parts(request: Request) -> tuple[list[str], list[int]]:
    """Digests of the `frame` parts of a frames upload, and its `captured_at_ms` values."""
    body = request.post_data_buffer or b""
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + body)
    frames, times = [], []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name == "frame":
            assert payload[:3] == b"\xff\xd8\xff", "frames are sent as JPEG"
            frames.append(hashlib.sha256(payload).hexdigest())
        elif name == "captured_at_ms":
            times.append(int(payload))
    return frames, times


@pytest.fixture
def open_page(playwright: Playwright, service: H5Service) -> Iterator[Callable[[Path, str], Page]]:
    browsers: list[Browser] = []

    def opener(camera: Path, channel: str) -> Page:
        browser = launch(playwright, camera)
        browsers.append(browser)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Script errors; the browser's own line for each 4xx answer is not one (the page expects those).
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
        page.goto(service.page_url(channel))
        page.errors = errors  # type: ignore[attr-defined]
        return page

    yield opener
    for browser in browsers:
        browser.close()


def test_the_genuine_holder_claims_the_ecard_and_a_relying_party_verifies_its_qr_code(
    open_page: Callable[[Path, str], Page], service: H5Service, screenshots: Path, tmp_path: Path,
) -> None:
    camera = fixture_camera(tmp_path / "genuine.y4m", [f"genuine/astronaut/{a}" for a in FACE_ACTIONS], CAMERA_FPS)
    page = open_page(camera, "h5")
    walk = Walk(page, service, screenshots)

    # The first frames upload is lost on the way (the connection resets before it reaches the
    # service), and the answer to its second try is lost on the way back (the service stored the
    # frames): the page sends the batch a third time, and the service keeps it once.
    sent: list[list[str]] = []
    answers: list[dict[str, Any]] = []

    def frames_route(route: Route) -> None:
        sent.append(frame_parts(route.request)[0])
        if len(sent) == 1:
            route.abort("connectionreset")
        elif len(sent) == 2:
            route.fetch()  # reaches the service, which stores the frames and answers 202
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"**{FRAMES}", frames_route)
    page.on("response", lambda r: answers.append(r.json()) if r.url.endswith("/frames") and r.status == 202 else None)

    walk.consent_and_register()
    # The real-name form shows the API's field error on the field it names.
    name, id_number, card_no = ASTRONAUT
    walk.realname(name, id_number[:17] + ("1" if id_number[17] != "1" else "2"))
    id_field = page.locator("#form-realname").get_by_label("身份证号码")
    expect(id_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#realname-id-error")).to_contain_text("身份证号码不正确")
    expect(id_field).to_be_focused()
    walk.shot("realname-field-error")
    walk.realname(name, id_number)
    expect(page.locator("#summary-name")).to_have_text("柯**")
    walk.agree_and_open_camera()
    walk.shot("camera")

    announced = walk.capture()
    prompts = [said for said in announced if "步" in said]
    assert [p.split("。")[0] for p in prompts] == [
        "第 1 步，共 2 步：请眨眨眼", "第 2 步，共 2 步：请向左转头，再转回来"]
    expect(page.locator("#verdict-title")).to_contain_text("核验通过")

    # The lost batch was sent twice more, the same frames; the session holds every batch once.
    assert len(sent) == len(answers) + 2
    assert sent[2] == sent[1] == sent[0]
    assert answers[-1]["total"] == sum(a["received"] for a in answers) == sum(map(len, sent[2:]))
    assert [a["feedback"][0]["index"] for a in answers] == [sum(map(len, sent[2:i])) for i in range(2, len(sent))]
    assert all(1 <= len(batch) <= 4 for batch in sent)

    page.clock.install()  # the QR code's countdown runs on timers the test can move on
    page.get_by_role("button", name="领取电子社保卡").click()
    walk.step("step-ecard")
    card = page.locator("#ecard-card")
    expect(card.locator("#ec-name")).to_have_text("柯**")
    expect(card.locator("#ec-id")).to_have_text("440305********0248")
    expect(card.locator("#ec-card-no")).to_have_text(card_no)
    expect(card.locator("#ec-region")).to_have_text("440300")
    expect(card.locator("#ec-state")).to_contain_text("正常")
    qr = page.locator("#qr")
    expect(qr).to_have_attribute("src", re.compile("^data:image/svg"), timeout=STEP_TIMEOUT_MS)
    expect(qr).to_have_attribute("alt", re.compile("电子社保卡二维码"))
    expect(page.locator("#qr-countdown")).to_contain_text("秒后自动刷新")
    first = decode_qr(walk.shot("ecard").read_bytes())

    # The QR code renews itself ten seconds before it expires.
    page.clock.fast_forward("00:51")
    expect(qr).not_to_have_attribute("src", qr.get_attribute("src") or "", timeout=STEP_TIMEOUT_MS)
    second = decode_qr(walk.shot("ecard-renewed").read_bytes())
    assert second != first

    # A hospital verifies the code shown, over the API: who presents it, and that the card is usable.
    hospital = service.token("hospital", "ecard:verify")
    verified = httpx.post(f"{service.url}/v1/qrcodes/verify", json={"code": second}, timeout=30,
                          headers={"Authorization": f"Bearer {hospital}"})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert (body["holder"]["name"], body["ecard_state"], body["card_usable"]) == ("柯**", "active", True)
    assert body["sign_no"] == page.locator("#ec-sign-no").text_content()
    again = httpx.post(f"{service.url}/v1/qrcodes/verify", json={"code": second}, timeout=30,
                       headers={"Authorization": f"Bearer {hospital}"})
    assert again.json()["code"] == "qrcode_used"

    # The access token expires while the page is open (the API answers 401): two taps on 刷新二维码
    # meet it together and share one renewal, since a refresh token is spent by its first use and
    # a second use would revoke the whole grant; the page goes on with the new token.
    expired = {"answers": 2}

    def ecard_me(route: Route) -> None:
        if expired["answers"]:
            expired["answers"] -= 1
            route.fulfill(status=401, content_type="application/problem+json",
                          body=json.dumps({"status": 401, "code": "invalid_token", "detail": "expired"}))
        else:
            route.continue_()

    renewals: list[str] = []
    read_again: list[int] = []
    page.on("request", lambda r: renewals.append(r.post_data or "")
            if r.url.endswith("/v1/oauth/token") and "refresh_token" in (r.post_data or "") else None)
    page.on("response", lambda r: read_again.append(r.status) if r.url.endswith("/v1/ecards/me") else None)
    page.route("**/v1/ecards/me", ecard_me)
    page.get_by_role("button", name="刷新二维码").dblclick()
    for _ in range(100):  # at most 10 s for both taps to be answered
        if read_again.count(200) >= 2:
            break
        page.wait_for_timeout(100)
    assert read_again.count(200) == 2
    assert len(renewals) == 1
    expect(page.locator("#qr-error")).to_be_empty()
    page.unroute("**/v1/ecards/me")

    # The card is reported lost at a counter: the page says why, and shows no code.
    counter = service.token("counter", "card:manage")
    lost = httpx.post(f"{service.url}/v1/cards/{card_no}/loss-reports", json={"kind": "temporary"}, timeout=30,
                      headers={"Authorization": f"Bearer {counter}"})
    assert lost.status_code == 200, lost.text
    page.get_by_role("button", name="刷新二维码").click()
    expect(page.locator("#ecard-blocked")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#ecard-why")).to_contain_text("临时挂失")
    expect(card.locator("#ec-state")).to_contain_text("暂停使用")
    expect(page.locator("#qr-block")).to_be_hidden()
    walk.shot("ecard-suspended")

    # The grant ends (the refresh token is refused): the page starts again at the consent prompt
    # and says why, rather than failing on every tap.
    page.route("**/v1/ecards/me", lambda route: route.fulfill(
        status=401, content_type="application/problem+json",
        body=json.dumps({"status": 401, "code": "invalid_token", "detail": "expired"})))
    page.route("**/v1/oauth/token", lambda route: route.fulfill(
        status=400, content_type="application/json",
        body=json.dumps({"error": "invalid_grant", "error_description": "the refresh token is not valid"})))
    page.get_by_role("button", name="刷新状态").click()
    expect(page.locator("#step-consent")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#step-consent .form-error")).to_contain_text("登录已失效")
    walk.shot("session-ended")
    assert not page.errors  # type: ignore[attr-defined]


def test_a_still_photo_gets_the_failed_verdict_and_its_hint(
    open_page: Callable[[Path, str], Page], service: H5Service, screenshots: Path, tmp_path: Path,
) -> None:
    camera = still_camera(tmp_path / "still.y4m", "genuine/hopper/blink", CAMERA_FPS)
    page = open_page(camera, "h5")
    walk = Walk(page, service, screenshots)
    walk.consent_and_register()
    name, id_number, _ = HOPPER
    walk.realname(name, id_number)
    walk.agree_and_open_camera()
    walk.capture()
    expect(page.locator("#verdict-title")).to_contain_text("核验未通过")
    hint = HINTS["liveness_failed"]
    expect(page.locator("#verdict-hint")).to_contain_text(hint.zh)
    expect(page.locator("#verdict-hint")).to_contain_text(hint.en)
    expect(page.locator("#verdict-reason")).to_contain_text("liveness_failed")
    expect(page.get_by_role("button", name="重新核验")).to_be_visible()
    expect(page.get_by_role("button", name="领取电子社保卡")).to_be_hidden()
    assert not page.errors  # type: ignore[attr-defined]


def test_a_light_channel_flashes_the_sessions_colours_and_sends_each_frames_capture_time(
    open_page: Callable[[Path, str], Page], service: H5Service, screenshots: Path, tmp_path: Path,
) -> None:
    camera = fixture_camera(tmp_path / "genuine.y4m", [f"genuine/hopper/{a}" for a in FACE_ACTIONS], CAMERA_FPS)
    page = open_page(camera, "h5-light")
    walk = Walk(page, service, screenshots, channel="h5-light")
    challenges: list[dict[str, Any]] = []
    uploads: list[tuple[list[str], list[int]]] = []
    page.on("response", lambda r: challenges.append(r.json())
            if r.url.endswith("/v1/face/sessions") and r.request.method == "POST" else None)

    def frames_route(route: Route) -> None:  # reads each upload (the request event does not carry the body)
        uploads.append(frame_parts(route.request))
        route.continue_()

    page.route(f"**{FRAMES}", frames_route)
    walk.consent_and_register()
    name, id_number, _ = HOPPER
    walk.realname(name, id_number)
    walk.agree_and_open_camera()

    def warned() -> None:
        # Flashing light can affect people: the page says so first and waits for Continue.
        warning = page.get_by_role("alertdialog")
        expect(warning).to_contain_text("屏幕会快速闪烁颜色")
        walk.shot("light-warning")
        warning.get_by_role("button", name="继续").click()

    shown: list[str] = []

    def colour() -> None:
        rgb = page.evaluate("(() => { const l = document.getElementById('light');"
                            " return l.hidden ? '' : getComputedStyle(l).backgroundColor; })()")
        if match := re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", rgb):
            hex_colour = "#" + "".join(f"{int(c):02X}" for c in match.groups())
            if not shown or shown[-1] != hex_colour:
                shown.append(hex_colour)
                if len(shown) == 1:
                    walk.shot("light")

    walk.capture(on_start=warned, on_poll=colour)
    light = [step["color"] for step in challenges[-1]["light"]]
    assert 4 <= len(light) <= 8
    # The screen showed the session's colours, in its order (the test's polling may miss a short one).
    steps = iter(light)
    assert len(shown) >= 3, (shown, light)
    assert all(colour in steps for colour in shown), (shown, light)
    # Every frame carries its capture time, in order, from the first colour on.
    times = [t for _, batch_times in uploads for t in batch_times]
    assert all(len(frames) == len(batch_times) for frames, batch_times in uploads)
    assert times == sorted(times)
    assert times[0] >= 0
    assert len(times) >= 8
    assert times[-1] > sum(step["ms"] for step in challenges[-1]["light"])  # the actions follow the colours
    # The fake camera cannot answer the colours: the service refuses, and the page says what to do.
    expect(page.locator("#verdict-title")).to_contain_text("核验未通过")
    expect(page.locator("#verdict-hint")).to_contain_text(HINTS["liveness_failed"].zh)
    assert not page.errors  # type: ignore[attr-defined]
