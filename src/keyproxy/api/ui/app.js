// The keyproxy dashboard: signs in, polls the admin API and redraws in place; the key's actions.
import { api, remember, session } from './api.js';
import { barChart, trafficChart } from './charts.js';
import { $, h, setText, toast } from './dom.js';
import { compact, money, utcDay } from './format.js';
import { KeyTable } from './keys.js';
import { MEASURES, failuresTable, summary, usageRows, usageTable } from './panels.js';

const POLL_MS = 2000;
const USAGE_MS = 30000;
const HIDDEN_MS = 15000;
const FAILURES_SHOWN = 10;
const RANGES = { 60: '1 h', 360: '6 h', 1440: '24 h' };

const state = {
  offset: 0,
  minutes: 60,
  days: 7,
  group: 'provider',
  measure: 'cost',
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

// The proxy's clock, so that countdowns end when the proxy says, whatever this machine's clock says.
const now = () => Date.now() / 1000 + state.offset;
const keys = new KeyTable($('keys'), now);

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
  $('sign-out').hidden = !session.key;
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
  try {
    await api('GET', '/v1/status', undefined, key);
    remember(key);
    $('login-key').value = '';
    enter();
  } catch (error) {
    $('login-error').hidden = false;
    $('login-error').textContent = error.status === 401 ? 'That key was not accepted.' : error.message;
  } finally {
    $('login-submit').disabled = false;
  }
}

function signOut() {
  remember('');
  showLogin('');
}

// A refused key ends the session; anything else is the caller's to show.
function refused(error) {
  if (error.status !== 401 && error.status !== 403) return false;
  remember('');
  showLogin(error.status === 401 ? 'Sign in again: the key was not accepted.' : error.message);
  return true;
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
    if (refused(status.reason)) return;
    setLive('error', status.reason.message);
  } else {
    state.offset = status.value.now - (asked + Date.now() / 1000) / 2;
    state.status = status.value;
    state.lastOk = Date.now();
    setLive('ok', 'Live');
  }
  if (activity.status === 'fulfilled') state.activity = activity.value;
  else if (refused(activity.reason)) return;
  renderSummary();
  renderKeys();
  renderTraffic();
  renderFailures();
  state.pollTimer = setTimeout(poll, document.hidden ? HIDDEN_MS : POLL_MS);
}

function usageDays() {
  if ($('since').value && $('until').value) return [$('since').value, $('until').value];
  return [utcDay(now() - (state.days - 1) * 86400), utcDay(now())];
}

async function loadUsage() {
  clearTimeout(state.usageTimer);
  if (!state.running) return;
  const mine = ++state.usageLoads;
  const [since, until] = usageDays();
  try {
    const usage = await api('GET', `/v1/usage?since=${since}&until=${until}`);
    if (!state.running || mine !== state.usageLoads) return;
    state.usage = usage;
    renderUsage();
    renderSummary();
  } catch (error) {
    if (mine !== state.usageLoads || refused(error)) return;
    toast(`Usage: ${error.message}`, 'bad');
  }
  state.usageTimer = setTimeout(loadUsage, USAGE_MS);
}

function renderSummary() {
  const [since, until] = usageDays();
  const days = $('since').value ? `${since.slice(5)} → ${until.slice(5)}` : state.days === 1 ? 'today' : `${state.days} d`;
  summary($('summary'), { ...state, range: RANGES[state.minutes], days });
}

function renderKeys() {
  if (!state.status) return;
  const names = Object.keys(state.status.providers);
  const select = $('add-provider');
  if (select.dataset.names !== names.join('\n')) {
    select.dataset.names = names.join('\n');
    select.replaceChildren(...names.map((name) => h('option', { value: name, text: name })));
  }
  const recent = (state.activity && state.activity.keys) || {};
  $('keys-empty').hidden = keys.render(state.status, recent, state.filter, state.show) > 0;
}

function renderTraffic() {
  if (state.activity) trafficChart($('traffic-chart'), state.activity.series);
}

function renderUsage() {
  const rows = usageRows(state.usage, state.group, state.measure);
  barChart($('usage-chart'), rows, MEASURES[state.measure], state.measure === 'cost' ? money : compact.format, `Usage by ${state.group}`);
  usageTable($('usage-table').tBodies[0], rows);
}

function renderFailures() {
  const kept = (state.activity && state.activity.failures) || [];
  const more = $('failures-more');
  more.hidden = kept.length <= FAILURES_SHOWN;
  setText(more, state.allFailures ? 'Show fewer' : `Show all ${kept.length}`);
  failuresTable($('failures').tBodies[0], state.allFailures ? kept : kept.slice(0, FAILURES_SHOWN), now());
  $('failures-empty').hidden = kept.length > 0;
}

async function act(event) {
  const button = event.target.closest('button[data-act]');
  if (!button) return;
  const action = button.dataset.act;
  const rowEl = button.closest('.krow');
  const provider = (rowEl || button.closest('.provider')).dataset.provider;
  const id = rowEl ? rowEl.dataset.id : null;
  const row = id ? keys.row(provider, id) : null;
  const path = `/v1/admin/keys/${encodeURIComponent(provider)}/${encodeURIComponent(id)}`;
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
    if (!refused(error)) toast(error.message, 'bad');
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
    if (!refused(error)) toast(error.message, 'bad');
  }
}

function pressed(group, button) {
  for (const other of group.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
}

function tick() {
  keys.tick();
  if (state.running && state.lastOk) {
    const stale = (Date.now() - state.lastOk) / 1000;
    if (stale > 10 && $('live').dataset.state === 'ok') setLive('error', `No answer for ${Math.floor(stale)}s`);
  }
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
  $('metric').addEventListener('change', (event) => { state.measure = event.target.value; renderUsage(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden && state.running) poll(); });
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
  if (session.key) { enter(); return; }
  // A proxy without any key answers without one; otherwise ask for it.
  try {
    await api('GET', '/v1/status');
    enter();
  } catch (error) {
    showLogin(error.status === 401 ? '' : error.message);
  }
}

start();
