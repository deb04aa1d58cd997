// The reference H5 client: the claim flow of the electronic social security card in one page, for
// a host app's WebView or a mini-program's web-view. Consent (授权提示) → log in or register →
// real-name check → consent to facial processing → camera with the challenged actions → verdict →
// claim → the e-card and its QR code. Each step is a <section> of index.html; the API calls are
// the ones `ecard qa run` makes, from the browser.
//
// Opened as /h5/?client_id=CHANNEL[&scope=…]; the channel is a public client (registered with
// kind miniprogram) whose redirect URI is this page's address.

import { ApiError, ChannelSession, request } from './api.js';
import { closeCamera, openCamera } from './camera.js';
import { EcardView } from './ecard.js';
import { perform } from './liveness.js';
import * as oauth from './oauth.js';
import { ACTIONS, GUIDANCE, MESSAGES, PROBLEMS, PROMPTS, VERDICT, smsCountdown, stepOf } from './text.js';
import {
  $, announce, busy, clearText, describe, requireFilled, sessionEnded, setText, show, showError, whenSessionEnds,
} from './ui.js';
import { FrameUploader } from './uploader.js';

const params = new URLSearchParams(window.location.search);
const flow = {
  clientId: params.get('client_id'),
  scope: params.get('scope') || oauth.DEFAULT_SCOPE,
  pending: null, // this authorization request: PKCE verifier and state
  prompt: null, // the consent prompt
  userToken: null, // the citizen's own login, for the consent decision (kept in memory only)
  afterLogin: null,
  channel: null, // the channel's tokens acting for the citizen
  realname: null, // the passed real-name check
  cameraOn: false,
  framesSentTo: new Set(), // face sessions this page sent frames to
};

function stop(text) {
  setText($('error-text'), text);
  show('step-error');
}

function formError(section, error) {
  if (!Array.isArray(error) && sessionEnded(error)) return;
  const message = section.querySelector('.form-error');
  setText(message, Array.isArray(error) ? error : describe(error));
  message.tabIndex = -1; // the message takes the focus, so that it is read and found
  message.focus();
}

// --- consent (授权提示) ------------------------------------------------------------------------

async function askConsent(notice) {
  try {
    flow.pending = await oauth.newRequest();
    flow.prompt = await oauth.authorize(flow.clientId, flow.scope, flow.pending);
  } catch (error) {
    stop(describe(error));
    return;
  }
  $('consent-channel').textContent = flow.prompt.channel_name;
  $('consent-scopes').replaceChildren(...flow.prompt.scopes.map((scope) => {
    const item = document.createElement('li');
    setText(item, [scope.description_zh, scope.description_en]);
    return item;
  }));
  clearText($('step-consent').querySelector('.form-error'));
  show('step-consent');
  if (notice) formError($('step-consent'), notice);
}

async function answerConsent(decision) {
  if (!flow.userToken) {
    // Nothing to record without a login: a refusal ends here, an Allow waits for the login.
    if (decision === 'deny') {
      show('step-declined');
      return;
    }
    flow.afterLogin = () => answerConsent('allow');
    showAccount('login');
    return;
  }
  try {
    const location = await oauth.decide(flow.prompt.consent_id, decision, flow.userToken);
    const code = oauth.codeFrom(location, flow.pending);
    const tokens = await oauth.exchange(flow.clientId, code, flow.pending);
    flow.channel = new ChannelSession(flow.clientId, tokens, oauth.refresh);
  } catch (error) {
    if (error.code === 'access_denied') show('step-declined');
    else if (['consent_expired', 'consent_used', 'unknown_consent'].includes(error.code)) await askConsent(error);
    else if (error.code === 'state_mismatch') stop(MESSAGES.stateMismatch);
    else if (error instanceof ApiError && error.status === 401) {
      flow.userToken = null; // the login expired: log in again
      await answerConsent(decision);
    } else {
      show('step-consent');
      formError($('step-consent'), error);
    }
    return;
  }
  await afterAuthorization();
}

