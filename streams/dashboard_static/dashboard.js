// BotCopier dashboard page: reads /api/events (Server-Sent Events) and draws the tables.
//
// The stream is read with fetch() rather than EventSource so the token travels in the
// Authorization header, never in a URL. The token lives in sessionStorage: it is gone when
// the tab closes.
"use strict";

const TOKEN_KEY = "botcopier.dashboard.token";
const SHOWN_TRADES = 100;
const RETRY_MAX_MS = 10000;

const state = {
  points: 240,
  trades: [],
  bots: new Map(),
  drift: [],
  retrain: new Map(),
  models: [],
  records: 0,
};

let controller = null;
let retryMs = 500;
let renderPending = false;

// -- helpers --------------------------------------------------------------------------------

function $(selector) {
  return document.querySelector(selector);
}

function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  // UTC, like MT4 event times in Kafka; seconds are enough for a live view.
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

function fmtNum(value, digits) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function fmtPct(value) {
  return value === null || value === undefined ? "–" : (100 * value).toFixed(1) + "%";
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function badge(text, kind) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = "badge badge-" + kind;
  span.textContent = text;
  td.appendChild(span);
  return td;
}

function fillTable(id, rows, emptyText) {
  const body = $("#" + id + " tbody");
  const columns = $("#" + id + " thead tr").children.length;
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(emptyText, "empty");
    td.colSpan = columns;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const row of rows) body.appendChild(row);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(c);
  return tr;
}

function keepLast(list, limit) {
  if (list.length > limit) list.splice(0, list.length - limit);
}

// -- sparklines -----------------------------------------------------------------------------

// A line through the finite values of `series`, scaled to [lo, hi] when given, else to its
// own range; the last value is marked with a dot.
function sparkline(series, color, lo, hi) {
  const width = 120;
  const height = 28;
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.className = "spark";
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  const points = [];
  series.forEach((value, index) => {
    if (typeof value === "number" && Number.isFinite(value)) points.push([index, value]);
  });
  const td = document.createElement("td");
  td.appendChild(canvas);
  if (points.length === 0) return td;
  let min = lo ?? Math.min(...points.map((p) => p[1]));
  let max = hi ?? Math.max(...points.map((p) => p[1]));
  if (max - min < 1e-12) {
    min -= 1;
    max += 1;
  }
  const span = Math.max(series.length - 1, 1);
  const pad = 3;
  const x = (index) => pad + (index / span) * (width - 2 * pad);
  const y = (value) => height - pad - ((value - min) / (max - min)) * (height - 2 * pad);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach(([index, value], n) => {
    if (n === 0) ctx.moveTo(x(index), y(value));
    else ctx.lineTo(x(index), y(value));
  });
  ctx.stroke();
  const [lastIndex, lastValue] = points[points.length - 1];
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(x(lastIndex), y(lastValue), 2.2, 0, 2 * Math.PI);
  ctx.fill();
  return td;
}

// -- the view -------------------------------------------------------------------------------

function emptyHistory() {
  return { t: [], win: [], dd: [], sharpe: [] };
}

function takeSnapshot(snapshot) {
  state.points = snapshot.points || state.points;
  state.trades = snapshot.trade.slice();
  state.drift = snapshot.drift.slice();
  state.models = snapshot.model.slice();
  state.bots = new Map(snapshot.bot.map((bot) => [bot.bot, bot]));
  state.retrain = new Map(snapshot.retrain.map((entry) => [entry.request_event_id, entry]));
}

function takeItem(item) {
  state.records += 1;
  switch (item.feed) {
    case "trade":
      state.trades.push(item);
      keepLast(state.trades, 1000);
      break;
    case "bot": {
      const history = (state.bots.get(item.bot) || {}).history || emptyHistory();
      const point = { t: item.event_time_ms, win: item.win_rate, dd: item.max_drawdown,
        sharpe: item.sharpe };
      for (const name of Object.keys(point)) {
        history[name].push(point[name]);
        keepLast(history[name], state.points);
      }
      state.bots.set(item.bot, { ...item, history });
      break;
    }
    case "drift":
      state.drift.push(item);
      keepLast(state.drift, 200);
      break;
    case "retrain":
      state.retrain.set(item.request_event_id, item);
      break;
    case "model":
      state.models.push(item);
      keepLast(state.models, 200);
      break;
    default:
      break;  // a feed this page does not know yet
  }
}

function renderBots() {
  const bots = [...state.bots.values()].sort((a, b) => a.bot.localeCompare(b.bot));
  fillTable("bots", bots.map((bot) => {
    const h = bot.history;
    const profitClass = "num " + (bot.total_profit >= 0 ? "good" : "bad");
    return row([
      cell(bot.bot),
      cell(bot.trade_count, "num"),
      cell(fmtPct(bot.win_rate), "num"),
      sparkline(h.win, "#2f5fd0", 0, 1),
      cell(fmtNum(bot.max_drawdown, 2), "num"),
      sparkline(h.dd, "#c2362b"),
      cell(fmtNum(bot.sharpe, 3), "num"),
      sparkline(h.sharpe, "#18794e"),
      cell(fmtNum(bot.total_profit, 2), profitClass),
      cell(fmtNum(bot.profit_factor, 2), "num"),
      cell(fmtTime(bot.event_time_ms)),
    ]);
  }), "no bot metrics yet: are the agents running?");
}

