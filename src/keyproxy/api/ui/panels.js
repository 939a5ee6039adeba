// The summary cards, the usage table and the failures table, drawn from the API's answers.
import { h, setText } from './dom.js';
import { ago, compact, int, money, ms, percent } from './format.js';
import { keyState } from './keys.js';

function card(label, value, sub) {
  return h('div', { class: 'card stat' }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }), sub);
}

const sub = (text) => h('div', { class: 'sub', text });

// `range` and `days` name the activity's time range and the usage's days in the cards' labels.
export function summary(el, { status, activity, usage, range, days }) {
  const counts = { ok: 0, cooling: 0, held: 0, benched: 0, disabled: 0 };
  let total = 0, inFlight = 0;
  for (const provider of Object.values((status && status.providers) || {})) {
    for (const key of provider.keys) {
      counts[keyState(key).status] += 1;
      total += 1;
      inFlight += key.in_flight;
    }
  }
  let ok = 0, bad = 0, weighted = 0;
  const series = activity && activity.series;
  if (series) {
    series.ok.forEach((n, i) => {
      ok += n;
      bad += series.failed[i];
      if (series.avg_ms[i] !== null) weighted += series.avg_ms[i] * n;
    });
  }
  let cost = 0, tokens = 0;
  for (const row of usageRows(usage, 'provider')) {
    cost += row.cost;
    tokens += row.input + row.output;
  }
  const states = h('div', { class: 'sub' },
    ...['ok', 'cooling', 'held', 'benched', 'disabled'].filter((name) => counts[name] || name === 'ok')
      .map((name) => h('span', { class: `dotted c-${name}`, text: `${counts[name]} ${name}` })));
  el.replaceChildren(
    card('Keys', int.format(total), states),
    card(`Requests · ${range}`, compact.format(ok + bad), sub(`${int.format(bad)} failed`)),
    card(`Success · ${range}`, ok + bad ? percent(ok / (ok + bad)) : '—', sub('of attempts')),
    card(`Latency · ${range}`, ok ? ms(weighted / ok) : '—', sub('average, successes')),
    card('In flight', int.format(inFlight), sub('right now')),
    card(`Cost · ${days}`, money(cost), sub(`${compact.format(tokens)} tokens`)),
  );
}

export const MEASURES = { cost: (r) => r.cost, tokens: (r) => r.input + r.output, requests: (r) => r.requests };

// GET /v1/usage added up by provider, key or model, the largest `measure` first.
export function usageRows(usage, group, measure = 'cost') {
  const totals = new Map();
  for (const [provider, data] of Object.entries((usage && usage.providers) || {})) {
    for (const [mask, key] of Object.entries(data.keys)) {
      for (const [model, c] of Object.entries(key.models || {})) {
        const name = group === 'provider' ? provider : group === 'key' ? `${provider} ${mask}` : `${provider}/${model}`;
        const row = totals.get(name) || { name, requests: 0, failed: 0, input: 0, output: 0, cost: 0 };
        row.requests += c.requests;
        row.failed += c.requests - c.successes;
        row.input += c.prompt_tokens;
        row.output += c.completion_tokens;
        row.cost += c.cost_usd;
        totals.set(name, row);
      }
    }
  }
  const value = MEASURES[measure];
  return [...totals.values()].sort((a, b) => value(b) - value(a) || a.name.localeCompare(b.name));
}

export function usageTable(body, rows) {
  body.replaceChildren(...rows.map((row) => h('tr', {},
    h('td', { text: row.name }),
    h('td', { class: 'num', text: int.format(row.requests) }),
    h('td', { class: 'num hide-sm', text: int.format(row.failed) }),
    h('td', { class: 'num', text: int.format(row.input) }),
    h('td', { class: 'num', text: int.format(row.output) }),
    h('td', { class: 'num', text: money(row.cost) }))));
}

// Rebuilt only when the failures change; otherwise only their ages move on.
export function failuresTable(body, failures, now) {
  const first = failures[0];
  const signature = first ? `${failures.length}:${first.at}:${first.id}` : '';
  if (body.dataset.signature === signature) {
    for (const cell of body.querySelectorAll('[data-at]')) setText(cell, ago(Number(cell.dataset.at), now));
    return;
  }
  body.dataset.signature = signature;
  body.replaceChildren(...failures.map((f) => h('tr', {},
    h('td', { class: 'when', 'data-at': f.at, title: new Date(f.at * 1000).toLocaleString(), text: ago(f.at, now) }),
    h('td', { class: 'prov', text: f.provider }),
    h('td', { class: 'key' }, h('code', { text: f.key })),
    h('td', { class: 'model', text: f.model }),
    h('td', { class: 'cls' }, h('span', { class: `pill e-${f.class}`, text: (f.class || '').replace('_', ' ') })),
    h('td', { class: 'num', text: f.status === null ? '—' : String(f.status) }),
    h('td', { class: 'msg', title: f.message, text: f.message }))));
}