/** A citizen who holds an e-card already sees it; others go on to the real-name check. */
async function afterAuthorization() {
  try {
    const { data } = await flow.channel.call('/v1/ecards/me');
    await showEcard(data);
  } catch (error) {
    if (error.code === 'ecard_not_found') show('step-realname');
    else stop(describe(error));
  }
}

// --- account ---------------------------------------------------------------------------------

function showAccount(mode) {
  const register = mode === 'register';
  $('form-login').hidden = register;
  $('form-register').hidden = !register;
  setText($('account-title'), register ? ['注册', 'Register'] : ['登录', 'Log in']);
  show('step-account');
}

async function loggedIn(phone, password) {
  const { data } = await request('/v1/sessions', { method: 'POST', json: { phone, password } });
  flow.userToken = data.access_token;
  const next = flow.afterLogin;
  flow.afterLogin = null;
  if (next) await next();
}

async function logIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!requireFilled(form)) return;
  await busy(form, async () => {
    try {
      await loggedIn(form.elements.phone.value, form.elements.password.value);
    } catch (error) {
      showError(form, error);
    }
  });
}

let codeTimer = null;

function countDownSms(seconds) {
  const button = $('send-code');
  window.clearInterval(codeTimer);
  let left = seconds;
  button.disabled = true;
  setText(button, smsCountdown(left));
  codeTimer = window.setInterval(() => {
    left -= 1;
    if (left > 0) {
      setText(button, smsCountdown(left));
      return;
    }
    window.clearInterval(codeTimer);
    button.disabled = false;
    setText(button, MESSAGES.sendCode);
  }, 1000);
}

async function sendCode() {
  const form = $('form-register');
  const phone = form.elements.phone;
  clearText($('register-code-status'));
  if (!phone.value.trim()) {
    showError(form, { code: 'invalid_phone', fields: ['phone'] });
    return;
  }
  try {
    const { data } = await request('/v1/accounts/sms-codes', { method: 'POST', json: { phone: phone.value } });
    setText($('register-code-status'), MESSAGES.codeSent);
    countDownSms(Math.min(60, data.expires_in));
    form.elements.sms_code.focus();
  } catch (error) {
    showError(form, error);
    if (error.code === 'sms_too_frequent' && error.retryAfter) countDownSms(error.retryAfter);
  }
}

async function register(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!requireFilled(form)) return;
  const { phone, password, sms_code: code } = form.elements;
  await busy(form, async () => {
    try {
      await request('/v1/accounts', {
        method: 'POST', json: { phone: phone.value, password: password.value, sms_code: code.value },
      });
      await loggedIn(phone.value, password.value);
    } catch (error) {
      showError(form, error);
    }
  });
}

// --- real-name check and consent to facial processing -----------------------------------------

async function checkRealname(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!requireFilled(form)) return;
  await busy(form, async () => {
    try {
      const { data } = await flow.channel.call('/v1/realname', {
        method: 'POST', json: { name: form.elements.name.value.trim(), id_number: form.elements.id_number.value.trim() },
      });
      flow.realname = data;
      $('summary-name').textContent = data.holder.name;
      $('summary-id').textContent = data.holder.id_number;
      $('summary-card').textContent = data.card_no;
      show('step-biometric');
    } catch (error) {
      showError(form, error);
    }
  });
}

async function agreeToFaceCheck(event) {
  event.preventDefault();
  if (!requireFilled(event.currentTarget)) return;
  await openCameraStep();
}

// --- camera and challenge ------------------------------------------------------------------------

function setPrompt(text) {
  setText($('prompt'), text);
}

