// The SVG charts: attempts over time as stacked bars, and totals as horizontal bars. Each is drawn for its
// box's width in pixels, so that its text keeps its size; the page redraws it when the box changes width.
import { h, svg } from './dom.js';
import { clock, compact, ms } from './format.js';

// Whole-number gridlines at 1, 2 or 5 times a power of ten: two to four of them above zero.
function axis(value) {
  const quarter = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(quarter));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= quarter);
  return { step, lines: Math.max(2, Math.ceil(value / step)) };
}

export function trafficChart(chart, series) {
  const width = Math.max(280, chart.clientWidth), height = 180, left = 36, bottom = 20, top = 6;
  const n = series.ok.length;
  const totals = series.ok.map((ok, i) => ok + series.failed[i]);
  const { step, lines } = axis(Math.max(...totals, 0));
  const plotW = width - left, plotH = height - top - bottom;
  const band = plotW / n, gap = band > 6 ? Math.min(2, band * 0.2) : 0, rx = band > 6 ? 1.5 : 0;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, height, role: 'img', 'aria-label': 'Requests and errors over time' });
  for (let i = 0; i <= lines; i += 1) {
    const y = top + plotH - (plotH * i) / lines;
    root.append(svg('line', { class: 'grid', x1: left, x2: width, y1: y, y2: y }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, compact.format(step * i)));
  }
  const tall = (count) => (plotH * count) / (step * lines);
  for (let i = 0; i < n; i += 1) {
    const x = left + i * band;
    const okH = tall(series.ok[i]), badH = tall(series.failed[i]);
    const group = svg('g');
    group.append(svg('rect', { class: 'hit', x, y: top, width: band, height: plotH }));
    if (okH > 0) group.append(svg('rect', { class: 'bar-ok', x: x + gap / 2, y: top + plotH - okH, width: band - gap, height: okH, rx }));
    if (badH > 0) group.append(svg('rect', { class: 'bar-failed', x: x + gap / 2, y: top + plotH - okH - badH, width: band - gap, height: badH, rx }));
    const latency = series.avg_ms[i] === null ? '' : `, ${ms(series.avg_ms[i])} average`;
    const at = series.start + i * series.step_seconds;
    group.append(svg('title', {}, `${clock(at)}: ${series.ok[i]} ok, ${series.failed[i]} failed${latency}`));
    root.append(group);
  }
  const labels = Math.max(1, Math.min(6, Math.floor(plotW / 90)));
  for (let i = 0; i <= labels; i += 1) {
    const index = Math.min(n - 1, Math.round(((n - 1) * i) / labels));
    const anchor = i === 0 ? 'start' : i === labels ? 'end' : 'middle';
    const x = i === labels ? width : left + index * band + band / 2;
    root.append(svg('text', { x, y: height - 4, 'text-anchor': anchor }, clock(series.start + index * series.step_seconds)));
  }
  chart.replaceChildren(root);
}

// `rows` ({name}) already sorted, the largest `value(row)` first; the first ten are drawn.
export function barChart(chart, rows, value, format, label) {
  const top = rows.slice(0, 10);
  if (!top.length) {
    chart.replaceChildren(h('p', { class: 'empty', text: 'No usage in these days.' }));
    return;
  }
  const width = Math.max(280, chart.clientWidth), rowH = 26;
  const labelW = Math.min(240, Math.round(width * 0.38)), valueW = 64, trackW = width - labelW - valueW - 8;
  const max = Math.max(...top.map(value), 0) || 1;
  const chars = Math.floor(labelW / 7);
  const root = svg('svg', { viewBox: `0 0 ${width} ${top.length * rowH}`, height: top.length * rowH, role: 'img', 'aria-label': label });
  top.forEach((row, i) => {
    const y = i * rowH;
    const name = row.name.length > chars ? `${row.name.slice(0, chars - 1)}…` : row.name;
    root.append(svg('text', { class: 'label', x: 0, y: y + 17 }, name));
    root.append(svg('rect', { class: 'track', x: labelW, y: y + 5, width: trackW, height: 16, rx: 4 }));
    root.append(svg('rect', { class: 'bar', x: labelW, y: y + 5, width: Math.max(0, (trackW * value(row)) / max), height: 16, rx: 4 }));
    root.append(svg('text', { x: width, y: y + 17, 'text-anchor': 'end' }, format(value(row))));
    root.append(svg('title', {}, row.name));
  });
  chart.replaceChildren(root);
}
