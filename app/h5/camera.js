// The front camera: the preview is mirrored on screen (by CSS, as people expect of a selfie view);
// the frames sent to the service are the camera's own, never mirrored, because the service reads
// turn_left as the nose moving to the right of an unmirrored image.

// Wide enough for the face size the service needs (eye centres 60 px apart) at arm's length, small
// enough that a JPEG at this quality is ~30-80 KB, far below the 2 MB frame limit.
export const MAX_WIDTH = 640;
export const JPEG_QUALITY = 0.85;
const FALLBACK_QUALITY = 0.6;

export class CameraError extends Error {
  constructor(code, cause) {
    super(`camera: ${code}`);
    this.name = 'CameraError';
    this.code = code;
    this.cause = cause;
  }
}

/** Open the front camera into `video` (muted, inline) and wait for its first frame's size. */
export async function openCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new CameraError('no_camera_api');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
    });
  } catch (error) {
    throw new CameraError('camera_refused', error);
  }
  video.srcObject = stream;
  if (!video.videoWidth) {
    await new Promise((resolve) => { video.addEventListener('loadedmetadata', resolve, { once: true }); });
  }
  try {
    await video.play();
  } catch {
    // autoplay of a muted inline video is allowed everywhere we run; a refusal leaves the preview still
  }
  return stream;
}

/** Stop the camera (its light goes off) and detach it from `video`. */
export function closeCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

/**
 * Call `onFrame(capturedAt)` once for each new camera frame, until the returned function is called.
 * `capturedAt` is on the performance.now() clock: the camera's capture time where the browser
 * reports it, else when the frame reached the page.
 */
export function eachFrame(video, onFrame) {
  let stopped = false;
  const safely = (time) => {
    try {
      onFrame(time);
    } catch (error) {
      console.error(error); // one bad frame must not end the capture
    }
  };
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
    const tick = (now, metadata) => {
      if (stopped) return;
      safely(metadata.captureTime ?? now);
      video.requestVideoFrameCallback(tick);
    };
    video.requestVideoFrameCallback(tick);
  } else {
    // Older WebViews: look at every animation frame and take the ones where the video moved on.
    let last = -1;
    const tick = (now) => {
      if (stopped) return;
      if (video.currentTime !== last) {
        last = video.currentTime;
        safely(now);
      }
      window.requestAnimationFrame(tick);
    };
    window.requestAnimationFrame(tick);
  }
  return () => { stopped = true; };
}

function toBlob(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('JPEG encoding failed'))), 'image/jpeg', quality);
  });
}

/**
 * The video's current frame as a JPEG, unmirrored, at most MAX_WIDTH wide. The pixels are taken
 * now; the encoding finishes later (the promise). A frame over `maxBytes` is encoded again smaller.
 */
export function grabFrame(video, maxBytes) {
  const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return toBlob(canvas, JPEG_QUALITY).then((blob) => (blob.size <= maxBytes ? blob : toBlob(canvas, FALLBACK_QUALITY)));
}
