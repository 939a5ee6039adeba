// keyproxy dashboard: polls the admin API with the key kept in sessionStorage and redraws in place.
(() => {
  'use strict';

  const STORE = 'keyproxy.key';
  const POLL_MS = 2000;
  const USAGE_MS = 30000;
  const HIDDEN_MS = 15000;
  const FAILURES_SHOWN = 10;
  const NS = 'http://www.w3.org/2000/svg';

  const state = {
    key: sessionStorage.getItem(STORE) || '',
    offset: 0,
    minutes: 60,
    days: 7,
    group: 'provider',
    metric: 'cost',
    filter: '',
    show: 'all',
    allFailures: false,
    status: null,
    activity: null,
    usage: null,
    pollTimer: 0,
    usageTimer: 0,
    polls: 0,
    usageLoads: 0,
    lastOk: 0,
    running: false,
  };
  const blocks = new Map();
  const rows = new Map();

  const $ = (id) => document.getElementById(id);

  function h(tag, props, ...children) {
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

  function s(tag, attrs, text) {
    const el = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  const now = () => Date.now() / 1000 + state.offset;
  const int = new Intl.NumberFormat();
  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

  function duration(seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    if (seconds < 60) return `${seconds}s`;
    const m = Math.floor(seconds / 60), r = seconds % 60;
    if (m < 60) return `${m}m ${String(r).padStart(2, '0')}s`;
    const hours = Math.floor(m / 60);
    if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, '0')}m`;
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }

  function ago(at) {
    if (!at) return 'never';
    const seconds = now() - at;
    if (seconds < 5) return 'just now';
    if (seconds < 60) return `${Math.floor(seconds)}s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  const percent = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)}%`);
  const ms = (value) => (value === null || value === undefined ? '—' : value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
  const money = (usd) => (usd >= 100 ? `$${int.format(Math.round(usd))}` : usd >= 1 ? `$${usd.toFixed(2)}` : usd > 0 ? `$${usd.toFixed(4)}` : '$0');
  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  const utcDay = (t) => new Date(t * 1000).toISOString().slice(0, 10);

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method, headers, cache: 'no-store', credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'keyproxy is not answering');
    }
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (!response.ok) {
      const message = data && data.error && data.error.message;
      throw new ApiError(response.status, message || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function toast(message, kind) {
    const el = h('div', { class: `toast ${kind || ''}`, text: message });
    $('toasts').append(el);
    setTimeout(() => el.remove(), 4500);
  }

  function showLogin(message) {
    stop();
    $('app-view').hidden = true;
    $('sign-out').hidden = true;
    $('login-view').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    setLive('idle', 'Signed out');
    $('login-key').focus();
  }

  function enter() {
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('sign-out').hidden = !state.key;
    state.running = true;
    poll();
    loadUsage();
  }

  function stop() {
    state.running = false;
    clearTimeout(state.pollTimer);
    clearTimeout(state.usageTimer);
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $('login-key').value.trim();
    if (!key) return;
    $('login-submit').disabled = true;
    state.key = key;
    try {
      await api('GET', '/v1/status');
      sessionStorage.setItem(STORE, key);
      $('login-key').value = '';
      enter();
    } catch (error) {
      state.key = '';
      $('login-error').hidden = false;
      $('login-error').textContent = error.status === 401 ? 'That key was not accepted.' : error.message;
    } finally {
      $('login-submit').disabled = false;
    }
  }

  function signOut() {
    sessionStorage.removeItem(STORE);
    state.key = '';
    showLogin('');
  }

  function failed(error) {
    if (error.status === 401 || error.status === 403) {
      sessionStorage.removeItem(STORE);
      state.key = '';
      showLogin(error.status === 401 ? 'Sign in again: the key was not accepted.' : error.message);
      return true;
    }
    return false;
  }

  function setLive(kind, text) {
    $('live').dataset.state = kind;
    setText($('live-text'), text);
  }

  // An action, a new range or a tab coming back starts a poll at once; only the latest one started draws and
  // schedules the next, so answers arriving out of order are never drawn and polls never multiply.
  async function poll() {
    clearTimeout(state.pollTimer);
    if (!state.running) return;
    const mine = ++state.polls;
    const asked = Date.now() / 1000;
    const [status, activity] = await Promise.allSettled([
      api('GET', '/v1/status'),
      api('GET', `/v1/admin/activity?minutes=${state.minutes}&failures=50`),
    ]);
    if (!state.running || mine !== state.polls) return;
    if (status.status === 'rejected') {
      if (failed(status.reason)) return;
      setLive('error', status.reason.message);
    } else {
      state.offset = status.value.now - (asked + Date.now() / 1000) / 2;
      state.status = status.value;
      state.lastOk = Date.now();
      setLive('ok', 'Live');
    }
    if (activity.status === 'fulfilled') state.activity = activity.value;
    else if (failed(activity.reason)) return;
    render();
    state.pollTimer = setTimeout(poll, document.hidden ? HIDDEN_MS : POLL_MS);
  }

  function usageRange() {
    if ($('since').value && $('until').value) return [$('since').value, $('until').value];
    const today = utcDay(now());
    return [utcDay(now() - (state.days - 1) * 86400), today];
  }

  async function loadUsage() {
    clearTimeout(state.usageTimer);
    if (!state.running) return;
    const mine = ++state.usageLoads;
    const [since, until] = usageRange();
    try {
      const usage = await api('GET', `/v1/usage?since=${since}&until=${until}`);
      if (!state.running || mine !== state.usageLoads) return;
      state.usage = usage;
      renderUsage();
      renderSummary();
    } catch (error) {
      if (mine !== state.usageLoads || failed(error)) return;
      toast(`Usage: ${error.message}`, 'bad');
    }
    state.usageTimer = setTimeout(loadUsage, USAGE_MS);
  }

  function render() {
    renderSummary();
    renderKeys();
    renderTraffic();
    renderFailures();
  }

  function keyState(key) {
    if (key.disabled) return { status: 'disabled', until: null };
    if (key.status === 'benched') return { status: 'benched', until: key.benched_until };
    if (key.status === 'cooling') {
      const until = Math.min(...key.cooldowns.map((c) => c.until));
      return { status: 'cooling', until: Number.isFinite(until) ? until : null };
    }
    return { status: 'ok', until: null };
  }

  function stats(provider, id) {
    const keys = state.activity && state.activity.keys[provider];
    return (keys && keys[id]) || null;
  }

  function stat(label, value, sub) {
    return h('div', { class: 'card stat' }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }), sub);
  }

  function renderSummary() {
    const counts = { ok: 0, cooling: 0, benched: 0, disabled: 0 };
    let total = 0, inFlight = 0;
    for (const provider of Object.values((state.status && state.status.providers) || {})) {
      for (const key of provider.keys) {
        counts[keyState(key).status] += 1;
        total += 1;
        inFlight += key.in_flight;
      }
    }
    const series = state.activity && state.activity.series;
    let ok = 0, bad = 0, weighted = 0;
    if (series) {
      series.ok.forEach((n, i) => {
        ok += n;
        bad += series.failed[i];
        if (series.avg_ms[i] !== null) weighted += series.avg_ms[i] * n;
      });
    }
    const range = { 60: '1 h', 360: '6 h', 1440: '24 h' }[state.minutes];
    let cost = 0, tokens = 0;
    for (const provider of Object.values((state.usage && state.usage.providers) || {})) {
      for (const key of Object.values(provider.keys)) {
        for (const model of Object.values(key.models || {})) {
          cost += model.cost_usd;
          tokens += model.prompt_tokens + model.completion_tokens;
        }
      }
    }
    const states = h('div', { class: 'sub' },
      ...['ok', 'cooling', 'benched', 'disabled'].filter((name) => counts[name] || name === 'ok')
        .map((name) => h('span', { class: `dotted c-${name}`, text: `${counts[name]} ${name}` })));
    const [since, until] = usageRange();
    const days = $('since').value ? `${since.slice(5)} → ${until.slice(5)}` : state.days === 1 ? 'today' : `${state.days} d`;
    $('summary').replaceChildren(
      stat('Keys', int.format(total), states),
      stat(`Requests · ${range}`, compact.format(ok + bad), h('div', { class: 'sub', text: `${int.format(bad)} failed` })),
      stat(`Success · ${range}`, ok + bad ? percent(ok / (ok + bad)) : '—', h('div', { class: 'sub', text: 'of attempts' })),
      stat(`Latency · ${range}`, ok ? ms(weighted / ok) : '—', h('div', { class: 'sub', text: 'average, successes' })),
      stat('In flight', int.format(inFlight), h('div', { class: 'sub', text: 'right now' })),
      stat(`Cost · ${days}`, money(cost), h('div', { class: 'sub', text: `${compact.format(tokens)} tokens` })),
    );
  }

  function providerBlock(name) {
    let block = blocks.get(name);
    if (block) return block;
    const title = h('h3', { text: name });
    const sub = h('span', { class: 'sub' });
    const reset = h('button', { type: 'button', class: 'secondary', 'data-act': 'reset-all', text: 'Reset all' });
    const body = h('div', { class: 'prows' });
    const el = h('div', { class: 'provider', 'data-provider': name },
      h('div', { class: 'phead' }, title, sub, reset), body);
    block = { el, sub, body, reset };
    blocks.set(name, block);
    return block;
  }

  function keyRow(provider, key) {
    const id = `${provider}/${key.id}`;
    let row = rows.get(id);
    if (row) return row;
    const cell = (cls, label) => h('span', { class: cls, 'data-label': label });
    row = {
      pill: h('span', { class: 'pill' }),
      mask: h('code'),
      id: h('small', { text: key.id }),
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
    row.el = h('div', { class: 'krow', 'data-provider': provider, 'data-id': key.id },
      row.pill, h('span', { class: 'kname' }, row.mask, row.id), row.cd,
      h('span', { class: 'line2' },
        h('span', { class: 'stats' }, row.inFlight, row.rate, row.latency, row.used),
        h('span', { class: 'acts' }, row.reset, row.toggle, row.test, row.remove)));
    rows.set(id, row);
    return row;
  }

  function renderKeys() {
    const providers = (state.status && state.status.providers) || {};
    const filter = state.filter.toLowerCase();
    const seen = new Set();
    const container = $('keys');
    let shown = 0;
    const select = $('add-provider');
    const names = Object.keys(providers);
    if (select.dataset.names !== names.join('\n')) {
      select.dataset.names = names.join('\n');
      select.replaceChildren(...names.map((name) => h('option', { value: name, text: name })));
    }
    let previous = null;
    for (const [name, provider] of Object.entries(providers)) {
      const block = providerBlock(name);
      seen.add(name);
      const counts = { ok: 0, cooling: 0, benched: 0, disabled: 0 };
      let before = null, visible = 0, requests = 0;
      for (const key of provider.keys) {
        const row = keyRow(name, key);
        const { status, until } = keyState(key);
        counts[status] += 1;
        seen.add(`${name}/${key.id}`);
        const recent = stats(name, key.id);
        if (recent) requests += recent.requests;
        updateRow(row, key, status, until, recent);
        const match = (state.show === 'all' || state.show === status)
          && (!filter || `${name} ${key.key} ${key.id} ${status} ${key.source || ''}`.toLowerCase().includes(filter));
        row.el.hidden = !match;
        if (match) visible += 1;
        const expected = before ? before.nextSibling : block.body.firstChild;
        if (expected !== row.el) block.body.insertBefore(row.el, expected);
        before = row.el;
      }
      const parts = [provider.rotation_mode, `${provider.keys.length} key${provider.keys.length === 1 ? '' : 's'}`];
      for (const kind of ['cooling', 'benched', 'disabled']) if (counts[kind]) parts.push(`${counts[kind]} ${kind}`);
      parts.push(`${int.format(requests)} requests in the last hour`);
      setText(block.sub, parts.join(' · '));
      block.reset.disabled = !(counts.cooling || counts.benched);
      block.el.hidden = visible === 0;
      shown += visible;
      const expected = previous ? previous.nextSibling : container.firstChild;
      if (expected !== block.el) container.insertBefore(block.el, expected);
      previous = block.el;
    }
    for (const [id, row] of rows) if (!seen.has(id)) { row.el.remove(); rows.delete(id); }
    for (const [name, block] of blocks) if (!seen.has(name)) { block.el.remove(); blocks.delete(name); }
    $('keys-empty').hidden = shown > 0;
  }

  function updateRow(row, key, status, until, recent) {
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
    row.cd.title = reasons.join('\n');
    countdown(row);
    setText(row.inFlight, String(key.in_flight));
    setText(row.rate, recent ? percent(recent.success_rate) : '—');
    setText(row.latency, recent ? ms(recent.avg_first_byte_ms ?? recent.avg_ms) : '—');
    setText(row.used, ago(key.last_used));
    row.reset.hidden = status !== 'cooling' && status !== 'benched';
    setText(row.toggle, key.disabled ? 'Enable' : 'Disable');
    row.remove.hidden = key.origin !== 'runtime';
  }

  function countdown(row) {
    const until = Number(row.el.dataset.until || 0);
    if (!until) {
      setText(row.cd, row.el.dataset.status === 'disabled' ? 'off' : '—');
      delete row.cd.dataset.seconds;
      return;
    }
    const left = Math.max(0, Math.ceil(until - now()));
    row.cd.dataset.seconds = String(left);
    setText(row.cd, left ? duration(left) : 'now');
  }

  function tick() {
    for (const row of rows.values()) if (row.el.dataset.until) countdown(row);
    if (state.running && state.lastOk) {
      const stale = (Date.now() - state.lastOk) / 1000;
      if (stale > 10 && $('live').dataset.state === 'ok') setLive('error', `No answer for ${Math.floor(stale)}s`);
    }
  }

  async function act(event) {
    const button = event.target.closest('button[data-act]');
    if (!button) return;
    const action = button.dataset.act;
    const rowEl = button.closest('.krow');
    const provider = (rowEl || button.closest('.provider')).dataset.provider;
    const id = rowEl ? rowEl.dataset.id : null;
    const row = id ? rows.get(`${provider}/${id}`) : null;
    const path = id ? `/v1/admin/keys/${encodeURIComponent(provider)}/${encodeURIComponent(id)}` : '';
    const label = row ? row.mask.textContent : provider;
    button.disabled = true;
    try {
      if (action === 'reset' || action === 'reset-all') {
        const done = await api('POST', '/v1/admin/reset', id ? { provider, key: id } : { provider });
        toast(`Reset ${label}: ${done.lifted} lifted`);
      } else if (action === 'toggle') {
        const enable = rowEl.dataset.status === 'disabled';
        await api('POST', `${path}/${enable ? 'enable' : 'disable'}`);
        toast(`${enable ? 'Enabled' : 'Disabled'} ${label}`);
      } else if (action === 'test') {
        setText(button, 'Testing');
        const result = await api('POST', `${path}/test`);
        const kind = result.result === 'alive' ? 'good' : result.result === 'rate_limited' ? '' : 'bad';
        toast(`${label}: ${result.result.replace('_', ' ')}${result.message ? ` — ${result.message}` : ''}`, kind);
      } else if (action === 'remove') {
        if (!confirm(`Remove ${label} from ${provider}?`)) return;
        await api('DELETE', path);
        toast(`Removed ${label}`);
      }
      if (row) {
        row.el.classList.remove('flash');
        void row.el.offsetWidth; // a layout in between restarts the animation on a second action
        row.el.classList.add('flash');
      }
      poll();
    } catch (error) {
      if (!failed(error)) toast(error.message, 'bad');
    } finally {
      button.disabled = false;
      if (action === 'test') setText(button, 'Test');
    }
  }

  async function addKey(event) {
    event.preventDefault();
    const provider = $('add-provider').value;
    const key = $('add-key').value.trim();
    if (!provider || !key) return;
    try {
      const added = await api('POST', '/v1/admin/keys', { provider, key });
      $('add-key').value = '';
      toast(`Added ${added.key} to ${added.provider}`, 'good');
      poll();
    } catch (error) {
      if (!failed(error)) toast(error.message, 'bad');
    }
  }

  // Whole-number gridlines at 1, 2 or 5 times a power of ten: two to four of them above zero.
  function axis(value) {
    const quarter = Math.max(1, value / 4);
    const power = 10 ** Math.floor(Math.log10(quarter));
    const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= quarter);
    return { step, lines: Math.max(2, Math.ceil(value / step)) };
  }

  function renderTraffic() {
    const chart = $('traffic-chart');
    const series = state.activity && state.activity.series;
    if (!series) return;
    const width = Math.max(280, chart.clientWidth), height = 180, left = 36, bottom = 20, top = 6;
    const n = series.ok.length;
    const totals = series.ok.map((ok, i) => ok + series.failed[i]);
    const { step, lines } = axis(Math.max(...totals, 0));
    const max = step * lines;
    const plotW = width - left, plotH = height - top - bottom;
    const band = plotW / n, gap = band > 6 ? Math.min(2, band * 0.2) : 0;
    const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, height, role: 'img', 'aria-label': 'Requests and errors over time' });
    for (let i = 0; i <= lines; i += 1) {
      const y = top + plotH - (plotH * i) / lines;
      svg.append(s('line', { class: 'grid', x1: left, x2: width, y1: y, y2: y }));
      svg.append(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, compact.format(step * i)));
    }
    const y = (v) => (plotH * v) / max;
    for (let i = 0; i < n; i += 1) {
      const x = left + i * band;
      const at = series.start + i * series.step_seconds;
      const okH = y(series.ok[i]), badH = y(series.failed[i]);
      const group = s('g');
      group.append(s('rect', { class: 'hit', x, y: top, width: band, height: plotH }));
      if (okH > 0) group.append(s('rect', { class: 'bar-ok', x: x + gap / 2, y: top + plotH - okH, width: band - gap, height: okH, rx: band > 6 ? 1.5 : 0 }));
      if (badH > 0) group.append(s('rect', { class: 'bar-failed', x: x + gap / 2, y: top + plotH - okH - badH, width: band - gap, height: badH, rx: band > 6 ? 1.5 : 0 }));
      const latency = series.avg_ms[i] === null ? '' : `, ${ms(series.avg_ms[i])} average`;
      group.append(s('title', {}, `${clock(at)}: ${series.ok[i]} ok, ${series.failed[i]} failed${latency}`));
      svg.append(group);
    }
    const labels = Math.max(1, Math.min(6, Math.floor(plotW / 90)));
    for (let i = 0; i <= labels; i += 1) {
      const index = Math.min(n - 1, Math.round(((n - 1) * i) / labels));
      const anchor = i === 0 ? 'start' : i === labels ? 'end' : 'middle';
      const x = i === labels ? width : left + index * band + band / 2;
      svg.append(s('text', { x, y: height - 4, 'text-anchor': anchor }, clock(series.start + index * series.step_seconds)));
    }
    chart.replaceChildren(svg);
  }

  function usageRows() {
    const totals = new Map();
    for (const [provider, data] of Object.entries((state.usage && state.usage.providers) || {})) {
      for (const [mask, key] of Object.entries(data.keys)) {
        for (const [model, c] of Object.entries(key.models || {})) {
          const name = state.group === 'provider' ? provider : state.group === 'key' ? `${provider} ${mask}` : `${provider}/${model}`;
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
    const value = { cost: (r) => r.cost, tokens: (r) => r.input + r.output, requests: (r) => r.requests }[state.metric];
    return { list: [...totals.values()].sort((a, b) => value(b) - value(a) || a.name.localeCompare(b.name)), value };
  }

  function renderUsage() {
    const { list, value } = usageRows();
    const chart = $('usage-chart');
    const top = list.slice(0, 10);
    const format = state.metric === 'cost' ? money : compact.format;
    if (!top.length) {
      chart.replaceChildren(h('p', { class: 'empty', text: 'No usage in these days.' }));
    } else {
      const width = Math.max(280, chart.clientWidth), rowH = 26;
      const labelW = Math.min(240, Math.round(width * 0.38)), valueW = 64;
      const max = Math.max(...top.map(value), 0) || 1;
      const svg = s('svg', { viewBox: `0 0 ${width} ${top.length * rowH}`, height: top.length * rowH, role: 'img', 'aria-label': `Usage by ${state.group}` });
      top.forEach((row, i) => {
        const y = i * rowH;
        const barW = Math.max(0, ((width - labelW - valueW - 8) * value(row)) / max);
        const chars = Math.floor(labelW / 7);
        const label = row.name.length > chars ? `${row.name.slice(0, chars - 1)}…` : row.name;
        svg.append(s('text', { class: 'label', x: 0, y: y + 17 }, label));
        svg.append(s('rect', { class: 'track', x: labelW, y: y + 5, width: width - labelW - valueW - 8, height: 16, rx: 4 }));
        svg.append(s('rect', { class: 'bar', x: labelW, y: y + 5, width: barW, height: 16, rx: 4 }));
        svg.append(s('text', { x: width, y: y + 17, 'text-anchor': 'end' }, format(value(row))));
        svg.append(s('title', {}, row.name));
      });
      chart.replaceChildren(svg);
    }
    $('usage-table').tBodies[0].replaceChildren(...list.map((row) => h('tr', {},
      h('td', { text: row.name }),
      h('td', { class: 'num', text: int.format(row.requests) }),
      h('td', { class: 'num hide-sm', text: int.format(row.failed) }),
      h('td', { class: 'num', text: int.format(row.input) }),
      h('td', { class: 'num', text: int.format(row.output) }),
      h('td', { class: 'num', text: money(row.cost) }))));
  }

  function renderFailures() {
    const kept = (state.activity && state.activity.failures) || [];
    const failures = state.allFailures ? kept : kept.slice(0, FAILURES_SHOWN);
    const more = $('failures-more');
    more.hidden = kept.length <= FAILURES_SHOWN;
    setText(more, state.allFailures ? 'Show fewer' : `Show all ${kept.length}`);
    const body = $('failures').tBodies[0];
    const first = failures[0];
    const signature = first ? `${failures.length}:${first.at}:${first.id}` : '';
    if (body.dataset.signature === signature) {
      for (const cell of body.querySelectorAll('[data-at]')) setText(cell, ago(Number(cell.dataset.at)));
      return;
    }
    body.dataset.signature = signature;
    body.replaceChildren(...failures.map((f) => h('tr', {},
      h('td', { class: 'when', 'data-at': f.at, title: new Date(f.at * 1000).toLocaleString(), text: ago(f.at) }),
      h('td', { class: 'prov', text: f.provider }),
      h('td', { class: 'key' }, h('code', { text: f.key })),
      h('td', { class: 'model', text: f.model }),
      h('td', { class: 'cls' }, h('span', { class: `pill e-${f.class}`, text: (f.class || '').replace('_', ' ') })),
      h('td', { class: 'num', text: f.status === null ? '—' : String(f.status) }),
      h('td', { class: 'msg', title: f.message, text: f.message }))));
    $('failures-empty').hidden = failures.length > 0;
  }

  function pressed(group, button) {
    for (const other of group.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
  }

  function setUp() {
    $('login-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('keys').addEventListener('click', act);
    $('add-form').addEventListener('submit', addKey);
    $('add-toggle').addEventListener('click', () => {
      const form = $('add-form');
      form.hidden = !form.hidden;
      $('add-toggle').setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) $('add-key').focus();
    });
    $('key-filter').addEventListener('input', (event) => { state.filter = event.target.value; renderKeys(); });
    $('status-filter').addEventListener('change', (event) => { state.show = event.target.value; renderKeys(); });
    $('range').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-minutes]');
      if (!button) return;
      state.minutes = Number(button.dataset.minutes);
      pressed($('range'), button);
      poll();
    });
    $('days').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-days]');
      if (!button) return;
      state.days = Number(button.dataset.days);
      $('since').value = '';
      $('until').value = '';
      pressed($('days'), button);
      loadUsage();
    });
    for (const id of ['since', 'until']) {
      $(id).addEventListener('change', () => {
        if ($('since').value && $('until').value) { pressed($('days'), null); loadUsage(); }
      });
    }
    $('failures-more').addEventListener('click', () => { state.allFailures = !state.allFailures; renderFailures(); });
    $('group').addEventListener('change', (event) => { state.group = event.target.value; renderUsage(); });
    $('metric').addEventListener('change', (event) => { state.metric = event.target.value; renderUsage(); });
    document.addEventListener('visibilitychange', () => { if (!document.hidden && state.running) poll(); });
    // Charts are drawn for their box's width in pixels, so that text keeps its size: redraw when it changes.
    const widths = new WeakMap();
    const observer = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const width = Math.round(entry.contentRect.width);
        if (widths.get(entry.target) === width) continue;
        widths.set(entry.target, width);
        if (entry.target.id === 'traffic-chart') renderTraffic();
        else if (state.usage) renderUsage();
      }
    });
    observer.observe($('traffic-chart'));
    observer.observe($('usage-chart'));
    setInterval(tick, 1000);
  }

  async function start() {
    setUp();
    if (state.key) { enter(); return; }
    // A proxy without any key answers without one; otherwise ask for it.
    try {
      await api('GET', '/v1/status');
      enter();
    } catch (error) {
      showLogin(error.status === 401 ? '' : error.message);
    }
  }

  start();
})();
