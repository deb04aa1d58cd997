// Calls to the ecard API: JSON in and out, problem documents as errors, and a channel session
// that renews its access token with the refresh token when the API answers 401.

// The API is served beside the page: /h5/ → / (also behind a path prefix).
export const API_BASE = new URL('../', document.baseURI);

/** An RFC 9457 problem document (or an OAuth error) answered by the API. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body.detail || body.error_description || body.code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code || body.error || null;
    // Validation problems name `fields`; domain refusals name one `field`.
    this.fields = [...new Set([...(body.fields || []), ...(body.field ? [body.field] : [])])];
    this.body = body;
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }
}

/** No answer at all: offline, connection reset, DNS. The request may or may not have arrived. */
export class NetworkError extends Error {
  constructor(cause) {
    super(`network error: ${cause && cause.message}`);
    this.name = 'NetworkError';
  }
}

/**
 * One request. `json` sends a JSON body, `form` a form-encoded one, `body` anything else (FormData);
 * `token` adds the bearer token. Resolves to {status, data}; rejects with ApiError or NetworkError.
 */
export async function request(path, { method = 'GET', json, form, body, token, query } = {}) {
  const url = new URL(path.replace(/^\//, ''), API_BASE);
  for (const [key, value] of Object.entries(query || {})) url.searchParams.set(key, value);
  const headers = { Accept: 'application/json' };
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch (error) {
    throw new NetworkError(error);
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get('Retry-After'));
  return { status: response.status, data };
}

/** The channel's grant is gone (the refresh token expired, was used twice or was revoked). */
export class SessionEnded extends Error {
  constructor(cause) {
    super('the session has ended; authorise again');
    this.name = 'SessionEnded';
    this.code = 'session_ended';
    this.cause = cause;
  }
}

/**
 * A channel's tokens acting for the citizen (authorization code grant), renewed when they expire.
 * One renewal at a time: requests that meet a 401 together wait for the same renewal, since a
 * refresh token is spent by its first use and a second use revokes the whole grant.
 */
export class ChannelSession {
  constructor(clientId, tokens, renew) {
    this.clientId = clientId;
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.renew = renew; // (clientId, refreshToken) → new token response
    this.renewing = null;
  }

  async call(path, options = {}) {
    const used = this.accessToken;
    try {
      return await request(path, { ...options, token: used });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !this.refreshToken) throw error;
    }
    if (this.accessToken === used) await this.renewOnce();
    return request(path, { ...options, token: this.accessToken });
  }

  renewOnce() {
    if (!this.renewing) {
      this.renewing = this.renew(this.clientId, this.refreshToken).then((tokens) => {
        this.accessToken = tokens.access_token;
        this.refreshToken = tokens.refresh_token || this.refreshToken;
      }, (error) => {
        this.refreshToken = null;
        throw error instanceof ApiError && error.status < 500 ? new SessionEnded(error) : error;
      }).finally(() => {
        this.renewing = null;
      });
    }
    return this.renewing;
  }
}