async function openCameraStep() {
  show('step-camera');
  setPrompt(PROMPTS.placeFace);
  clearText($('guidance'));
  clearText($('camera-error'));
  $('camera-tips').hidden = false;
  $('capture-progress').hidden = true;
  const start = $('camera-start');
  start.disabled = true;
  try {
    await openCamera($('preview'));
    flow.cameraOn = true;
  } catch (error) {
    const missing = error.name === 'NotFoundError' || error.name === 'OverconstrainedError';
    if (error.code === 'no_camera_api') cameraError(MESSAGES.noCameraApi);
    else cameraError(missing ? MESSAGES.cameraMissing : MESSAGES.noCamera);
  }
  start.disabled = false;
}

/** A new session on the real-name check, or a verdict when this page's earlier one is still open. */
async function startSession() {
  const body = { realname_id: flow.realname.realname_id, biometric_consent: true };
  let { status, data } = await flow.channel.call('/v1/face/sessions', { method: 'POST', json: body });
  if (status === 200 && flow.framesSentTo.has(data.session_id)) {
    // An attempt of ours was cut off (network): decide it, and start afresh unless it passed.
    const verdict = await complete(data.session_id);
    if (verdict.status === 'passed') return { verdict };
    ({ status, data } = await flow.channel.call('/v1/face/sessions', { method: 'POST', json: body }));
  }
  return { challenge: { ...data, light: data.light || [] } }; // an empty `light` is left out of the answer
}

async function complete(sessionId) {
  const path = `/v1/face/sessions/${encodeURIComponent(sessionId)}/complete`;
  return (await flow.channel.call(path, { method: 'POST' })).data;
}

function confirmLight() {
  const panel = $('light-warning');
  setText($('light-warning-text'), PROMPTS.lightWarning);
  panel.hidden = false;
  $('light-continue').focus();
  return new Promise((resolve) => {
    const answer = (go) => () => {
      panel.hidden = true;
      resolve(go);
    };
    $('light-continue').onclick = answer(true);
    $('light-cancel').onclick = answer(false);
  });
}

function onPhase(phase) {
  const stage = $('stage');
  stage.dataset.action = phase.action || '';
  let text;
  if (phase.kind === 'action') {
    const [stepZh, stepEn] = stepOf(phase.index, phase.count);
    const [zh, en] = ACTIONS[phase.action];
    text = [`${stepZh}：${zh}`, `${stepEn}: ${en}`];
  } else {
    text = PROMPTS[phase.kind];
  }
  setPrompt(text);
  announce(text);
}

let lastGuidance = null;

function showGuidance(feedback) {
  const latest = feedback[feedback.length - 1];
  const guidance = latest ? latest.guidance : null;
  if (guidance === lastGuidance) return; // the status region speaks only when it changes
  lastGuidance = guidance;
  if (guidance && GUIDANCE[guidance]) setText($('guidance'), GUIDANCE[guidance]);
  else clearText($('guidance'));
}

async function verify() {
  if (!flow.cameraOn) {
    await openCameraStep();
    return;
  }
  const start = $('camera-start');
  start.disabled = true;
  clearText($('camera-error'));
  let started;
  try {
    started = await startSession();
  } catch (error) {
    if (error.code === 'realname_expired' || error.code === 'unknown_realname') {
      closeCamera($('preview'));
      flow.cameraOn = false;
      show('step-realname');
      formError($('step-realname'), error);
      return;
    }
    if (sessionEnded(error)) return;
    cameraError(describe(error));
    start.disabled = false;
    return;
  }
  if (started.verdict) {
    showVerdict(started.verdict);
    return;
  }
  const { challenge } = started;
  if (challenge.light.length && !(await confirmLight())) {
    start.disabled = false;
    return;
  }
  $('camera-tips').hidden = true;
  const progress = $('capture-progress');
  progress.hidden = false;
  lastGuidance = null;
  const uploader = new FrameUploader(flow.channel, challenge.session_id, {
    timed: challenge.light.length > 0, onFeedback: showGuidance,
  });
  flow.framesSentTo.add(challenge.session_id);
  await perform({
    challenge, video: $('preview'), lightElement: $('light'), uploader, onPhase,
    onProgress: (share) => { progress.value = share; },
  });
  $('stage').dataset.action = '';
  setPrompt(PROMPTS.uploading);
  try {
    await uploader.finish();
    setPrompt(PROMPTS.deciding);
    announce(PROMPTS.deciding);
    closeCamera($('preview'));
    flow.cameraOn = false;
    showVerdict(await complete(challenge.session_id));
  } catch (error) {
    if (sessionEnded(error)) return;
    setPrompt(PROMPTS.placeFace);
    cameraError(describe(error));
    start.disabled = false;
  }
}

