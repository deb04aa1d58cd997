// The e-card (电子社保卡) and its dynamic QR code (亮码). A code is valid 60 s and single use; the
// page fetches the next one RENEW_AHEAD_S seconds before the current one expires, counting down
// to it, and at once when the page becomes visible again (timers sleep in the background). An
// e-card that is not active shows why, and no code.

import { ApiError } from './api.js';
import { qrAlt, qrCountdown, MESSAGES, SIGN_LEVELS, STATE_REASONS, STATES } from './text.js';
import { $, clearText, describe, sessionEnded, setText } from './ui.js';

const RENEW_AHEAD_S = 10;
const RETRY_S = 5;

export class EcardView {
  constructor(session) {
    this.session = session;
    this.expiresAt = 0; // when the code shown expires, ms on the page's clock (0: none shown)
    this.retryAt = 0; // after a failed fetch, when to try again
    this.renewing = null;
    this.timer = null;
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.refresh();
    };
  }

  /** Show the e-card (`view` from a claim, else read from the service) and, when active, its code. */
  async open(view) {
    $('qr-refresh').onclick = () => this.refresh();
    $('ecard-reload').onclick = () => this.refresh();
    document.addEventListener('visibilitychange', this.onVisible);
    this.render(view || (await this.session.call('/v1/ecards/me')).data);
  }

  render(view) {
    this.view = view;
    $('ec-name').textContent = view.holder.name;
    $('ec-id').textContent = view.holder.id_number;
    $('ec-card-no').textContent = view.card_no;
    $('ec-region').textContent = view.aab301;
    setText($('ec-level'), SIGN_LEVELS[view.sign_level] || [String(view.sign_level), String(view.sign_level)]);
    setText($('ec-state'), STATES[view.state] || [view.state, view.state]);
    $('ec-state').dataset.state = view.state;
    $('ec-sign-no').textContent = view.sign_no;
    $('ec-valid').textContent = view.valid_until.slice(0, 10);
    $('ecard-card').dataset.state = view.state;
    if (view.state === 'active') {
      $('ecard-blocked').hidden = true;
      $('qr-block').hidden = false;
      this.schedule();
      if (!this.expiresAt) this.renew();
    } else {
      this.block(view);
    }
  }

  /** A suspended or invalid e-card: the reason, and no code. */
  block(view) {
    this.stop();
    $('qr-block').hidden = true;
    $('qr').removeAttribute('src');
    const why = $('ecard-why');
    setText(why, STATE_REASONS[view.state] || MESSAGES.unknown);
    if (view.replaced_by) {
      const line = document.createElement('p');
      setText(line, STATE_REASONS.replaced);
      why.append(line);
    }
    $('ecard-blocked').hidden = false;
  }

  schedule() {
    if (!this.timer) this.timer = window.setInterval(() => this.tick(), 1000);
  }

  stop() {
    window.clearInterval(this.timer);
    this.timer = null;
    this.expiresAt = 0;
  }

  tick() {
    const now = Date.now();
    if (this.expiresAt) {
      const left = Math.ceil((this.expiresAt - now) / 1000);
      if (left <= 0) {
        $('qr').hidden = true; // an expired code is no use to anyone: do not show it
        setText($('qr-countdown'), MESSAGES.qrExpired);
      } else {
        setText($('qr-countdown'), qrCountdown(Math.max(0, left - RENEW_AHEAD_S)));
      }
      if (left > RENEW_AHEAD_S) return;
    }
    if (now >= this.retryAt) this.renew();
  }

  /** Read the e-card again and show a new code (the refresh button, the page shown again). */
  async refresh() {
    try {
      const { data } = await this.session.call('/v1/ecards/me');
      this.expiresAt = 0;
      this.render(data);
    } catch (error) {
      if (!sessionEnded(error)) setText($('qr-error'), describe(error));
    }
  }

  renew() {
    if (this.renewing) return this.renewing;
    this.renewing = this.fetchCode().finally(() => { this.renewing = null; });
    return this.renewing;
  }

  async fetchCode() {
    let data;
    try {
      ({ data } = await this.session.call('/v1/ecards/me/qrcodes', { method: 'POST', json: { image_format: 'svg' } }));
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'ecard_not_active' || error.code === 'ecard_not_found')) {
        await this.refresh(); // the card changed state: show why
        return;
      }
      if (sessionEnded(error)) {
        this.retryAt = Infinity; // the page has gone back to the consent prompt
        return;
      }
      setText($('qr-error'), describe(error));
      this.retryAt = Date.now() + RETRY_S * 1000;
      return;
    }
    clearText($('qr-error'));
    this.expiresAt = Date.now() + data.expires_in * 1000;
    const image = $('qr');
    image.src = data.image;
    const [zh, en] = qrAlt(new Date(this.expiresAt));
    image.alt = `${zh} ${en}`;
    image.hidden = false;
    setText($('qr-countdown'), qrCountdown(data.expires_in - RENEW_AHEAD_S));
  }
}
