// Small DOM helpers. Everything that comes from the server (user agents, ids, messages) is set as
// text, never parsed as HTML: a session's device description is whatever its client sent.

/**
 * Creates an element: `h('td', { class: 'x', dataset: { id } }, 'text', child)`.
 * Attributes go through setAttribute; children are nodes or text.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'onclick') element.addEventListener('click', value);
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (name === 'style') element.style.cssText = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const $ = (selector) => document.querySelector(selector);

/** Shows exactly one of the page's views. */
export function show(view) {
  for (const id of ['sign-in', 'forbidden', 'dashboard']) $(`#${id}`).hidden = id !== view;
  $('#who').hidden = view !== 'dashboard';
}

/** A one-line message at the top of the page; empty hides it. */
export function notice(text, tone = 'info') {
  const element = $('#notice');
  element.textContent = text;
  element.dataset.tone = tone;
  element.hidden = !text;
}

/** 95 → "1m 35s". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** An ISO time as "12s ago". */
export function ago(iso) {
  return `${duration((Date.now() - Date.parse(iso)) / 1000)} ago`;
}

/** `alice.Qx3…` — enough of a session id to tell sessions apart. */
export function shortId(sessionId) {
  const dot = sessionId.lastIndexOf('.');
  return `${sessionId.slice(0, dot + 1)}${sessionId.slice(dot + 1, dot + 7)}…`;
}

export function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}
