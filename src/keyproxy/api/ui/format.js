// Numbers, durations and times as the dashboard shows them.
export const int = new Intl.NumberFormat();
export const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function duration(seconds) {
  seconds = Math.max(0, Math.ceil(seconds));
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60), r = seconds % 60;
  if (m < 60) return `${m}m ${String(r).padStart(2, '0')}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function ago(at, now) {
  if (!at) return 'never';
  const seconds = now - at;
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${Math.floor(seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

const missing = (value) => value === null || value === undefined;
export const percent = (rate) => (missing(rate) ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)}%`);
export const ms = (value) => (missing(value) ? '—' : value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
export const money = (usd) => (usd >= 100 ? `$${int.format(Math.round(usd))}` : usd >= 1 ? `$${usd.toFixed(2)}` : usd > 0 ? `$${usd.toFixed(4)}` : '$0');
export const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
export const utcDay = (t) => new Date(t * 1000).toISOString().slice(0, 10);
