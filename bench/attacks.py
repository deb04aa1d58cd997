"""Presentation attacks simulated independently of fixtures/make_fixtures.py, and a bona fide path.

The fixture attacks (an LCD with RGB stripes at 0.7 or 1.3 camera pixels per screen pixel, a CMY
halftone at 1.5 camera pixels, a bilinear-demosaicing camera at frame resolution) are what the
moiré limit was tuned on. The families here share no code or parameters with them, so they can
serve as held-out sets. Sizes are in pixels of the delivered frame ("frame pixels"):

print
- `photo_print`: an inkjet or photo-lab print *without* halftone (continuous tone): the printer's
  limited reflectance range (paper white 0.72-0.9, ink black at optical density 1.3-2.2), its
  smaller gamut (chroma kept 0.55-0.9), ink spread (blur), a fibre texture fixed to the sheet,
  uneven light across the sheet, a matte surface scattering 0.5-4 % of the light without passing
  it through the ink, and the sheet tilted 5-30 degrees to the camera.
- `fm_print`: CMYK *stochastic (FM) screening*: blue-noise dither dots of 0.25-0.45 frame pixel
  with grey-component replacement: no periodic dot grid for the moiré cue to find.
- `am_print`: a CMYK clustered-dot (AM) halftone at screen angles 15/75/0/45 turned together by
  a random angle, 0.5-1.6 frame pixels per dot: other pitches and angles than the fixtures.

screen
- `lcd_stripe`: an LCD with RGB stripes and a black matrix, 0.3-2.0 frame pixels per screen
  pixel, rolled up to 30 degrees, seen 10-35 degrees off axis, with the panel's own gamma
  (2.2-2.6), backlight leakage (contrast 500-1500:1), cover-glass reflection of the room (0.3-3 %
  of white), a cool backlight, and PWM/rolling-shutter banding.
- `oled_pentile`: an OLED with a diamond PenTile layout (green on every pixel, red and blue on
  alternate ones, small emitters with wide dark gaps), 0.25-1.2 frame pixels per pixel, wide
  gamut (oversaturated colour), true black but a reflective cover glass, and PWM banding.
- `retina_far`: a high-density screen at 0.08-0.2 frame pixels per screen pixel: the lens
  averages the grid away, so only the emissive tone (gamma, black level, glass reflection) is
  left to give it away.

All of them are filmed through `film`: the medium's plane projected with a homography, a disc
defocus, a sensor with 2x2 pixels per frame pixel (pixel-area integration, an RGGB/GRBG/BGGR/GBRG
Bayer mosaic with shot and read noise, edge-aware demosaicing), the ISP scaling down to the frame,
auto-exposure on the centre, grey-world white balance, a phone tone curve, and JPEG at quality
60-95. Screen grids are rendered from their Fourier series with the lens blur applied (`box_wave`),
so the rendering adds no aliasing a camera would not see.

`bona_fide` is the recapture-free path (must pass): real frames rescaled 0.5-1.5x, exposed from
dim to bright (dim frames get more noise), another white balance, sensor noise, JPEG at quality
30-95. `bona_fide_hard` adds tone curves, a raised black point and veiling glare (a stress set).

Every function takes RGB uint8 frames and a seeded `numpy.random.Generator` and returns RGB uint8
frames; a sequence shares one medium (one sheet, one screen, one pose drifting by hand) across
its frames, as a replay does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Linear = npt.NDArray[np.float32]  # linear light, white = 1
Matrix = npt.NDArray[np.float64]

SENSOR = 2  # sensor pixels per frame pixel (each axis): the ISP scales the video frame down
OVERSAMPLE = 6  # render samples per frame pixel (each axis), 3 per sensor pixel


def f32(values: object) -> Linear:
    return np.asarray(values, dtype=np.float32)


def u8(values: object) -> Image:
    return np.asarray(values, dtype=np.uint8)


# --- colour ----------------------------------------------------------------------------------

def to_linear(image: Image) -> Linear:
    """sRGB-encoded uint8 to linear light in [0, 1]."""
    x = image.astype(np.float32) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def to_srgb(linear: Linear) -> Linear:
    """Linear light to the sRGB curve, still float in [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def quantise(encoded: Linear) -> Image:
    return u8(np.clip(np.rint(encoded * 255.0), 0, 255))


def jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    assert ok
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert decoded is not None
    return u8(np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)))


def luminance(linear: Linear) -> Linear:
    return (linear @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).astype(np.float32)


def saturate(linear: Linear, factor: float | Linear) -> Linear:
    """Scale chroma about the pixel's luminance (factor < 1 desaturates)."""
    grey = luminance(linear)[..., None]
    return (grey + factor * (linear - grey)).astype(np.float32)


# --- geometry --------------------------------------------------------------------------------

