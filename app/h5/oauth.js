// The page as an OAuth public client (RFC 6749 with PKCE S256, RFC 7636): it cannot keep a secret,
// so it proves itself with the code verifier. Its redirect URI is the page's own address, and it
// reads the redirect itself instead of navigating to it, so nothing leaves the page.

import { request } from './api.js';

export const DEFAULT_SCOPE = 'ecard:claim ecard:read ecard:qrcode';

function base64url(bytes) {
  let text = '';
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(length) {
  return base64url(crypto.getRandomValues(new Uint8Array(length)));
}

/** The page's address without query or fragment: the redirect URI registered for its channel. */
export function redirectUri() {
  return `${window.location.origin}${window.location.pathname}`;
}

/** A fresh authorization request: PKCE verifier and challenge, and a state to bind the answer. */
export async function newRequest() {
  const verifier = randomText(32); // 43 characters
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(digest), state: randomText(16) };
}

/** The consent prompt (授权提示): channel name and each scope with its descriptions. */
export async function authorize(clientId, scope, pending) {
  const { data } = await request('/v1/oauth/authorize', {
    query: {
      response_type: 'code', client_id: clientId, redirect_uri: redirectUri(), scope, state: pending.state,
      code_challenge: pending.challenge, code_challenge_method: 'S256',
    },
  });
  return data;
}

/** Record the citizen's answer with their login; returns the redirect location. */
export async function decide(consentId, decision, userToken) {
  const { data } = await request('/v1/oauth/consents', {
    method: 'POST', json: { consent_id: consentId, decision }, token: userToken,
  });
  return data.redirect_to;
}

/**
 * The code from a redirect location, after checking it comes back to this page with our state.
 * Throws {code: 'access_denied'} when the citizen declined, and a state error on a mismatch.
 */
export function codeFrom(location, pending) {
  const url = new URL(location);
  if (`${url.origin}${url.pathname}` !== redirectUri() || url.searchParams.get('state') !== pending.state) {
    throw Object.assign(new Error('state mismatch'), { code: 'state_mismatch' });
  }
  const error = url.searchParams.get('error');
  if (error) throw Object.assign(new Error(error), { code: error });
  return url.searchParams.get('code');
}

/** Exchange the code for the channel's tokens (public client: client_id and the verifier). */
export async function exchange(clientId, code, pending) {
  const { data } = await request('/v1/oauth/token', {
    method: 'POST',
    form: {
      grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    },
  });
  return data;
}

/** A new access token from the refresh token (which rotates). */
export async function refresh(clientId, refreshToken) {
  const { data } = await request('/v1/oauth/token', {
    method: 'POST', form: { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken },
  });
  return data;
}
