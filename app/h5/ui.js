// Showing steps, bilingual text, field errors and announcements. No knowledge of the API.

import { FIELD_RULES, MESSAGES, PROBLEMS } from './text.js';

export const $ = (id) => document.getElementById(id);

// Which stage of the stepper each step belongs to.
const STAGES = {
  'step-consent': 'consent', 'step-declined': 'consent', 'step-account': 'account',
  'step-realname': 'realname', 'step-biometric': 'face', 'step-camera': 'face', 'step-verdict': 'face',
  'step-ecard': 'ecard',
};

/** Show one step (a <section>), hide the others, and move focus to its heading. */
export function show(stepId) {
  for (const section of document.querySelectorAll('main > section')) {
    section.hidden = section.id !== stepId;
  }
  const stage = STAGES[stepId];
  const items = [...document.querySelectorAll('#stepper li')];
  const current = items.findIndex((li) => li.dataset.stage === stage);
  items.forEach((li, i) => {
    li.classList.toggle('done', current >= 0 && i < current);
    if (i === current) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  });
  document.body.dataset.step = stepId;
  const heading = $(stepId).querySelector('h2');
  if (heading) heading.focus();
}

/** Fill an element with a Chinese line and its English line. */
export function setText(element, [zh, en]) {
  const first = document.createElement('span');
  first.className = 'zh';
  first.textContent = zh;
  const second = document.createElement('span');
  second.className = 'en';
  second.lang = 'en';
  second.textContent = en;
  element.replaceChildren(first, ' ', second);
}

export function clearText(element) {
  element.replaceChildren();
}

/** Say something to screen readers now (the assertive live region). */
export function announce([zh, en]) {
  const region = $('announcer');
  region.textContent = '';
  // A new text node in a cleared region is announced even when the words repeat.
  window.setTimeout(() => { region.textContent = `${zh}。${en}`; }, 30);
}

/** The person-readable text of an error: a problem code of the API, or a network failure. */
export function describe(error) {
  if (error && error.name === 'NetworkError') return MESSAGES.network;
  const code = error && error.code;
  if (code && PROBLEMS[code]) return PROBLEMS[code];
  return MESSAGES.unknown;
}

/** Clear the errors of a form: every field's message and the form's own. */
export function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const message of form.querySelectorAll('.field-error, .form-error')) clearText(message);
}

/**
 * Show an API error on a form: on the fields the problem document names (`fields`, `field`), else
 * on the form. The first field in error takes the focus.
 */
export function showError(form, error, fieldNames = {}) {
  clearErrors(form);
  if (sessionEnded(error)) return;
  const named = (error.fields || [])
    .map((field) => [field, form.elements.namedItem(fieldNames[field] || field)])
    .filter(([, input]) => input instanceof HTMLElement);
  const text = describe(error);
  if (!named.length) {
    const message = form.querySelector('.form-error');
    setText(message, text);
    message.tabIndex = -1; // the message takes the focus, so that it is read and found
    message.focus();
    return;
  }
  for (const [field, input] of named) {
    input.setAttribute('aria-invalid', 'true');
    const own = error.code === 'invalid_request' && FIELD_RULES[field] ? FIELD_RULES[field] : text;
    setText($(input.getAttribute('aria-describedby').split(' ')[0]), own);
  }
  named[0][1].focus();
}

let onSessionEnded = null;

/** What to do when the channel's grant is gone (the page starts again at the consent prompt). */
export function whenSessionEnds(handler) {
  onSessionEnded = handler;
}

/** True (and the page sent back to the consent prompt) when `error` says the session has ended. */
export function sessionEnded(error) {
  if (!error || error.code !== 'session_ended' || !onSessionEnded) return false;
  onSessionEnded();
  return true;
}

/** Check `required` fields before sending; false (and the first empty field focused) if one is empty. */
export function requireFilled(form) {
  clearErrors(form);
  const empty = [...form.querySelectorAll('input[required]')]
    .filter((input) => (input.type === 'checkbox' ? !input.checked : !input.value.trim()));
  for (const input of empty) {
    input.setAttribute('aria-invalid', 'true');
    setText($(input.getAttribute('aria-describedby').split(' ')[0]), MESSAGES.required);
  }
  if (empty.length) empty[0].focus();
  return empty.length === 0;
}

/**
 * Disable a form's controls while `work` runs, so that a double tap sends one request; then give
 * the focus to the first field in error, if `work` found one (a disabled field cannot take it).
 */
export async function busy(form, work) {
  const controls = [...form.querySelectorAll('button, input')];
  const before = controls.map((control) => control.disabled);
  controls.forEach((control) => { control.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    controls.forEach((control, i) => { control.disabled = before[i]; });
    form.removeAttribute('aria-busy');
    const invalid = form.querySelector('[aria-invalid="true"]');
    const message = form.querySelector('.form-error');
    if (invalid && !form.hidden) invalid.focus();
    else if (message && message.textContent && !form.hidden) {
      message.tabIndex = -1;
      message.focus();
    }
  }
}
