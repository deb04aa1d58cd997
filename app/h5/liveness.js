// The capture itself: a short rest, the challenged actions one at a time, a short rest again;
// for light sessions the colours first, full-screen, while the person holds still.
//
// Frames are taken from the camera as they come (one per camera frame at most, never the same frame
// twice: the service refuses a sequence of identical frames as a replayed still), evenly spread so
// that the whole capture fits the session's frame budget.

import { eachFrame, grabFrame } from './camera.js';

const READY_MS = 1200; // the resting state before the first action: the person's own neutral
const ACTION_MS = 2200; // per action
const ACTION_MS_OF_THREE = 1800; // per action of three, so that a light session's frames fit the budget
const HOLD_MS = 600; // back at rest after the last action
const LIGHT_AFTER_MS = 400; // the camera lags the screen by up to ~300 ms
const MIN_INTERVAL_MS = 100; // at most 10 frames a second: enough for a blink of ~1/3 s
const SPARE_FRAMES = 4;
const EARLY_MS = 25; // a camera frame this much before its turn still counts (frame timing jitters)

/** The phases of a challenge, each {kind, ms, action?, index?}. */
export function plan(challenge) {
  const phases = [];
  const light = challenge.light || [];
  if (light.length) {
    phases.push({ kind: 'light', ms: light.reduce((sum, step) => sum + step.ms, 0) + LIGHT_AFTER_MS });
  } else {
    phases.push({ kind: 'ready', ms: READY_MS });
  }
  const actions = challenge.actions || [];
  actions.forEach((action, i) => {
    const ms = actions.length >= 3 ? ACTION_MS_OF_THREE : ACTION_MS;
    phases.push({ kind: 'action', action, index: i + 1, count: actions.length, ms });
  });
  phases.push({ kind: 'hold', ms: HOLD_MS });
  return phases;
}

/** Shows the light sequence full-screen; `startedAt` is when the first colour went up. */
class LightShow {
  constructor(element, steps) {
    this.element = element;
    this.steps = steps;
    this.startedAt = null;
    this.ends = [];
    let end = 0;
    for (const step of steps) {
      end += step.ms;
      this.ends.push(end);
    }
  }

  start() {
    this.element.hidden = false;
    document.body.classList.add('lit');
    const tick = (now) => {
      // The colour set in this animation frame is on screen from this frame on.
      if (this.startedAt === null) this.startedAt = now;
      const step = this.ends.findIndex((end) => now - this.startedAt < end);
      if (step < 0) {
        this.stop();
        return;
      }
      this.element.style.backgroundColor = this.steps[step].color;
      this.raf = window.requestAnimationFrame(tick);
    };
    this.raf = window.requestAnimationFrame(tick);
  }

  stop() {
    window.cancelAnimationFrame(this.raf);
    this.element.hidden = true;
    this.element.style.backgroundColor = '';
    document.body.classList.remove('lit');
  }
}

/**
 * Run the challenge in front of `video`: `onPhase(phase)` at each phase, `onProgress(share)`, and
 * each frame handed to `uploader.add(blob, capturedAtMs)` (capture time since the first colour in
 * light sessions, else null). Resolves when the last phase is over, or early when the uploader stops.
 */
export function perform({ challenge, video, lightElement, uploader, onPhase, onProgress }) {
  const phases = plan(challenge);
  const total = phases.reduce((sum, phase) => sum + phase.ms, 0);
  const budget = Math.max(1, challenge.max_frames - SPARE_FRAMES);
  const interval = Math.max(MIN_INTERVAL_MS, total / budget);
  const light = challenge.light && challenge.light.length ? new LightShow(lightElement, challenge.light) : null;
  const maxBytes = challenge.max_frame_bytes;

  return new Promise((resolve) => {
    const start = performance.now();
    let current = -1;
    let due = 0; // capture time from which the next frame is taken
    let taken = 0;

    const stopFrames = eachFrame(video, (capturedAt) => {
      if (capturedAt < start || taken >= budget || uploader.stopped) return;
      if (light && (light.startedAt === null || capturedAt < light.startedAt)) return; // before the first colour
      if (capturedAt + EARLY_MS < due) return;
      // Evenly spread at `interval`; after a stall (or from a slower camera) the next frame comes
      // no sooner than half an interval later, so a burst of frames cannot use up the budget.
      due = Math.max(due + interval, capturedAt + interval / 2);
      taken += 1;
      uploader.add(grabFrame(video, maxBytes), light ? Math.round(capturedAt - light.startedAt) : null);
    });

    const finish = () => {
      window.clearInterval(timer);
      stopFrames();
      if (light) light.stop();
      onProgress(1);
      resolve();
    };

    const timer = window.setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= total || uploader.stopped) {
        finish();
        return;
      }
      let end = 0;
      const index = phases.findIndex((phase) => {
        end += phase.ms;
        return elapsed < end;
      });
      if (index !== current) {
        current = index;
        if (phases[index].kind === 'light') light.start();
        onPhase(phases[index]);
      }
      onProgress(elapsed / total);
    }, 40);
  });
}