def plane_homography(medium: tuple[int, int], out: tuple[int, int], *, yaw: float, pitch: float,
                     roll: float, fill: float, shift: tuple[float, float] = (0.0, 0.0),
                     fov: float = 55.0) -> Matrix:
    """Homography from medium pixels (width, height) to camera pixels (width, height).

    The medium is a plane rotated by yaw/pitch/roll (degrees) in front of a pinhole camera with a
    horizontal field of view `fov`, at the distance where its width covers `fill` of the frame.
    """
    mw, mh = medium
    ow, oh = out
    focal = ow / (2.0 * np.tan(np.radians(fov) / 2.0))
    k = np.array([[focal, 0, ow / 2.0 + shift[0]], [0, focal, oh / 2.0 + shift[1]], [0, 0, 1]])
    a, b, c = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    rot = rz @ ry @ rx
    distance = focal * mw / (fill * ow)  # in medium pixels: width mw spans fill * ow pixels
    to_centre = np.array([[1, 0, -mw / 2.0], [0, 1, -mh / 2.0], [0, 0, 1]])
    extrinsic = np.column_stack([rot[:, 0], rot[:, 1], np.array([0.0, 0.0, distance])])
    return np.asarray(k @ extrinsic @ to_centre, dtype=np.float64)


def scaled(h: Matrix, factor: float) -> Matrix:
    """The same homography onto a camera plane sampled `factor` times finer."""
    return np.asarray(np.diag([factor, factor, 1.0]) @ h, dtype=np.float64)


