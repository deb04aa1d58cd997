// Every message the page shows from script, Chinese first with its English line.
// (The static text is in index.html, in both languages.)

export const PROMPTS = {
  ready: ['请正对屏幕，保持不动', 'Face the screen and hold still'],
  light: ['屏幕将闪烁几种颜色，请正对屏幕，保持不动', 'The screen will flash colours: face it and hold still'],
  lightWarning: [
    '接下来屏幕会快速闪烁颜色。如您对闪光敏感，请勿继续，可到经办网点办理。',
    'The screen is about to flash colours quickly. If flashing light affects you, do not continue: a service counter can help.',
  ],
  hold: ['请保持正对屏幕', 'Keep facing the screen'],
  uploading: ['正在上传，请稍候…', 'Uploading, please wait…'],
  deciding: ['正在核验，请稍候…', 'Verifying, please wait…'],
  placeFace: ['请将面部置于取景框内', 'Put your face inside the oval'],
};

export const ACTIONS = {
  blink: ['请眨眨眼', 'Blink your eyes'],
  open_mouth: ['请张张嘴，再合上', 'Open your mouth, then close it'],
  turn_left: ['请向左转头，再转回来', 'Turn your head to your left, then back'],
  turn_right: ['请向右转头，再转回来', 'Turn your head to your right, then back'],
};

export function stepOf(index, count) {
  return [`第 ${index} 步，共 ${count} 步`, `Step ${index} of ${count}`];
}

// The per-frame guidance of a frames upload (`feedback[].guidance`).
export const GUIDANCE = {
  no_face: ['没有看到人脸，请将面部置于取景框内', 'No face seen: put your face inside the oval'],
  multiple_faces: ['画面中只能有一张人脸', 'Only one face may be in the picture'],
  move_closer: ['请靠近一些', 'Move closer'],
  face_the_camera: ['请正对屏幕', 'Face the screen'],
  too_dark: ['光线太暗，请到明亮处', 'Too dark: find more light'],
  too_bright: ['光线太强，请避开强光', 'Too bright: move out of the glare'],
  blurred: ['画面模糊，请拿稳手机', 'Blurred: hold the phone steady'],
  hold_still: ['请不要晃动', 'Hold still'],
};

export const VERDICT = {
  passed: ['核验通过', 'Verified'],
  failed: ['核验未通过', 'Not verified'],
};

export const STATES = {
  active: ['正常', 'Active'],
  suspended: ['暂停使用', 'Suspended'],
  invalid: ['已失效', 'No longer valid'],
};

export const STATE_REASONS = {
  suspended: [
    '社会保障卡已临时挂失，或未在领卡后 300 天内启用金融功能，电子社保卡暂停使用，不能亮码。解除挂失后即恢复。',
    'The card is reported temporarily lost, or its financial application was not enabled within 300 days of '
      + 'collection: the e-card is suspended and shows no QR code. It is restored when the card is unlocked.',
  ],
  invalid: [
    '社会保障卡已正式挂失、补换或注销，电子社保卡已失效，不能亮码。',
    'The card was formally reported lost, replaced or cancelled: the e-card is no longer valid and shows no QR code.',
  ],
  replaced: ['已补换新卡，请用新卡重新申领电子社保卡。', 'A new card replaces it: claim the e-card again for the new card.'],
};

export const SIGN_LEVELS = {
  1: ['一级（身份凭证、信息查询）', 'Level 1 (identity and enquiries)'],
  2: ['二级（含支付结算）', 'Level 2 (payments as well)'],
};

export function qrCountdown(seconds) {
  return [`${seconds} 秒后自动刷新`, `Refreshes in ${seconds} s`];
}

export function qrAlt(expiresAt) {
  const time = expiresAt.toLocaleTimeString('zh-CN', { hour12: false });
  return [`电子社保卡二维码，${time} 前有效`, `E-card QR code, valid until ${time}`];
}

export function smsCountdown(seconds) {
  return [`${seconds} 秒后重发`, `Again in ${seconds} s`];
}