function renderTrades() {
  const newest = state.trades.slice(-SHOWN_TRADES).reverse();
  fillTable("trades", newest.map((t) => {
    const profitClass = t.profit === null ? "num" : "num " + (t.profit >= 0 ? "good" : "bad");
    return row([
      cell(fmtTime(t.event_time_ms)),
      cell(t.bot),
      cell(t.action),
      cell(t.order_type),
      cell(fmtNum(t.lots, 2), "num"),
      cell(t.symbol),
      cell(t.price, "num"),
      cell(t.profit === null ? "" : fmtNum(t.profit, 2), profitClass),
      cell(t.ticket, "num"),
      cell(t.ea_id),
    ]);
  }), "no trades yet");
}

function renderRetrains() {
  const entries = [...state.retrain.values()].reverse();
  fillTable("retrains", entries.map((r) => {
    const why = r.reason ? r.reason + (r.detail ? " (" + r.detail + ")" : "") : "";
    return row([
      cell(fmtTime(r.requested_ms)),
      cell(r.model_name),
      cell(r.bot),
      cell(why),
      badge(r.status, r.status),
      cell(r.candidate_version ? r.candidate_version + " " + fmtNum(r.candidate_score, 3) : ""),
      cell(r.live_version ? r.live_version + " " + fmtNum(r.live_score, 3) : ""),
      cell(r.answer),
    ]);
  }), "no retrain requests");
}

function renderDrift() {
  fillTable("drift", state.drift.slice().reverse().map((d) => row([
    cell(fmtTime(d.event_time_ms)),
    cell(d.bot),
    cell(d.detector),
    cell(d.feature ? d.feature + (d.model_name ? " @ " + d.model_name : "") : "results"),
    cell(fmtNum(d.statistic, 4) + " / " + fmtNum(d.threshold, 4), "num"),
  ])), "no drift detected");
}

function renderModels() {
  const current = new Map();
  for (const m of state.models) current.set(m.model_name, m.event_id);
  fillTable("models", state.models.slice().reverse().map((m) => {
    const scores = Object.entries(m.metrics || {}).slice(0, 3)
      .map(([name, value]) => name + " " + fmtNum(value, 3)).join(", ");
    const version = cell(m.model_version + " ");
    if (current.get(m.model_name) === m.event_id) {
      const mark = document.createElement("span");
      mark.className = "badge badge-current";
      mark.textContent = "current";
      version.appendChild(mark);
    }
    return row([
      cell(fmtTime(m.event_time_ms)),
      cell(m.model_name),
      version,
      cell(m.sha256),
      cell(scores),
    ]);
  }), "no models published");
}

function render() {
  renderPending = false;
  renderBots();
  renderTrades();
  renderRetrains();
  renderDrift();
  renderModels();
  $("#counts").textContent = state.bots.size + " bots · " + state.trades.length +
    " trades shown · " + state.records + " live updates";
}

// Many records can arrive per second: draw at most a few times a second.
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(render, 150);
}

// -- connection -----------------------------------------------------------------------------

function setStatus(text, kind) {
  const status = $("#status");
  status.textContent = text;
  status.className = "status status-" + kind;
}

function showLogin(error) {
  $("#board").hidden = true;
  $("#sign-out").hidden = true;
  $("#login").hidden = false;
  const message = $("#login-error");
  message.textContent = error || "";
  message.hidden = !error;
  setStatus("signed out", "idle");
  $("#token").value = "";
  $("#token").focus();
}

function showBoard() {
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#sign-out").hidden = !sessionStorage.getItem(TOKEN_KEY);
}

function handleMessage(event, data) {
  if (event === "snapshot") {
    takeSnapshot(JSON.parse(data));
  } else if (event === "records") {
    for (const item of JSON.parse(data)) takeItem(item);
  } else {
    return;
  }
  scheduleRender();
}

// Server-Sent Events as the dashboard writes them ("\n" line ends): messages end with a
// blank line; "event:" names one, "data:" lines carry it, ":" lines are keep-alives.
function parseEvents(buffer, onMessage) {
  let end;
  while ((end = buffer.indexOf("\n\n")) !== -1) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) onMessage(event, data.join("\n"));
  }
  return buffer;
}

async function connect() {
  if (controller) controller.abort();
  const mine = new AbortController();
  controller = mine;
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: "Bearer " + token } : {};
  setStatus("connecting", "idle");
  try {
    const response = await fetch("/api/events", { headers, cache: "no-store", signal: mine.signal });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(token ? "That token was not accepted. Try again." : "");
      return;
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    showBoard();
    setStatus("live", "live");
    retryMs = 500;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseEvents(buffer + value, handleMessage);
    }
  } catch (error) {
    if (mine.signal.aborted) return;
  }
  if (controller !== mine) return;
  // The stream ended (dashboard restarted, network): try again, a little later each time.
  setStatus("reconnecting", "down");
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

function signIn(event) {
  event.preventDefault();
  const token = $("#token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#login-error").hidden = true;
  connect();
}

function signOut() {
  if (controller) controller.abort();
  controller = null;
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("");
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  connect();
});