def medium_coords(h: Matrix, size: tuple[int, int]) -> tuple[Linear, Linear]:
    """Medium coordinates (u, v) seen at the centre of every sample of a (width, height) plane."""
    width, height = size
    inverse = np.linalg.inv(h).astype(np.float32)
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
    w = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
    u = (inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / w
    v = (inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / w
    return u.astype(np.float32), v.astype(np.float32)


def room(size: tuple[int, int], rng: np.random.Generator) -> Linear:
    """A dim, out-of-focus room behind the medium (seen where the medium does not cover)."""
    width, height = size
    base = cv2.GaussianBlur(rng.normal(0, 1, (height // 8 + 2, width // 8 + 2)).astype(np.float32),
                            (0, 0), 1.5)
    base = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    tint = rng.uniform(0.6, 1.0, 3).astype(np.float32)
    return f32(np.clip(0.05 * (1.0 + 0.5 * base[..., None]) * tint, 0, 1))


# --- the camera that films the attack --------------------------------------------------------

@dataclass(frozen=True)
class Camera:
    """A phone camera: what differs between phones, drawn once per sequence."""

    defocus: float  # disc radius, camera pixels
    cfa: int  # cv2 Bayer code
    full_well: float  # electrons at white: shot noise
    read_noise: float  # in units of white
    exposure: float  # target linear mean of the frame centre
    contrast: float  # phone tone curve: S-curve strength
    black_clip: float  # linear offset the phone subtracts (a toe that crushes shadows)
    quality: tuple[int, int]  # JPEG quality range

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Camera:
        codes = (cv2.COLOR_BayerRG2RGB_EA, cv2.COLOR_BayerGR2RGB_EA, cv2.COLOR_BayerBG2RGB_EA,
                 cv2.COLOR_BayerGB2RGB_EA)
        return cls(
            defocus=float(rng.uniform(0.1, 0.4)),  # frame pixels
            cfa=int(codes[int(rng.integers(0, 4))]),
            full_well=float(rng.uniform(400, 3000)),  # per sensor pixel
            read_noise=float(rng.uniform(0.0005, 0.003)),
            exposure=float(rng.uniform(0.14, 0.3)),
            contrast=float(rng.uniform(0.0, 0.35)),
            black_clip=float(rng.uniform(0.0, 0.012)),
            quality=(60, 95),
        )


def _disc(radius: float) -> Linear:
    r = max(radius, 0.5)
    n = int(np.ceil(r)) * 2 + 1
    ys, xs = np.mgrid[:n, :n] - n // 2
    kernel = np.clip(r + 0.5 - np.hypot(xs, ys), 0.0, 1.0).astype(np.float32)
    return f32(kernel / kernel.sum())


def tone_curve(linear: Linear, contrast: float) -> Linear:
    """sRGB encoding followed by a phone's S-shaped contrast curve."""
    y = to_srgb(linear)
    return np.clip(y + contrast * y * (1 - y) * (2 * y - 1), 0, 1).astype(np.float32)


def film(scene: Linear, camera: Camera, rng: np.random.Generator) -> Image:
    """What `camera` records of a scene rendered at OVERSAMPLE samples per frame pixel.

    The sensor has SENSOR pixels per frame pixel: the Bayer mosaic samples the scene there (where
    a screen grid or halftone aliases into moiré), and the ISP demosaics and scales the result
    down to the video frame, as phone cameras do."""
    height, width = scene.shape[0] // OVERSAMPLE, scene.shape[1] // OVERSAMPLE
    focused = cv2.filter2D(scene, -1, _disc(camera.defocus * OVERSAMPLE),
                           borderType=cv2.BORDER_REFLECT)
    pixels = cv2.resize(focused, (width * SENSOR, height * SENSOR), interpolation=cv2.INTER_AREA)
    sensor_height, sensor_width = pixels.shape[:2]
    centre = pixels[sensor_height // 4: 3 * sensor_height // 4,
                    sensor_width // 4: 3 * sensor_width // 4]
    pixels = pixels * (camera.exposure / max(float(centre.mean()), 1e-4))
    mosaic = _mosaic(np.clip(pixels, 0, 1), camera.cfa)
    electrons = mosaic * camera.full_well
    mosaic = (rng.poisson(np.maximum(electrons, 0)).astype(np.float32) / camera.full_well
              + rng.normal(0, camera.read_noise, mosaic.shape).astype(np.float32))
    raw = np.clip(mosaic, 0, 1) * 65535.0
    rgb = cv2.demosaicing(raw.astype(np.uint16), camera.cfa).astype(np.float32) / 65535.0
    rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    grey_world = rgb.reshape(-1, 3).mean(axis=0)
    gains = (grey_world.mean() / np.maximum(grey_world, 1e-4)) ** 0.7  # partial AWB
    rgb = np.clip((rgb * gains - camera.black_clip) / (1 - camera.black_clip), 0, 1)
    out = quantise(tone_curve(rgb.astype(np.float32), camera.contrast))
    return jpeg(out, int(rng.integers(camera.quality[0], camera.quality[1] + 1)))


def _mosaic(rgb: Linear, code: int) -> Linear:
    """One colour per pixel, in the layout the demosaicing code expects."""
    # OpenCV names Bayer patterns by the second row's second and third pixels; these are the
    # layouts of the top-left 2x2 cell for each code.
    layouts = {
        cv2.COLOR_BayerRG2RGB_EA: ((2, 1), (1, 0)),
        cv2.COLOR_BayerBG2RGB_EA: ((0, 1), (1, 2)),
        cv2.COLOR_BayerGR2RGB_EA: ((1, 2), (0, 1)),
        cv2.COLOR_BayerGB2RGB_EA: ((1, 0), (2, 1)),
    }
    cell = layouts[code]
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            out[dy::2, dx::2] = rgb[dy::2, dx::2, cell[dy][dx]]
    return out


# --- hand-held pose --------------------------------------------------------------------------

@dataclass(frozen=True)
class Pose:
    yaw: float
    pitch: float
    roll: float
    fill: float

    def jitter(self, rng: np.random.Generator) -> Pose:
        """The next frame: a hand is never still."""
        return Pose(self.yaw + float(rng.normal(0, 0.6)), self.pitch + float(rng.normal(0, 0.6)),
                    self.roll + float(rng.normal(0, 0.4)), self.fill * float(rng.normal(1, 0.01)))


def _tilted(rng: np.random.Generator, low: float, high: float, fill: tuple[float, float]) -> Pose:
    """A pose tilted between `low` and `high` degrees about a random axis in the plane."""
    tilt, axis = float(rng.uniform(low, high)), float(rng.uniform(0, 2 * np.pi))
    return Pose(tilt * float(np.cos(axis)), tilt * float(np.sin(axis)),
                float(rng.normal(0, 4)), float(rng.uniform(*fill)))


def _render_plane(medium: Linear, pose: Pose, out: tuple[int, int], background: Linear,
                  rng: np.random.Generator) -> Linear:
    """The medium (already lit, linear radiance) seen through the camera at OVERSAMPLE."""
    h = plane_homography((medium.shape[1], medium.shape[0]), out, yaw=pose.yaw, pitch=pose.pitch,
                         roll=pose.roll, fill=pose.fill,
                         shift=(float(rng.normal(0, 2)), float(rng.normal(0, 2))))
    size = (out[0] * OVERSAMPLE, out[1] * OVERSAMPLE)
    warped = cv2.warpPerspective(medium, scaled(h, OVERSAMPLE), size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
    big_background = cv2.resize(background, size, interpolation=cv2.INTER_LINEAR)
    return np.where(warped < 0, big_background, warped).astype(np.float32)


# --- prints ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sheet:
    """A printer, its paper and the light on the sheet: drawn once per sequence."""

    paper: Linear  # RGB reflectance of bare paper
    density: float  # optical density of full black ink (Dmax)
    gamma: float  # printer tone reproduction
    chroma: float  # gamut compression: chroma kept
    spread: float  # ink spread, sheet pixels
    gloss: float  # light scattered by the surface without passing through ink
    light: Linear  # illuminant colour
    gradient: tuple[float, float]  # uneven light across the sheet (x, y)
    texture: Linear  # fibre texture, sheet pixels (fixed to the paper)

    @classmethod
    def draw(cls, rng: np.random.Generator, shape: tuple[int, int]) -> Sheet:
        paper = rng.uniform(0.72, 0.9) * np.array(
            [1.0, rng.uniform(0.97, 1.01), rng.uniform(0.9, 1.04)], dtype=np.float32)
        kelvin = rng.uniform(0, 1)  # tungsten (warm) to daylight
        light = np.array([1.0, 0.85 + 0.15 * kelvin, 0.6 + 0.4 * kelvin], dtype=np.float32)
        return cls(
            paper=paper.astype(np.float32),
            density=float(rng.uniform(1.3, 2.2)),
            gamma=float(rng.uniform(0.9, 1.15)),
            chroma=float(rng.uniform(0.55, 0.9)),
            spread=float(rng.uniform(0.4, 1.2)),
            gloss=float(rng.uniform(0.005, 0.04)),
            light=light,
            gradient=(float(rng.uniform(-0.35, 0.35)), float(rng.uniform(-0.35, 0.35))),
            texture=_fibres(shape, rng, float(rng.uniform(0.015, 0.05))),
        )

    def reflectance(self, frame: Image) -> Linear:
        """What the printer puts on paper for a frame: reflectance between ink black and paper."""
        linear = saturate(to_linear(frame), self.chroma) ** self.gamma
        black = 10.0 ** -self.density
        return f32((black + (1.0 - black) * np.clip(linear, 0, 1)) * self.paper)

    def lit(self, reflectance: Linear) -> Linear:
        """Radiance leaving the sheet: uneven light, fibre texture, surface scatter."""
        height, width = reflectance.shape[:2]
        texture = cv2.resize(self.texture, (width, height), interpolation=cv2.INTER_LINEAR)
        x = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
        y = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
        light = 1.0 + self.gradient[0] * x + self.gradient[1] * y
        radiance = (reflectance * texture[..., None] + self.gloss) * light[..., None]
        return (radiance * self.light).astype(np.float32)


def _fibres(shape: tuple[int, int], rng: np.random.Generator, amount: float) -> Linear:
    """Paper fibres: elongated blobs in random directions, multiplicative around 1."""
    height, width = shape
    noise = rng.normal(0, 1, (height, width)).astype(np.float32)
    fibres = np.zeros_like(noise)
    for angle in rng.uniform(0, 180, 3):
        kernel = np.zeros((9, 9), np.float32)
        kernel[4, :] = 1.0
        rotation = cv2.getRotationMatrix2D((4, 4), float(angle), 1.0)
        kernel = f32(cv2.warpAffine(kernel, rotation, (9, 9)))
        fibres += cv2.filter2D(noise, -1, kernel / kernel.sum())
    fibres += 0.5 * cv2.GaussianBlur(noise, (0, 0), 3.0)
    return f32(1.0 + amount * fibres / (fibres.std() + 1e-6))


def _print_sequence(frames: Sequence[Image], rng: np.random.Generator,
                    ink: Callable[[Image, Sheet, np.random.Generator], Linear],
                    tilt: tuple[float, float], fill: tuple[float, float],
                    resolution: float) -> list[Image]:
    height, width = frames[0].shape[:2]
    sheet_shape = (round(height * resolution), round(width * resolution))
    sheet = Sheet.draw(rng, sheet_shape)
    camera = Camera.draw(rng)
    pose = _tilted(rng, *tilt, fill)
    background = room((width, height), rng)
    out = []
    for frame in frames:
        printed = sheet.lit(ink(frame, sheet, rng))
        pose = pose.jitter(rng)
        out.append(film(_render_plane(printed, pose, (width, height), background, rng),
                        camera, rng))
    return out


def _continuous_ink(resolution: float) -> Callable[[Image, Sheet, np.random.Generator], Linear]:
    def ink(frame: Image, sheet: Sheet, rng: np.random.Generator) -> Linear:
        height, width = frame.shape[:2]
        big = cv2.resize(frame, (round(width * resolution), round(height * resolution)),
                         interpolation=cv2.INTER_CUBIC)
        reflectance = sheet.reflectance(u8(big))
        return f32(cv2.GaussianBlur(reflectance, (0, 0), sheet.spread * resolution))
    return ink


def photo_print(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """Continuous-tone (inkjet / photo-lab) prints of the frames, held up to a phone."""
    return _print_sequence(frames, rng, _continuous_ink(1.5), tilt=(5, 30), fill=(1.0, 1.25),
                           resolution=1.5)


# Ink absorption of red, green and blue light for cyan, magenta, yellow and black.
_INKS = np.array([[0.88, 0.22, 0.08], [0.12, 0.85, 0.25], [0.02, 0.1, 0.9], [0.93, 0.93, 0.93]],
                 dtype=np.float32)


def _cmyk(reflectance: Linear, paper: Linear, gcr: float) -> Linear:
    """Ink coverage (C, M, Y, K in [0, 1]) for a wanted reflectance, with grey replacement."""
    # A calibrated printer chooses the dot area that gives the wanted average reflectance.
    cmy = 1.0 - np.clip(reflectance / paper, 0, 1)
    black = gcr * cmy.min(axis=2, keepdims=True)
    return np.concatenate([(cmy - black) / np.maximum(1 - black, 1e-3), black], axis=2)


def _inked(coverage: Linear, paper: Linear) -> Linear:
    """Reflectance of paper under overlapping ink dots (subtractive, per channel)."""
    out = np.broadcast_to(paper, (*coverage.shape[:2], 3)).copy()
    for index in range(4):
        out *= 1.0 - coverage[..., index: index + 1] * _INKS[index]
    return out.astype(np.float32)


def blue_noise(shape: tuple[int, int], rng: np.random.Generator) -> Linear:
    """A threshold map for stochastic screening: high-passed white noise, ranked to uniform.

    FM screens place dots by a blue-noise mask: no low-frequency clumps and, unlike AM
    halftones, no periodic grid."""
    noise = rng.normal(0, 1, shape).astype(np.float32)
    high = noise - cv2.GaussianBlur(noise, (0, 0), 1.2)
    # Still Gaussian after filtering: its own CDF maps it to a uniform threshold.
    return (0.5 * (1.0 + _erf(high / (float(high.std()) * np.sqrt(2.0))))).astype(np.float32)


def _erf(x: Linear) -> Linear:
    """Abramowitz-Stegun 7.1.26 (error below 1.5e-7), vectorised in float32."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return f32(sign * (1.0 - poly * np.exp(-a * a)))


def _ink_coverage(frame: Image, sheet: Sheet, resolution: float, gcr: float
                  ) -> tuple[tuple[int, int], Linear]:
    """The frame enlarged to the printer's resolution (width, height) and its CMYK ink coverage."""
    height, width = frame.shape[:2]
    size = (round(width * resolution), round(height * resolution))
    big = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
    return size, _cmyk(sheet.reflectance(u8(big)), sheet.paper, gcr)


def fm_print(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """CMYK stochastic-screen prints (dots of 0.25-0.45 camera pixel) held up to a phone."""
    resolution = float(rng.uniform(2.5, 4.0))  # printer dots per frame pixel
    gcr = float(rng.uniform(0.5, 1.0))
    masks: list[Linear] = []

    def ink(frame: Image, sheet: Sheet, rng: np.random.Generator) -> Linear:
        size, coverage = _ink_coverage(frame, sheet, resolution, gcr)
        if not masks:
            masks.extend(blue_noise((size[1], size[0]), rng) for _ in range(4))
        dots = np.stack([(coverage[..., i] > masks[i]).astype(np.float32) for i in range(4)], 2)
        # Dot gain: a dot spreads a little into the paper.
        dots = f32(cv2.GaussianBlur(dots, (0, 0), 0.35 * sheet.spread))
        return _inked(dots, sheet.paper)

    return _print_sequence(frames, rng, ink, tilt=(5, 30), fill=(1.0, 1.25),
                           resolution=resolution)


def am_print(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """CMYK clustered-dot (AM) halftone prints, 0.5-1.6 frame pixels (1-3.2 sensor pixels) per
    dot, angles 15/75/0/45 (cyan, magenta, yellow, black) all turned by a random angle."""
    period = float(rng.uniform(0.5, 1.6))  # frame pixels
    # The sheet fills ~1.1 of the frame; at least 4 sheet samples per halftone period.
    resolution = max(4.0, 4.4 / period)  # sheet samples per frame pixel
    pitch = period * resolution / 1.1  # sheet samples per halftone period
    angles = np.radians([15.0, 75.0, 0.0, 45.0]) + float(rng.uniform(0, np.pi / 2))
    gcr = float(rng.uniform(0.5, 1.0))
    screens: list[Linear] = []

    def ink(frame: Image, sheet: Sheet, rng: np.random.Generator) -> Linear:
        size, coverage = _ink_coverage(frame, sheet, resolution, gcr)
        if not screens:
            ys, xs = np.mgrid[: size[1], : size[0]].astype(np.float32)
            for angle in angles:
                u = (xs * np.cos(angle) + ys * np.sin(angle)) / pitch
                v = (-xs * np.sin(angle) + ys * np.cos(angle)) / pitch
                # A round dot growing into a checkerboard: the Euclidean spot function.
                spot = 0.5 - 0.25 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))
                screens.append(spot.astype(np.float32))
        # Dot edges smoothed over about one sheet sample (antialiasing the threshold), so the
        # rendering itself adds no aliasing the camera would not see.
        edge = 1.2 * np.pi / pitch
        dots = np.stack([np.clip((coverage[..., i] - screens[i]) / edge + 0.5, 0, 1)
                         for i in range(4)], 2).astype(np.float32)
        return _inked(dots, sheet.paper)

    return _print_sequence(frames, rng, ink, tilt=(5, 25), fill=(1.0, 1.2),
                           resolution=resolution)


# --- screens ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """A display, its surroundings and how it is held: drawn once per sequence."""

    pitch: float  # camera pixels per screen pixel (at the centre)
    gamma: float  # the panel's own transfer curve
    contrast: float  # white over black of the backlight alone
    reflection: float  # room light reflected by the cover glass, in units of white
    white: Linear  # backlight / emitter white point
    chroma: float  # >1: wide-gamut panel showing sRGB content unmanaged
    fill_factor: float  # lit share of a subpixel cell
    banding: tuple[float, float, float]  # amplitude, period (camera rows), phase

    def radiance(self, frame: Image) -> Linear:
        """Light leaving the panel for a frame (screen pixels), before the subpixel structure."""
        encoded = frame.astype(np.float32) / 255.0
        linear = saturate(encoded ** self.gamma, self.chroma)
        black = 1.0 / self.contrast
        shown = black + (1.0 - black) * np.clip(linear, 0, 1)
        return (shown * self.white + self.reflection).astype(np.float32)


def _bands(size: tuple[int, int], banding: tuple[float, float, float]) -> Linear:
    """Rolling-shutter banding: PWM dimming beats with the camera's row readout."""
    amplitude, period, phase = banding
    rows = np.arange(size[1] * OVERSAMPLE, dtype=np.float32) / OVERSAMPLE
    return f32((1.0 + amplitude * np.sin(2 * np.pi * rows / period + phase))[:, None, None])


def _screen_sequence(frames: Sequence[Image], rng: np.random.Generator, panel: Panel,
                     pose: Pose, layout: Callable[[Linear, Linear, Linear, float, float], Linear]
                     ) -> list[Image]:
    height, width = frames[0].shape[:2]
    camera = Camera.draw(rng)
    # The lens's own blur: a Gaussian of 0.25-0.45 sensor pixels, here in frame pixels.
    lens = float(rng.uniform(0.25, 0.45)) / SENSOR
    background = room((width, height), rng)
    # The screen shows the frame scaled so that one screen pixel spans `pitch` camera pixels.
    cols = max(8, round(width * pose.fill / panel.pitch))
    rows = max(8, round(cols * height / width))
    out = []
    for frame in frames:
        pose = pose.jitter(rng)
        shown = panel.radiance(u8(cv2.resize(frame, (cols, rows), interpolation=cv2.INTER_AREA)))
        h = plane_homography((cols, rows), (width, height), yaw=pose.yaw, pitch=pose.pitch,
                             roll=pose.roll, fill=pose.fill,
                             shift=(float(rng.normal(0, 2)), float(rng.normal(0, 2))))
        size = (width * OVERSAMPLE, height * OVERSAMPLE)
        u, v = medium_coords(scaled(h, OVERSAMPLE), size)
        inside = (u >= 0) & (u < cols) & (v >= 0) & (v < rows)
        # Plus half a render sample, so that the rendering adds no aliasing of its own.
        blur = float(np.hypot(lens, 0.5 / OVERSAMPLE)) / panel.pitch
        light = layout(shown, u, v, panel.fill_factor, blur)
        big_background = cv2.resize(background, size, interpolation=cv2.INTER_LINEAR)
        scene = np.where(inside[..., None], light * _bands((width, height), panel.banding),
                         big_background + panel.reflection * 0.3)
        out.append(film(scene.astype(np.float32), camera, rng))
    return out


def _lookup(shown: Linear, u: Linear, v: Linear) -> Linear:
    rows, cols = shown.shape[:2]
    column = np.clip(np.floor(u).astype(np.int32), 0, cols - 1)
    row = np.clip(np.floor(v).astype(np.int32), 0, rows - 1)
    return shown[row, column]


def box_wave(x: Linear, start: float, width: float, period: float, blur: float) -> Linear:
    """A periodic indicator of [start, start + width) seen through a Gaussian blur `blur` (same
    units as x), from its Fourier series: the lens removes the harmonics a camera cannot
    resolve, so sampling the result at OVERSAMPLE adds no aliasing of its own."""
    duty = width / period
    out = np.full(x.shape, duty, dtype=np.float32)
    phase = 2 * np.pi * (x - start - width / 2) / period
    for m in range(1, 64):
        gain = float(np.exp(-2 * (np.pi * blur * m / period) ** 2))
        if gain < 1e-3:
            break
        out += (2 / (np.pi * m)) * np.sin(np.pi * m * duty) * gain * np.cos(m * phase)
    return out


def stripe_layout(shown: Linear, u: Linear, v: Linear, fill_factor: float, blur: float
                  ) -> Linear:
    """RGB vertical stripes, each in a third of the pixel, with a black matrix around them.
    `blur` is the lens blur in screen pixels."""
    value = _lookup(shown, u, v)
    side = float(np.sqrt(fill_factor))
    rows = box_wave(v, 0.0, side, 1.0, blur)
    out = np.empty_like(value)
    for channel in range(3):
        columns = box_wave(u, channel / 3.0, side / 3.0, 1.0, blur)
        out[..., channel] = value[..., channel] * columns * rows / (side * side / 3.0)
    return out


def pentile_layout(shown: Linear, u: Linear, v: Linear, fill_factor: float, blur: float
                   ) -> Linear:
    """Diamond PenTile: a green emitter in every pixel, red and blue on alternating pixels
    (a checkerboard), each red/blue emitter twice the green's area and carrying two pixels'
    worth of its colour (subpixel rendering), so the average light is kept."""
    value = _lookup(shown, u, v)
    green_side = float(np.sqrt(fill_factor / 3.0))
    side = float(np.sqrt(2.0 * fill_factor / 3.0))
    green = box_wave(u, 0.55, green_side, 1.0, blur) * box_wave(v, 0.55, green_side, 1.0, blur)
    # s(u) s(v) = +1 on pixels whose column and row parities agree: written with period-2 waves.
    cell_u = box_wave(u, 0.05, side, 1.0, blur)
    cell_v = box_wave(v, 0.05, side, 1.0, blur)
    signed_u = box_wave(u, 0.05, side, 2.0, blur) - box_wave(u, 1.05, side, 2.0, blur)
    signed_v = box_wave(v, 0.05, side, 2.0, blur) - box_wave(v, 1.05, side, 2.0, blur)
    even = 0.5 * (cell_u * cell_v + signed_u * signed_v)
    odd = 0.5 * (cell_u * cell_v - signed_u * signed_v)
    out = np.empty_like(value)
    out[..., 1] = value[..., 1] * green / green_side**2
    out[..., 0] = value[..., 0] * even / (side * side / 2.0)
    out[..., 2] = value[..., 2] * odd / (side * side / 2.0)
    return out


def _panel(rng: np.random.Generator, pitch: tuple[float, float], *, gamma: tuple[float, float],
           contrast: tuple[float, float], chroma: tuple[float, float],
           fill_factor: tuple[float, float]) -> Panel:
    cool = float(rng.uniform(0.0, 0.15))
    return Panel(
        pitch=float(rng.uniform(*pitch)),
        gamma=float(rng.uniform(*gamma)),
        contrast=float(rng.uniform(*contrast)),
        reflection=float(rng.uniform(0.003, 0.03)),
        white=np.array([1.0 - cool, 1.0 - cool / 3, 1.0], dtype=np.float32),
        chroma=float(rng.uniform(*chroma)),
        fill_factor=float(rng.uniform(*fill_factor)),
        banding=(float(rng.uniform(0.0, 0.08)), float(rng.uniform(15, 80)),
                 float(rng.uniform(0, 2 * np.pi))),
    )


def lcd_stripe(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """An LCD (RGB stripes, black matrix) replaying the frames, filmed off axis."""
    panel = _panel(rng, (0.3, 2.0), gamma=(2.2, 2.6), contrast=(500, 1500), chroma=(0.85, 1.0),
                   fill_factor=(0.55, 0.8))
    pose = _tilted(rng, 10, 35, (1.0, 1.2))
    pose = Pose(pose.yaw, pose.pitch, float(rng.uniform(-30, 30)), pose.fill)
    return _screen_sequence(frames, rng, panel, pose, stripe_layout)


def oled_pentile(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """An OLED phone (diamond PenTile, wide gamut, true black) replaying the frames."""
    panel = _panel(rng, (0.25, 1.2), gamma=(2.1, 2.3), contrast=(1e5, 1e6), chroma=(1.1, 1.3),
                   fill_factor=(0.25, 0.45))
    pose = _tilted(rng, 5, 30, (1.0, 1.2))
    return _screen_sequence(frames, rng, panel, pose, pentile_layout)


def retina_far(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """A high-density screen far enough that the optics average its grid away."""
    layout = stripe_layout if rng.uniform() < 0.5 else pentile_layout
    # (the lens blur in `_screen_sequence` then removes the grid; nothing is special-cased)
    panel = _panel(rng, (0.08, 0.2), gamma=(2.2, 2.5), contrast=(800, 1e5), chroma=(0.95, 1.2),
                   fill_factor=(0.3, 0.7))
    pose = _tilted(rng, 5, 25, (1.0, 1.2))
    return _screen_sequence(frames, rng, panel, pose, layout)


# --- bona fide -------------------------------------------------------------------------------

def _local_tone_map(linear: Linear, strength: float) -> Linear:
    """A phone's HDR look: the large-scale light compressed, local detail kept (shadows lifted
    without lifting the black point)."""
    lum = np.maximum(luminance(linear), 1e-4)
    log = np.log(lum)
    base = cv2.GaussianBlur(log, (0, 0), max(lum.shape) / 12.0)
    mean = float(base.mean())
    gain = np.exp((1.0 - strength) * (base - mean) + mean - base)
    return f32(linear * gain[..., None])


def bona_fide(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """Real frames as another phone would deliver them: rescaled 0.5-1.5x, exposed anywhere from
    dim (gain 0.45: more sensor noise) to bright, another white balance, sensor noise, and JPEG at
    quality 30-95. No recapture and no change of the black point: these must pass."""
    return _bona_fide(frames, rng, hard=False)


def bona_fide_hard(frames: Sequence[Image], rng: np.random.Generator) -> list[Image]:
    """`bona_fide` plus what some cameras and scenes do to the tones: a phone's S-curve or its
    shadow-lifting local tone mapping, a flat rendering with the black point raised (a cheap
    webcam), and veiling glare (stray light from a bright window behind the person). A stress
    set: the last two lift the blacks as a print does."""
    return _bona_fide(frames, rng, hard=True)


def _bona_fide(frames: Sequence[Image], rng: np.random.Generator, *, hard: bool
               ) -> list[Image]:
    scale = float(rng.uniform(0.5, 1.5))
    exposure = float(np.exp(rng.uniform(np.log(0.45), np.log(1.4))))
    noise = float(rng.uniform(1.0, 4.0)) / np.sqrt(min(exposure, 1.0))  # dim light: more gain
    balance = np.exp(rng.normal(0, 0.06, 3)).astype(np.float32)
    quality = int(rng.integers(30, 96))
    contrast, tone_map, veil = 0.0, 0.0, 0.0
    if hard:
        contrast = float(rng.uniform(-0.15, 0.35))
        tone_map = float(rng.uniform(0.0, 0.5)) if rng.uniform() < 0.5 else 0.0
        veil = float(rng.uniform(0.0, 0.006)) if rng.uniform() < 0.5 else 0.0
    out = []
    for frame in frames:
        height, width = frame.shape[:2]
        size = (max(32, round(width * scale)), max(32, round(height * scale)))
        method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        linear = to_linear(np.asarray(cv2.resize(frame, size, interpolation=method), np.uint8))
        linear = linear * exposure * balance + veil
        if tone_map:
            linear = _local_tone_map(linear, tone_map)
        encoded = tone_curve(np.clip(linear, 0, 1).astype(np.float32), max(contrast, 0.0))
        if contrast < 0:  # a flat rendering about mid-grey: the black point rises
            encoded = 0.5 + (1 + contrast) * (encoded - 0.5)
        encoded = encoded + rng.normal(0, noise / 255.0, encoded.shape).astype(np.float32)
        out.append(jpeg(quantise(encoded), quality))
    return out


# --- the families ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # "bona_fide", "print" or "screen"
    make: Callable[[Sequence[Image], np.random.Generator], list[Image]]
    about: str


FAMILIES: tuple[Family, ...] = (
    Family("bona_fide", "bona_fide", bona_fide,
           "real frames rescaled 0.5-1.5x, dim to bright, white balance, noise, JPEG q30-95"),
    Family("bona_fide_hard", "bona_fide", bona_fide_hard,
           "bona_fide + S-curve / local tone mapping, raised black point, veiling glare"),
    Family("photo_print", "print", photo_print,
           "continuous-tone print (no halftone), gamut, paper texture, tilt, uneven light"),
    Family("fm_print", "print", fm_print, "CMYK stochastic (FM) screen print, blue-noise dots"),
    Family("am_print", "print", am_print, "CMYK AM halftone, 0.5-1.6 px per dot, angles 15/75/0/45 + random"),
    Family("lcd_stripe", "screen", lcd_stripe,
           "LCD RGB stripe 0.3-2 px, rolled up to 30 deg, 10-35 deg off axis, banding"),
    Family("oled_pentile", "screen", oled_pentile,
           "OLED diamond PenTile 0.25-1.2 px, wide gamut, glass reflection"),
    Family("retina_far", "screen", retina_far,
           "high-density screen at 0.08-0.2 px: grid below the camera's resolution"),
)
