// Frames go to the service while the person is still in front of the camera, so that its live
// guidance (`feedback[].guidance`) can steer them. One request at a time, so that frames arrive in
// capture order; each request carries the frames captured since the last one (one to four), which
// keeps a request far below the service's body limit whatever the camera.
//
// Network errors: the batch is sent again after a pause (up to RETRIES times), never together
// with a second copy, and only the failed batch: acknowledged frames are never sent again. Every
// request names where its first frame goes in the session (`first_index`), so a batch sent again
// after the service stored it but its answer was lost is answered as before and kept once; an
// answer `409 frame_index_mismatch` (the page and the session disagree) ends the capture.

const BATCH = 4;
const RETRIES = 4;
const FIRST_PAUSE_MS = 400;

const pause = (ms) => new Promise((resolve) => { window.setTimeout(resolve, ms); });

export class FrameUploader {
  /**
   * `session`: a ChannelSession; `onFeedback(items)`: each answer's per-frame guidance.
   * `timed`: light sessions, where every frame carries its `captured_at_ms`.
   */
  constructor(session, sessionId, { onFeedback, timed }) {
    this.session = session;
    this.path = `/v1/face/sessions/${encodeURIComponent(sessionId)}/frames`;
    this.onFeedback = onFeedback;
    this.timed = timed;
    this.queue = [];
    this.sending = null;
    this.acknowledged = 0; // frames the session keeps, as its last answer said
    this.sent = 0; // frames this page captured and queued
    this.full = false; // the session holds its maximum of frames
    this.failure = null; // an answer that ends the capture (session expired, finished, …)
  }

  /** Queue one frame: `blob` (a promise of the JPEG) and its capture time in ms, or null. */
  add(blob, capturedAtMs) {
    if (this.failure || this.full) return;
    this.sent += 1;
    this.queue.push({ blob, capturedAtMs });
    this.pump();
  }

  get stopped() {
    return Boolean(this.failure) || this.full;
  }

  pump() {
    if (this.sending || !this.queue.length || this.stopped) return;
    const batch = this.queue.splice(0, BATCH);
    this.sending = this.send(batch).finally(() => {
      this.sending = null;
      this.pump();
    });
  }

  async send(batch) {
    let blobs;
    try {
      blobs = await Promise.all(batch.map((frame) => frame.blob));
    } catch (error) {
      this.failure = error; // the browser could not encode a frame
      return;
    }
    const expected = this.acknowledged;
    for (let attempt = 1; ; attempt += 1) {
      const body = new FormData();
      body.append('first_index', String(expected));
      batch.forEach((frame, i) => {
        body.append('frame', blobs[i], `frame-${expected + i}.jpg`);
        if (this.timed) body.append('captured_at_ms', String(frame.capturedAtMs));
      });
      try {
        const { data } = await this.session.call(this.path, { method: 'POST', body });
        this.acknowledged = expected + data.received;
        this.onFeedback(data.feedback);
        return;
      } catch (error) {
        if (error.code === 'too_many_frames') {
          this.full = true;
          return;
        }
        // No answer (network) or the face workers restarting (503): the same frames again, later.
        const again = (error.name === 'NetworkError' || error.status === 503) && attempt < RETRIES;
        if (!again) {
          this.failure = error;
          this.queue.length = 0;
          return;
        }
        await pause(FIRST_PAUSE_MS * 2 ** (attempt - 1));
      }
    }
  }

  /** Wait until every queued frame is sent; rejects with the answer that stopped the upload. */
  async finish() {
    while (this.sending || (this.queue.length && !this.stopped)) {
      if (!this.sending) this.pump();
      await this.sending;
    }
    if (this.failure) throw this.failure;
    return { total: this.acknowledged, sent: this.sent };
  }
}
