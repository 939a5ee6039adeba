// The key list: a block per provider and a row per key, kept from one refresh to the next and updated in
// place, so a hundred keys cost a few text comparisons per refresh; countdowns tick on their own.
import { h, setText } from './dom.js';
import { ago, clock, duration, int, ms, percent } from './format.js';

export function keyState(key) {
  if (key.disabled) return { status: 'disabled', until: null };
  if (key.status === 'benched') return { status: 'benched', until: key.benched_until };
  if (key.status === 'cooling') {
    const until = Math.min(...key.cooldowns.map((c) => c.until));
    return { status: 'cooling', until: Number.isFinite(until) ? until : null };
  }
  if (key.status === 'held') {
    // Held out by the fair cycle or a custom cap: back by then at the latest.
    const until = Math.min(...key.held.map((held) => held.until));
    return { status: 'held', until: Number.isFinite(until) ? until : null };
  }
  return { status: 'ok', until: null };
}

function block(name) {
  const sub = h('span', { class: 'sub' });
  const reset = h('button', { type: 'button', class: 'secondary', 'data-act': 'reset-all', text: 'Reset all' });
  const body = h('div', { class: 'prows' });
  const el = h('div', { class: 'provider', 'data-provider': name }, h('div', { class: 'phead' }, h('h3', { text: name }), sub, reset), body);
  return { el, sub, body, reset };
}

function keyRow(provider, id) {
  const cell = (cls, label) => h('span', { class: cls, 'data-label': label });
  const row = {
    pill: h('span', { class: 'pill' }),
    mask: h('code'),
    cd: h('span', { class: 'cd' }),
    inFlight: cell('num', 'in flight'),
    rate: cell('num', 'success'),
    latency: cell('num', 'first byte'),
    used: cell('used', 'used'),
    toggle: h('button', { type: 'button', 'data-act': 'toggle' }),
    reset: h('button', { type: 'button', 'data-act': 'reset', text: 'Reset' }),
    test: h('button', { type: 'button', 'data-act': 'test', text: 'Test' }),
    remove: h('button', { type: 'button', class: 'danger', 'data-act': 'remove', text: 'Remove' }),
  };
  row.el = h('div', { class: 'krow', 'data-provider': provider, 'data-id': id },
    row.pill, h('span', { class: 'kname' }, row.mask, h('small', { text: id })), row.cd,
    h('span', { class: 'line2' },
      h('span', { class: 'stats' }, row.inFlight, row.rate, row.latency, row.used),
      h('span', { class: 'acts' }, row.reset, row.toggle, row.test, row.remove)));
  return row;
}

// Moves `el` to just after `before` (or first) unless it is there already.
function place(parent, el, before) {
  const expected = before ? before.nextSibling : parent.firstChild;
  if (expected !== el) parent.insertBefore(el, expected);
}

export class KeyTable {
  constructor(container, now) {
    this.container = container;
    this.now = now;
    this.blocks = new Map();
    this.rows = new Map();
  }

  row(provider, id) {
    return this.rows.get(`${provider}/${id}`) || null;
  }

  // Draws `status` (GET /v1/status) with each key's last hour from `recent` (activity's `keys`); returns how
  // many keys `filter` (text) and `show` (a state or 'all') leave visible.
  render(status, recent, filter, show) {
    const seen = new Set();
    const text = filter.toLowerCase();
    let shown = 0, previous = null;
    for (const [name, provider] of Object.entries(status.providers)) {
      let group = this.blocks.get(name);
      if (!group) this.blocks.set(name, (group = block(name)));
      seen.add(name);
      const counts = { ok: 0, cooling: 0, held: 0, benched: 0, disabled: 0 };
      let before = null, visible = 0, requests = 0;
      for (const key of provider.keys) {
        const id = `${name}/${key.id}`;
        let row = this.rows.get(id);
        if (!row) this.rows.set(id, (row = keyRow(name, key.id)));
        seen.add(id);
        const { status: state, until } = keyState(key);
        counts[state] += 1;
        const last = (recent[name] && recent[name][key.id]) || null;
        if (last) requests += last.requests;
        this.update(row, key, state, until, last);
        const match = (show === 'all' || show === state)
          && (!text || `${name} ${key.key} ${key.id} ${state} ${key.source || ''}`.toLowerCase().includes(text));
        row.el.hidden = !match;
        if (match) visible += 1;
        place(group.body, row.el, before);
        before = row.el;
      }
      const parts = [provider.rotation_mode, `${provider.keys.length} key${provider.keys.length === 1 ? '' : 's'}`];
      for (const kind of ['cooling', 'held', 'benched', 'disabled']) if (counts[kind]) parts.push(`${counts[kind]} ${kind}`);
      parts.push(`${int.format(requests)} requests in the last hour`);
      setText(group.sub, parts.join(' · '));
      group.reset.disabled = !(counts.cooling || counts.held || counts.benched);
      group.el.hidden = visible === 0;
      shown += visible;
      place(this.container, group.el, previous);
      previous = group.el;
    }
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    for (const [name, group] of this.blocks) if (!seen.has(name)) { group.el.remove(); this.blocks.delete(name); }
    return shown;
  }

  update(row, key, status, until, last) {
    const el = row.el;
    if (el.dataset.status !== status) {
      el.dataset.status = status;
      row.pill.className = `pill s-${status}`;
      row.pill.textContent = status;
    }
    setText(row.mask, key.key);
    if (until) el.dataset.until = String(until);
    else delete el.dataset.until;
    const reasons = (key.cooldowns || []).map((c) => `${c.model || 'all models'}: ${c.reason} until ${clock(c.until)}`);
    if (key.bench_reason) reasons.unshift(`benched: ${key.bench_reason}`);
    for (const held of key.held || []) {
      const model = held.model === '*' ? 'all models' : held.model;
      const why = held.by === 'fair_cycle' ? 'exhausted, waits for the other keys (fair cycle)' : 'at its custom cap';
      reasons.push(`${model}: ${why} until ${clock(held.until)}`);
    }
    if (key.proxy) {
      const health = key.proxy_health;
      const seen = health && health.state !== 'unknown' ? ` (${health.state} since ${clock(health.since)})` : '';
      reasons.push(`via ${key.proxy}${seen}${health && health.problem ? `: ${health.problem}` : ''}`);
    }
    row.cd.title = reasons.join('\n');
    this.countdown(row);
    setText(row.inFlight, String(key.in_flight));
    setText(row.rate, last ? percent(last.success_rate) : '—');
    setText(row.latency, last ? ms(last.avg_first_byte_ms ?? last.avg_ms) : '—');
    setText(row.used, ago(key.last_used, this.now()));
    // A reset lifts cooldowns, benches and fair-cycle marks, never a custom cap.
    const resettable = status === 'cooling' || status === 'benched' || (key.held || []).some((held) => held.by === 'fair_cycle');
    row.reset.hidden = !resettable;
    setText(row.toggle, key.disabled ? 'Enable' : 'Disable');
    row.remove.hidden = key.origin !== 'runtime';
  }

  countdown(row) {
    const until = Number(row.el.dataset.until || 0);
    if (!until) {
      setText(row.cd, row.el.dataset.status === 'disabled' ? 'off' : '—');
      delete row.cd.dataset.seconds;
      return;
    }
    const left = Math.max(0, Math.ceil(until - this.now()));
    row.cd.dataset.seconds = String(left);
    setText(row.cd, left ? duration(left) : 'now');
  }

  tick() {
    for (const row of this.rows.values()) if (row.el.dataset.until) this.countdown(row);
  }
}