export const MESSAGES = {
  sendCode: ['获取验证码', 'Send code'],
  codeSent: ['验证码已发送', 'Code sent'],
  qrExpired: ['二维码已过期，请点击刷新', 'The QR code has expired: refresh it'],
  noClient: [
    '页面地址缺少 client_id，请从 App 或小程序中打开。',
    'The address lacks client_id: open this page from the app or mini-program.',
  ],
  insecure: [
    '请通过 HTTPS 打开本页（摄像头和加密功能需要安全连接）。',
    'Open this page over HTTPS: the camera and the cryptography it uses need a secure connection.',
  ],
  noCamera: [
    '无法使用摄像头。请在系统设置中允许本应用使用相机后重试。',
    'The camera cannot be used. Allow this app to use the camera in the system settings, then try again.',
  ],
  noCameraApi: ['当前环境不支持调用摄像头。', 'This environment cannot use the camera.'],
  cameraMissing: ['没有找到可用的前置摄像头。', 'No front camera was found on this device.'],
  network: ['网络异常，请检查网络后重试。', 'Network error: check the connection and try again.'],
  unknown: ['出现错误，请稍后重试。', 'Something went wrong: try again later.'],
  stateMismatch: ['授权结果与请求不符，请重新授权。', 'The authorization answer does not match the request: start again.'],
  biometricRequired: ['需要您同意人脸信息处理才能继续。', 'Your consent to facial processing is needed to continue.'],
  required: ['请填写此项', 'Please fill this in'],
};

// Problem codes of the API, as the person should read them. Unknown codes fall back to `unknown`.
export const PROBLEMS = {
  invalid_phone: ['请输入 11 位手机号码', 'Enter an 11-digit mobile number'],
  account_exists: ['该手机号已注册，请直接登录', 'This phone has an account: log in instead'],
  invalid_credentials: ['手机号或密码错误', 'Wrong phone number or password'],
  weak_password: ['密码需 8 位以上，且包含字母、数字或符号中的两种', 'Use 8 or more characters mixing two of letters, digits and symbols'],
  sms_code_invalid: ['验证码错误，请重新获取', 'Wrong code: request a new one'],
  sms_code_expired: ['验证码已过期，请重新获取', 'The code has expired: request a new one'],
  sms_code_exhausted: ['验证码错误次数过多，请重新获取', 'Too many wrong codes: request a new one'],
  sms_too_frequent: ['验证码发送太频繁，请稍后再试', 'Codes are sent at most once a minute: wait a little'],
  sms_daily_limit: ['今日验证码次数已用完', 'No more codes today for this phone'],
  rate_limited: ['操作太频繁，请稍后再试', 'Too many attempts: try again later'],
  invalid_id_number: ['身份证号码不正确', 'This is not a valid citizen ID number'],
  invalid_name: ['请输入正确的姓名', 'Enter the name as on the card'],
  realname_mismatch: ['姓名与身份证号码不匹配，请核对', 'Name and ID number do not match a card: check them'],
  card_not_usable: [
    '您的社会保障卡暂不可用（未启用、已挂失、已补换或已注销），请到经办网点办理',
    'Your card cannot be used now (not activated, reported lost, replaced or cancelled): visit a service counter',
  ],
  realname_expired: ['实名核验已过期，请重新核验', 'The real-name check has expired: check again'],
  consent_expired: ['授权已过期，请重新授权', 'The authorization prompt expired: start again'],
  consent_used: ['该授权已处理，请重新授权', 'This prompt was answered already: start again'],
  face_verification_required: ['请先完成人脸核验', 'Complete face verification first'],
  ecard_not_active: ['电子社保卡当前不可用', 'The e-card is not active'],
  ecard_not_found: ['尚未领取电子社保卡', 'No e-card has been claimed yet'],
  challenge_expired: ['核验已超时，请重新开始', 'The verification timed out: start again'],
  session_used: ['本次核验已结束，请重新开始', 'This verification has ended: start again'],
  too_many_frames: ['已采集足够画面', 'Enough frames were taken'],
  face_engine_unavailable: ['人脸服务繁忙，请稍后重试', 'Face service busy: try again shortly'],
  invalid_client: ['本页未登记为该应用的渠道，请联系应用提供方', 'This page is not registered for the app: contact its provider'],
  invalid_redirect_uri: ['本页地址未登记为该渠道的回调地址', "This page's address is not a registered redirect URI of the channel"],
  invalid_scope: ['该渠道无权申请这些权限', 'The channel may not ask for these permissions'],
  insufficient_scope: [
    '授权中没有这一步所需的权限，请重新授权',
    'The authorization does not cover this step: authorise again with the permissions it needs',
  ],
  session_ended: ['登录已失效，请重新授权', 'Your session has ended: authorise again'],
  database_unavailable: ['服务暂时不可用，请稍后重试', 'The service is unavailable for a moment: try again shortly'],
  frame_index_mismatch: ['画面上传中断，请重新开始核验', 'The upload was interrupted: start the verification again'],
};

// What a field that fails the API's validation (`invalid_request` with `fields`) must hold.
export const FIELD_RULES = {
  phone: PROBLEMS.invalid_phone,
  password: ['请输入密码（8 位以上）', 'Enter a password of 8 or more characters'],
  sms_code: ['请输入 6 位验证码', 'Enter the 6-digit code'],
  name: PROBLEMS.invalid_name,
  id_number: PROBLEMS.invalid_id_number,
};
