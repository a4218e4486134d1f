// Tutela review console: plain JS over the review API. The token lives in sessionStorage only; previews
// are fetched with it and shown from blob: URLs (blurred and greyscale unless un-blurred, which the API
// records in the item's history).
"use strict";

const state = { token: null, kind: "media", items: [], selected: -1, cursor: null, current: null };
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function toast(message) {
  const t = $("#toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: `Bearer ${state.token}` } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  if (resp.status === 401) { signOut(); throw new Error("not signed in"); }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error((data && (data.message || data.error)) || `HTTP ${resp.status}`);
  return data;
}

function signOut() {
  sessionStorage.removeItem("tutela-token");
  state.token = null;
  $("#app").hidden = true;
  $("#login").hidden = false;
}

// ------------------------------------------------------------------ queue
async function loadQueue(kind, append = false) {
  delete $("#app").dataset.loaded;
  state.kind = kind;
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b.dataset.kind === kind));
  showPanel("detail");
  const cursor = append && state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
  const data = await api("GET", `/api/queue?kind=${encodeURIComponent(kind)}&limit=25${cursor}`);
  state.items = append ? state.items.concat(data.items) : data.items;
  state.cursor = data.cursor;
  if (!append) state.selected = state.items.length ? 0 : -1;
  $("#queue-title").textContent = `${kind} queue (${state.items.length}${data.cursor ? "+" : ""})`;
  $("#more").hidden = !data.cursor;
  renderQueue();
  if (!append) {
    if (state.selected >= 0) await openItem(state.items[state.selected].id);
    else $("#detail").replaceChildren(el("p", { class: "empty" }, "Nothing waiting in this queue."));
  }
  $("#app").dataset.loaded = kind; // the queue and its first item are shown
}

function renderQueue() {
  const list = $("#queue-list");
  list.replaceChildren(...state.items.map((it, i) => {
    const minor = it.minor === "likely" || it.minor === "possible";
    const li = el("li", { class: i === state.selected ? "selected" : "", "data-id": it.id },
      el("div", {}, it.key || "(no key)", it.comment_id ? ` #${it.comment_id}` : ""),
      el("div", { class: "meta" },
        minor ? el("span", { class: "pill minor" }, `minor: ${it.minor}`) : null,
        el("span", { class: "pill" }, `severity ${it.severity}`),
        (it.reasons || []).slice(0, 3).map((r) => el("span", { class: "pill" }, r)),
        it.reports ? el("span", { class: "pill" }, `${it.reports} report(s)`) : null,
        it.hidden ? el("span", { class: "pill minor" }, "hidden") : null));
    li.addEventListener("click", () => select(i, true));
    return li;
  }));
}

