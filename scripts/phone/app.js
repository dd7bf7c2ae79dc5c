// The dev phone's page. Everything the worker or a person typed is put in the page as text
// (textContent), never as HTML.
const TOKEN = document.querySelector('meta[name="phone-token"]').content;
const $ = (id) => document.getElementById(id);

const ui = {
  from: $("from"),
  to: $("to"),
  message: $("message"),
  send: $("send"),
  retry: $("retry"),
  forget: $("forget"),
  load: $("load"),
  loadBox: $("load-box"),
  loadValue: $("load-value"),
  loadError: $("load-error"),
  waitSeconds: $("wait-seconds"),
  wait: $("wait"),
  save: $("save-transcript"),
  log: $("log"),
};

let config = { cookieLimit: 4096 };
let view = null; // what the server said about the open pair
let selected = null; // id of the event whose state the panel shows; null: the latest
let pending = []; // messages on their way: { body }
let latest = 0; // the newest request whose answer was shown
let requests = 0;

/** A new element with text (as text) and attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k === "testid") node.dataset.testid = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "x-phone-token": TOKEN, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

const pad = (n) => String(n).padStart(2, "0");
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
/** Unix seconds (or ms) as a local date and time; anything else as it is. */
function when(v) {
  if (typeof v !== "number" || v < 1e9) return String(v);
  const d = new Date(v < 1e12 ? v * 1000 : v);
  return `${d.toLocaleDateString()} ${clock(d.getTime())}`;
}

// ---------------------------------------------------------------------------------------------
// The conversation

function isImage(url) {
  return /^https?:\/\//i.test(url) && /\.(png|jpe?g|gif|webp|svg)(\?|#|$)/i.test(url);
}

function mediaList(media) {
  if (!Array.isArray(media) || media.length === 0) return null;
  const box = el("div", { class: "media" });
  for (const url of media) {
    const safe = /^https?:\/\//i.test(url); // never a javascript: or data: link
    const link = el(safe ? "a" : "span", { href: safe ? url : undefined, target: "_blank", rel: "noopener noreferrer", class: "media-link" });
    if (isImage(url)) link.append(el("img", { src: url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }));
    link.append(el("span", { text: `📎 ${url}` }));
    box.append(link);
  }
  return box;
}

function bubbleMeta(...parts) {
  return el("div", { class: "meta", text: parts.filter(Boolean).join(" · ") });
}

/** A message the worker sent through the Messages API, as the person's phone shows it. */
function incomingBubble(e) {
  const text = e.body || (e.contentSid ? `(template ${e.contentSid})` : "");
  return el(
    "li",
    { class: "bubble reply incoming", testid: "incoming", "data-sid": e.sid, "data-status": e.status, title: "Sent by the worker through the Messages API" },
    el("div", { class: "text", text }),
    mediaList(e.media),
    el(
      "div",
      { class: "meta" },
      `${clock(e.at)} · Messages API · ${e.sid} · `,
      el("span", { class: `delivery ${e.status}`, testid: "delivery", text: e.status }),
    ),
  );
}

/** The answer to Start (POST /conversations). */
function startNote(e) {
  const head = `${clock(e.at)} · POST /conversations → ${e.status ? `HTTP ${e.status}` : "not delivered"}`;
  if (e.ok) return el("li", { class: "note", testid: "start-note", "data-status": e.status }, el("span", { text: head }));
  return el(
    "li",
    { class: "bubble error", testid: "start-note", "data-status": e.status },
    el("div", { class: "error-head", text: head }),
    el("pre", { class: "error-text", text: e.text ?? "" }),
  );
}

