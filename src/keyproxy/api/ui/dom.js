// Building and updating the page: elements with their attributes and text, never HTML from a string.
const NS = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined) el.append(child);
  return el;
}

export function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Touching only what changed keeps a refresh of a hundred rows cheap.
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function toast(message, kind) {
  const el = h('div', { class: `toast ${kind || ''}`, text: message });
  $('toasts').append(el);
  setTimeout(() => el.remove(), 4500);
}