function select(i, open) {
  if (i < 0 || i >= state.items.length) return;
  state.selected = i;
  renderQueue();
  const node = $("#queue-list").children[i];
  if (node && node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
  if (open) openItem(state.items[i].id);
}

// ------------------------------------------------------------------ item
async function openItem(id) {
  showPanel("detail");
  const item = await api("GET", `/api/items/${encodeURIComponent(id)}`);
  state.current = item;
  const d = item.decision, r = item.review;
  const reasons = (d.reasons || []).map((x) => el("li", {}, el("b", {}, x.code || ""), " ", x.message || ""));
  const history = el("table", {}, el("tr", {}, ["when", "action", "who", "verdict", "why"].map((h) => el("th", {}, h))),
    item.history.map((h) => el("tr", {},
      el("td", {}, h.at), el("td", {}, h.action), el("td", {}, h.actor ? h.actor.name : ""),
      el("td", {}, h.verdict || ""), el("td", {}, h.reason || h.statement || h.note || h.category || ""))));
  const parts = [
    el("h2", {}, item.key, d.comment_id ? ` — comment ${d.comment_id}` : ""),
    el("p", {},
      "pipeline: ", el("b", { class: `verdict-${d.verdict}` }, d.verdict),
      ` (severity ${d.severity ?? "-"}), now: `, el("b", { class: `verdict-${r.verdict}` }, r.verdict || "-"),
      ` · ${r.status}${r.queue ? ` in ${r.queue}` : ""} · round ${r.round} · distribution ${item.distribution}`,
      d.minor ? ` · minor: ${d.minor}` : "",
      r.uploader ? [" · uploader ", el("a", { href: "#", onclick: (e) => { e.preventDefault(); loadAccount(r.uploader); } }, r.uploader)] : ""),
    el("p", { class: "meta" }, `policy ${(d.policy && d.policy.version) || d.lexicon_version || "-"}`,
      d.analyzers && d.analyzers.scan ? ` · scan ${d.analyzers.scan.name} ${d.analyzers.scan.version || ""}` : "",
      ` · id `, el("code", { id: "item-id" }, item.id)),
    el("h3", {}, "Reasons"), el("ul", { id: "reasons" }, reasons),
  ];
  if (item.comment) {
    parts.push(el("h3", {}, "Comment"), el("div", { class: "comment", id: "comment-text" },
      item.comment.segments.map((s) => (s.mark ? el("mark", { "data-category": s.mark }, s.text) : s.text))));
  }
  if (item.preview) {
    parts.push(el("h3", {}, "Preview"), el("div", { class: "preview" },
      el("img", { id: "preview", alt: "blurred greyscale preview" }),
      el("button", { id: "unblur", type: "button", onclick: unblur }, "Un-blur (u) — recorded")));
  }
  const pending = r.status === "pending";
  parts.push(
    el("label", {}, "Reason", el("textarea", { id: "reason", maxLength: 1000, disabled: !pending })),
    el("label", {}, "Category (optional) ", el("input", { id: "category", placeholder: "e.g. child_sexual_abuse", disabled: !pending })),
    el("div", { class: "actions" },
      el("button", { id: "allow", disabled: !pending, onclick: () => decide("allow") }, "Allow (a)"),
      el("button", { id: "block", disabled: !pending, onclick: () => decide("block") }, "Block (b)")),
    el("h3", {}, "History"), history);
  $("#detail").replaceChildren(...parts);
  if (item.preview) loadPreview(item.preview.url, false);
}

async function loadPreview(url, clear) {
  const img = $("#preview");
  if (!img) return;
  const resp = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!resp.ok) { img.alt = "no preview available"; return; }
  const blob = await resp.blob();
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.dataset.clear = clear ? "1" : "0";
}

async function unblur() {
  if (!state.current || !state.current.preview) return;
  if (!window.confirm("Show this preview without blur? Your name is recorded in the item's history.")) return;
  await loadPreview(state.current.preview.clear_url, true);
  toast("Un-blurred (recorded)");
}

async function decide(verdict) {
  if (!state.current || state.current.review.status !== "pending") return;
  const reason = $("#reason").value.trim();
  if (!reason) { toast("A reason is required"); $("#reason").focus(); return; }
  const category = $("#category").value.trim();
  try {
    const body = { verdict, reason, ...(category ? { category } : {}) };
    await api("POST", `/api/items/${encodeURIComponent(state.current.id)}/decision`, body);
    toast(`${verdict === "allow" ? "Allowed" : "Blocked"}: ${state.current.key}`);
    const next = Math.min(state.selected, state.items.length - 2);
    await loadQueue(state.kind);
    if (next >= 0 && next < state.items.length) select(next, true);
  } catch (err) {
    toast(err.message);
  }
}

// ------------------------------------------------------------------ account, forms
async function loadAccount(uploader) {
  const a = await api("GET", `/api/accounts/${encodeURIComponent(uploader)}`);
  showPanel("account");
  $("#account").replaceChildren(
    el("h2", {}, `Account ${a.uploader}`),
    el("p", { id: "account-summary" }, `${a.active_strikes} active strike(s) of ${a.threshold} in ${a.window_days} days`,
      a.escalated ? el("b", { class: "verdict-block" }, " — escalated") : ""),
    el("table", {}, el("tr", {}, ["when", "key", "category", "voided"].map((h) => el("th", {}, h))),
      a.strikes.map((s) => el("tr", {}, el("td", {}, s.at), el("td", {}, s.key), el("td", {}, s.category || ""),
        el("td", {}, s.voided ? "yes" : "")))));
}