/** A message under the camera, brought into view and given the focus (small screens hide it). */
function cameraError(text) {
  const message = $('camera-error');
  setText(message, text);
  message.tabIndex = -1;
  message.scrollIntoView({ block: 'center' });
  message.focus({ preventScroll: true });
}

function showVerdict(verdict) {
  const passed = verdict.status === 'passed';
  const section = $('step-verdict');
  section.dataset.status = verdict.status;
  setText($('verdict-title'), passed ? VERDICT.passed : VERDICT.failed);
  if (verdict.hint) setText($('verdict-hint'), [verdict.hint.zh, verdict.hint.en]);
  else setText($('verdict-hint'), ['请领取您的电子社保卡', 'You can claim your e-card now']);
  if (passed) clearText($('verdict-reason'));
  else setText($('verdict-reason'), [`原因代码：${verdict.reason}`, `Reason code: ${verdict.reason}`]);
  clearText(section.querySelector('.form-error'));
  $('verdict-claim').hidden = !passed;
  $('verdict-retry').hidden = passed;
  show('step-verdict');
  announce(passed ? VERDICT.passed : [`${VERDICT.failed[0]}。${verdict.hint ? verdict.hint.zh : ''}`,
    `${VERDICT.failed[1]}. ${verdict.hint ? verdict.hint.en : ''}`]);
}

// --- claim and the e-card ------------------------------------------------------------------------

async function claim() {
  const section = $('step-verdict');
  await busy(section, async () => {
    try {
      const { data } = await flow.channel.call('/v1/ecards', { method: 'POST' });
      await showEcard(data.ecard);
    } catch (error) {
      if (error.code === 'face_verification_required') {
        // The pass is older than the claim allows: verify again, from the camera.
        $('verdict-claim').hidden = true;
        $('verdict-retry').hidden = false;
      }
      formError(section, error);
    }
  });
}

async function showEcard(view) {
  show('step-ecard');
  await new EcardView(flow.channel).open(view);
}

// --- start -------------------------------------------------------------------------------------

function wire() {
  $('error-retry').onclick = () => window.location.reload();
  $('consent-allow').onclick = () => busy($('step-consent'), () => answerConsent('allow'));
  $('consent-deny').onclick = () => busy($('step-consent'), () => answerConsent('deny'));
  $('declined-again').onclick = () => askConsent();
  $('to-register').onclick = () => showAccount('register');
  $('to-login').onclick = () => showAccount('login');
  $('form-login').addEventListener('submit', logIn);
  $('form-register').addEventListener('submit', register);
  $('send-code').onclick = sendCode;
  $('form-realname').addEventListener('submit', checkRealname);
  $('form-biometric').addEventListener('submit', agreeToFaceCheck);
  $('biometric-decline').onclick = () => formError($('step-biometric'), MESSAGES.biometricRequired);
  $('camera-start').onclick = verify;
  $('verdict-retry').onclick = openCameraStep;
  $('verdict-claim').onclick = claim;
}

function startAgain() {
  closeCamera($('preview'));
  flow.cameraOn = false;
  flow.channel = null;
  flow.realname = null;
  askConsent(PROBLEMS.session_ended);
}

async function boot() {
  wire();
  whenSessionEnds(startAgain);
  if (!flow.clientId) {
    stop(MESSAGES.noClient);
    return;
  }
  if (!window.isSecureContext || !window.crypto || !window.crypto.subtle) {
    stop(MESSAGES.insecure);
    return;
  }
  await askConsent();
}

boot();