function renderLog() {
  ui.log.replaceChildren();
  const events = view?.events ?? [];
  if (events.length === 0 && !pending.some((p) => p.from === view?.from && p.to === view?.to)) {
    ui.log.append(
      el("li", { class: "empty muted", text: `No messages yet. Type below to text ${view?.to ?? ""} as ${view?.from ?? ""}.` }),
    );
  }
  for (const e of events) {
    const pick = () => {
      selected = selected === e.id ? null : e.id;
      renderLog();
      renderState();
    };
    const isSel = selected === e.id;
    if (e.type === "note") {
      ui.log.append(el("li", { class: "note", testid: "note" }, el("span", { text: `${clock(e.at)} · ${e.text}` })));
      continue;
    }
    if (e.type === "start") {
      ui.log.append(startNote(e));
      continue;
    }
    if (e.type === "incoming") {
      ui.log.append(incomingBubble(e));
      continue;
    }
    const sent = el(
      "li",
      { class: `bubble sent${isSel ? " selected" : ""}`, testid: "sent", "data-sid": e.sid, title: "Show the state after this message" },
      el("div", { class: "text", text: e.body }),
      bubbleMeta(clock(e.at), e.retry ? `retry of ${e.sid}` : e.sid, e.cookieSent ? "with cookie" : "no cookie"),
    );
    sent.addEventListener("click", pick);
    ui.log.append(sent);
    if (!e.ok) {
      const head = e.status ? `HTTP ${e.status} ${e.statusText ?? ""}`.trim() : "not delivered";
      const err = el(
        "li",
        { class: "bubble error", testid: "error", "data-status": e.status },
        el("div", { class: "error-head", text: head }),
        el("pre", { class: "error-text", text: e.error ?? "" }),
        e.status === 403
          ? el("div", { class: "meta", text: "Signed with a token the worker does not have? Compare --token with its TWILIO_AUTH_TOKEN." })
          : null,
        bubbleMeta(clock(e.at + (e.ms ?? 0)), `${e.ms ?? 0} ms`),
      );
      err.addEventListener("click", pick);
      ui.log.append(err);
    } else if (e.replies.length === 0) {
      ui.log.append(el("li", { class: "note", testid: "no-reply", text: `${clock(e.at + (e.ms ?? 0))} · no reply (empty <Response/>)` }));
    }
    e.replies.forEach((r, i) => {
      const reply = el(
        "li",
        { class: `bubble reply${isSel ? " selected" : ""}`, testid: "reply", title: "Show the state after this reply" },
        el("div", { class: "text", text: r.body }),
        mediaList(r.media),
        r.segments?.count ? el("div", { class: "meta", testid: "segments", "data-encoding": r.segments.encoding, text: r.segments.label }) : null,
        i === e.replies.length - 1 ? bubbleMeta(clock(e.at + (e.ms ?? 0)), `HTTP ${e.status}`, `${e.ms} ms`, `state: ${e.source}`) : null,
      );
      reply.addEventListener("click", pick);
      ui.log.append(reply);
    });
    for (const w of e.warnings ?? []) ui.log.append(el("li", { class: "note warning", testid: "warning", text: `⚠ ${w}` }));
  }
  for (const p of pending) {
    if (p.from !== view?.from || p.to !== view?.to) continue;
    ui.log.append(
      el("li", { class: "bubble sent pending", testid: "pending" }, el("div", { class: "text", text: p.body }), bubbleMeta("sending…")),
    );
  }
  ui.log.scrollTop = ui.log.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// The state panel

const SOURCES = {
  new: "a new conversation",
  cookie: "the cookie Twilio sent back",
  kv: "the pair's KV entry (no valid cookie)",
  memory: "the isolate's memory (the cookie was older)",
  object: "a Durable Object",
};

function jsonText(value) {
  return JSON.stringify(value, null, 2);
}

/** A turn's reply as messages, whatever its shape: "text", [..], {body, media}, {messages: [..]}. */
function replyMessages(r) {
  if (r === undefined || r === null) return [];
  if (typeof r === "string") return [{ body: r }];
  if (Array.isArray(r)) return r.flatMap(replyMessages);
  if (typeof r === "object" && Array.isArray(r.messages)) return r.messages.flatMap(replyMessages);
  if (typeof r === "object" && "body" in r) return [{ body: String(r.body ?? ""), media: r.media }];
  return [{ raw: r }];
}

/** One turn, whatever its shape: { at, message_sid, inbound, reply }. */
function turnItem(t) {
  if (t === null || typeof t !== "object") return el("li", {}, el("pre", { class: "json", text: jsonText(t) }));
  const li = el("li", { class: "turn" });
  const head = [t.at !== undefined ? when(t.at) : null, t.message_sid ?? t.sid ?? null].filter(Boolean).join(" · ");
  if (head) li.append(el("div", { class: "meta", text: head }));
  if (t.inbound !== undefined) li.append(el("div", { class: "turn-in", text: `→ ${typeof t.inbound === "string" ? t.inbound : jsonText(t.inbound)}` }));
  for (const m of replyMessages(t.reply ?? t.replies)) {
    const out = el("div", { class: "turn-out", text: `← ${"body" in m ? m.body : jsonText(m.raw)}` });
    const media = mediaList(m.media);
    if (media) out.append(media);
    li.append(out);
  }
  const rest = Object.fromEntries(
    Object.entries(t).filter(([k]) => !["at", "message_sid", "sid", "inbound", "reply", "replies"].includes(k)),
  );
  if (Object.keys(rest).length) li.append(el("pre", { class: "json", text: jsonText(rest) }));
  return li;
}

const BOOKKEEPING = [
  ["count", "count"],
  ["seq", "sequence"],
  ["last_message_sid", "last MessageSid"],
  ["first_seen", "first seen"],
  ["last_seen", "last seen"],
  ["last_inbound", "last inbound (WhatsApp's window)"],
  ["opted_out", "opted out (STOP)"],
  ["deliveries", "deliveries of our own sends"],
];

/** Times in the bookkeeping, shown as clock times. */
const TIMES = new Set(["first_seen", "last_seen", "last_inbound", "opted_out"]);

/** The delivery status of each of the worker's own sends: "SM…: delivered (30008)". */
function deliveriesText(list) {
  if (!Array.isArray(list) || list.length === 0) return "none";
  return list.map((d) => `${d.sid}: ${d.status}${d.error_code ? ` (error ${d.error_code})` : ""}`).join("; ");
}

function renderState() {
  const events = view?.events ?? [];
  const event = (selected !== null && events.find((e) => e.id === selected)) || events.at(-1) || null;
  const snap = event?.snapshot ?? view?.current ?? null;
  $("state-title").textContent = event
    ? `State after ${event.type === "note" ? "the note" : event.ok ? "the reply" : "the failed message"} at ${clock(event.at + (event.ms ?? 0))}${selected !== null ? " (selected)" : ""}`
    : "State (the stored cookie)";
  if (event && (event.type === "incoming" || event.type === "start")) {
    $("state-title").textContent = "State (the stored cookie)";
  }

  const has = Boolean(snap?.cookie);
  $("state-empty").hidden = has;
  $("state-empty").textContent = event?.type === "note" ? "No cookie: the next message starts a new conversation." : "No cookie yet: send a message.";
  $("state-body").hidden = !has && !(event && event.type === "exchange");

  // Where the state came from: the worker's X-State-Source, else what the phone knows.
  if (event?.type === "exchange" && !event.ok) {
    $("source").textContent = "—";
    $("source-why").textContent = event.status
      ? `the worker answered HTTP ${event.status}; the phone's jar is unchanged`
      : "not delivered; the phone's jar is unchanged";
  } else if (event?.type === "exchange" && event.source) {
    $("source").textContent = event.source;
    const what = SOURCES[event.source] ?? "";
    $("source-why").textContent =
      event.sourceFrom === "header"
        ? `${what} (X-State-Source)`
        : `${what} (no X-State-Source: ${event.cookieSent ? "a cookie was sent" : "no cookie was sent"})`;
  } else {
    $("source").textContent = has ? "cookie" : "—";
    const loaded = { cookie: "loaded from a cookie value", state: "sealed from the state API's JSON" }[event?.loaded];
    $("source-why").textContent = has ? (loaded ? `${loaded}, in the phone's jar` : "stored in the phone's jar") : "";
  }

  const limit = config.cookieLimit ?? 4096;
  const bytes = snap?.cookieBytes ?? 0;
  $("cookie-bytes").textContent = String(bytes);
  $("cookie-limit").textContent = String(limit);
  const size = $("cookie-size");
  size.dataset.bytes = String(bytes);
  const ratio = Math.min(bytes / limit, 1);
  $("cookie-fill").style.width = `${(ratio * 100).toFixed(1)}%`;
  size.classList.toggle("warn", ratio > 0.75);
  size.classList.toggle("over", bytes > limit);
  const ins = snap?.inspection;
  $("cookie-what").textContent = has
    ? [ins?.format && `format ${ins.format}`, ins?.kind, ins?.kv_key && `KV ${ins.kv_key}`, snap.expires && `expires ${when(snap.expires)}`]
        .filter(Boolean)
        .join(" · ")
    : "none stored";

  const errBox = $("inspect-error");
  const record = ins?.ok ? ins.record : null;
  errBox.hidden = !has || Boolean(ins?.ok);
  errBox.textContent = has && ins && !ins.ok ? `cannot open the cookie: ${typeof ins.error === "string" ? ins.error : jsonText(ins.error)}` : "";
  $("record-view").hidden = !record;
  if (!record) return;

  const dl = $("bookkeeping");
  dl.replaceChildren();
  const isObj = record && typeof record === "object" && !Array.isArray(record);
  for (const [key, label] of BOOKKEEPING) {
    if (!isObj || !(key in record)) continue;
    const v = record[key];
    const shown =
      key === "deliveries"
        ? deliveriesText(v)
        : v === null || (TIMES.has(key) && v === 0)
          ? "—"
          : TIMES.has(key)
            ? when(v)
            : typeof v === "object"
              ? jsonText(v)
              : String(v);
    dl.append(el("dt", { text: label }), el("dd", { "data-field": key.replace(/_/g, "-"), text: shown }));
  }
  // Any other plain field of the record (its layout may grow) joins the bookkeeping.
  const known = new Set([...BOOKKEEPING.map(([k]) => k), "state", "memory", "turns"]);
  for (const [key, v] of isObj ? Object.entries(record) : []) {
    if (known.has(key) || (v !== null && typeof v === "object")) continue;
    dl.append(el("dt", { text: key.replace(/_/g, " ") }), el("dd", { "data-field": key.replace(/_/g, "-"), text: String(v) }));
  }

  const own = isObj ? ("state" in record ? ["Conversation state", record.state] : "memory" in record ? ["Conversation state (memory)", record.memory] : null) : null;
  $("own-state-box").hidden = !own;
  if (own) {
    // A Studio flow's execution (CONVERSATION=studio) says where it waits.
    const s = own[1];
    const studio = s !== null && typeof s === "object" && ("widget" in s || "variables" in s || "parents" in s);
    $("own-state-title").textContent = studio
      ? `Studio execution: ${s.widget ? `waiting at ${s.flow ? `${s.flow} › ` : ""}${s.widget}` : "none active"}`
      : own[0];
    $("own-state").textContent = jsonText(own[1]);
  }

  const turns = isObj && Array.isArray(record.turns) ? record.turns : null;
  $("turns-box").hidden = !turns;
  if (turns) {
    $("turns-count").textContent = `(${turns.length}, oldest first)`;
    $("turns").replaceChildren(...turns.map(turnItem));
  }
  $("raw").textContent = jsonText(record);
}

// ---------------------------------------------------------------------------------------------
// Pairs and actions

function renderPairs() {
  const list = $("pair-list");
  list.replaceChildren();
  const pairs = view?.pairs ?? [];
  for (const p of pairs) {
    const current = p.to === view.to && p.from === view.from;
    const b = el(
      "button",
      { type: "button", class: current ? "current" : "", "data-from": p.from, "data-to": p.to },
      el("span", { class: "from", text: p.from }),
      el("span", { class: "muted", text: ` → ${p.to}` }),
      el("span", { class: "count", text: p.messages ? String(p.messages) : "" }),
    );
    b.addEventListener("click", () => {
      ui.from.value = p.from;
      ui.to.value = p.to;
      openPair();
    });
    list.append(el("li", {}, b));
  }
  const fill = (id, values) => $(id).replaceChildren(...[...new Set(values)].map((v) => el("option", { value: v })));
  fill("known-from", pairs.map((p) => p.from));
  fill("known-to", [config.to, ...pairs.map((p) => p.to)].filter(Boolean));
}

function render() {
  $("chat-title").replaceChildren(
    el("span", { class: "from", text: view?.from ?? "" }),
    el("span", { class: "muted", text: " texting " }),
    el("span", { text: view?.to ?? "" }),
  );
  ui.retry.disabled = !view?.canRetry;
  renderPairs();
  renderLog();
  renderState();
}

function pairNow() {
  return { from: ui.from.value.trim(), to: ui.to.value.trim() };
}

function showFailure(message) {
  ui.log.append(el("li", { class: "note warning", testid: "phone-error", text: `⚠ ${message}` }));
  ui.log.scrollTop = ui.log.scrollHeight;
}

/** Runs an API call for the pair in the inputs; shows its answer if that pair is still open. */
async function act(method, path, body, shown = null) {
  const pair = pairNow();
  const id = ++requests;
  if (shown) {
    pending.push(shown);
    render();
  }
  try {
    const next =
      method === "GET"
        ? await api("GET", `${path}?${new URLSearchParams(pair)}`)
        : await api("POST", path, { ...pair, ...body });
    const now = pairNow();
    // The server answers one request at a time, in order: an older answer is older news.
    if (id > latest && now.from === next.from && now.to === next.to) {
      latest = id;
      if (!view || view.from !== next.from || view.to !== next.to) selected = null;
      view = next;
    }
    return true;
  } catch (e) {
    showFailure(e.message);
    return false;
  } finally {
    if (shown) pending = pending.filter((p) => p !== shown);
    render();
  }
}

function openPair() {
  selected = null;
  const url = new URL(location.href);
  url.searchParams.set("from", ui.from.value.trim());
  url.searchParams.set("to", ui.to.value.trim());
  history.replaceState(null, "", url);
  return act("GET", "/api/pair");
}

async function sendMessage() {
  const body = ui.message.value;
  ui.message.value = "";
  ui.message.focus();
  selected = null;
  const ok = await act("POST", "/api/send", { body }, { body, ...pairNow() });
  if (!ok && !ui.message.value) ui.message.value = body;
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sendMessage();
});
ui.message.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    sendMessage();
  }
});
ui.retry.addEventListener("click", () => {
  selected = null;
  act("POST", "/api/retry", {});
});
ui.forget.addEventListener("click", () => {
  selected = null;
  act("POST", "/api/forget", {});
});
function showLoad(open) {
  ui.loadBox.hidden = !open;
  ui.load.setAttribute("aria-expanded", String(open));
  ui.loadError.hidden = true;
  if (open) ui.loadValue.focus();
}
ui.load.addEventListener("click", () => showLoad(ui.loadBox.hidden));
$("load-cancel").addEventListener("click", () => showLoad(false));
ui.loadBox.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  ui.loadError.hidden = true;
  const id = ++requests;
  try {
    const next = await api("POST", "/api/load", { ...pairNow(), value: ui.loadValue.value });
    // The JSON may name another pair: the phone opens it.
    latest = id;
    ui.from.value = next.from;
    ui.to.value = next.to;
    selected = null;
    view = next;
    ui.loadValue.value = "";
    showLoad(false);
    const url = new URL(location.href);
    url.searchParams.set("from", next.from);
    url.searchParams.set("to", next.to);
    history.replaceState(null, "", url);
    render();
  } catch (e) {
    ui.loadError.textContent = `cannot load: ${e.message}`;
    ui.loadError.hidden = false;
  }
});
ui.wait.addEventListener("click", () => {
  selected = null;
  act("POST", "/api/wait", { seconds: Number(ui.waitSeconds.value) });
});
ui.save.addEventListener("click", async () => {
  const pair = pairNow();
  try {
    const transcript = await api("GET", `/api/transcript?${new URLSearchParams(pair)}`);
    const blob = new Blob([JSON.stringify(transcript, null, 2) + "\n"], { type: "application/json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `transcript-${pair.from.replace(/[^0-9A-Za-z]/g, "")}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    showFailure(e.message);
  }
});
$("start-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = $("start-error");
  error.hidden = true;
  let fields;
  try {
    fields = JSON.parse($("start-fields").value.trim() || "{}");
    if (fields === null || typeof fields !== "object" || Array.isArray(fields)) throw new Error("not an object");
  } catch (e) {
    error.textContent = `the fields must be a JSON object (${e.message})`;
    error.hidden = false;
    return;
  }
  selected = null;
  const id = ++requests;
  try {
    const next = await api("POST", "/api/start", { ...pairNow(), fields });
    const now = pairNow();
    if (id > latest && now.from === next.from && now.to === next.to) {
      latest = id;
      view = next;
    }
    render();
  } catch (e) {
    // Beside the form: the conversation's log is redrawn on every look.
    error.textContent = e.message;
    error.hidden = false;
  }
});

/** What a poll compares: a new event, or a delivery status that moved. */
function signature(v) {
  return JSON.stringify([v?.from, v?.to, v?.events.map((e) => [e.id, e.status]), v?.pairs.length]);
}

// Messages the worker sends itself come without anything typed here: look every second.
let polling = false;
setInterval(async () => {
  if (polling || document.hidden || !view || pending.length) return;
  polling = true;
  const id = ++requests;
  try {
    const next = await api("GET", `/api/pair?${new URLSearchParams({ from: view.from, to: view.to })}`);
    const now = pairNow();
    if (id > latest && next.from === now.from && next.to === now.to) {
      latest = id;
      const changed = signature(next) !== signature(view);
      view = next;
      if (changed) render();
    }
  } catch {
    // the phone's server stopped: the next action says so
  } finally {
    polling = false;
  }
}, 1000);

$("pair-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  openPair();
});
for (const input of [ui.from, ui.to]) input.addEventListener("change", () => openPair());

(async () => {
  config = await api("GET", "/api/config");
  $("webhook").textContent = config.url;
  $("start-hint").textContent = config.canStart
    ? "POST /conversations to the person (From) from your number (To); its messages appear in the conversation."
    : "Needs OUTBOUND_API_KEY in .dev.vars (restart npm run dev after setting it).";
  const q = new URLSearchParams(location.search);
  ui.from.value = q.get("from") || config.from;
  ui.to.value = q.get("to") || config.to;
  await openPair();
  document.body.dataset.ready = "true";
  ui.message.focus();
})().catch((e) => showFailure(e.message));