function showPanel(name) {
  for (const id of ["detail", "forms", "account"]) $(`#${id}`).hidden = id !== name;
}

async function submitForm(e, path, body) {
  e.preventDefault();
  try {
    const data = await api("POST", path, body());
    $("#form-result").textContent = JSON.stringify(data, null, 2);
    toast("Sent");
  } catch (err) {
    $("#form-result").textContent = err.message;
    toast(err.message);
  }
}

// ------------------------------------------------------------------ keys
function typing(target) {
  return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
}

document.addEventListener("keydown", (e) => {
  if (!state.token || e.ctrlKey || e.metaKey || e.altKey) return;
  if (typing(e.target)) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  const kinds = { 1: "media", 2: "comment", 3: "appeal", 4: "report" };
  if (e.key === "j") select(state.selected + 1, true);
  else if (e.key === "k") select(state.selected - 1, true);
  else if (e.key === "Enter" && state.selected >= 0) openItem(state.items[state.selected].id);
  else if (e.key === "a") decide("allow");
  else if (e.key === "b") decide("block");
  else if (e.key === "u") unblur();
  else if (e.key === "r" && $("#reason")) { e.preventDefault(); $("#reason").focus(); }
  else if (e.key === "?") $("#keys").showModal();
  else if (kinds[e.key]) loadQueue(kinds[e.key]);
  else return;
  e.preventDefault();
});

// ------------------------------------------------------------------ start
async function start() {
  const me = await api("GET", "/api/me");
  $("#whoami").textContent = `${me.name} (${me.groups.join(", ")})`;
  $("#login").hidden = true;
  $("#app").hidden = false;
  await loadQueue("media");
}

// A token handed over in the fragment (never sent to a server) is moved to sessionStorage at once.
function takeTokenFromHash() {
  const m = location.hash.match(/token=([^&]+)/);
  if (!m) return false;
  sessionStorage.setItem("tutela-token", decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname);
  return true;
}

window.addEventListener("hashchange", () => {
  if (takeTokenFromHash()) {
    state.token = sessionStorage.getItem("tutela-token");
    start().catch((err) => { toast(err.message); signOut(); });
  }
});

document.addEventListener("DOMContentLoaded", () => {
  takeTokenFromHash();
  state.token = sessionStorage.getItem("tutela-token");
  document.querySelectorAll(".tab[data-kind]").forEach((b) => b.addEventListener("click", () => loadQueue(b.dataset.kind)));
  $(".tab[data-view=forms]").addEventListener("click", () => showPanel("forms"));
  $("#more").addEventListener("click", () => loadQueue(state.kind, true));
  $("#account-search").addEventListener("submit", (e) => { e.preventDefault(); loadAccount($("#account-id").value.trim()); });
  $("#login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("#token").value.trim();
    sessionStorage.setItem("tutela-token", state.token);
    start().catch((err) => toast(err.message));
  });
  $("#appeal-form").addEventListener("submit", (e) => submitForm(e, "/api/appeals",
    () => ({ item: $("#appeal-item").value.trim(), statement: $("#appeal-statement").value })));
  $("#report-form").addEventListener("submit", (e) => submitForm(e, "/api/reports", () => {
    const body = { key: $("#report-key").value.trim(), category: $("#report-category").value, note: $("#report-note").value };
    const c = $("#report-comment").value.trim();
    return c ? { ...body, comment_id: c } : body;
  }));
  if (state.token) start().catch((err) => { toast(err.message); signOut(); });
  else $("#login").hidden = false;
});
