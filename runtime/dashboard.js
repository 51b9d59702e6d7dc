"use strict";
// The dev dashboard's page script, served as a file: the page's Content-Security-Policy allows no inline script.
const api = (p, opts) => fetch("/_runtime/api" + p, opts).then(r => r.json());
// Every value put into HTML passes esc(), numbers too: a number from the API is whatever a
// stored file or a handler made it, not necessarily a number.
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
// 9000 -> "2 h 30 min": the largest two units, so a TTL reads at a glance
const duration = seconds => {
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const parts = [];
  let left = Math.max(0, Math.round(seconds));
  for (const [name, size] of units) { if (left >= size || (name === "s" && !parts.length)) { parts.push(`${Math.floor(left / size)} ${name}`); left %= size; } }
  return parts.slice(0, 2).join(" ");
};
const rows = (id, html) => { document.querySelector(`#${id} tbody`).innerHTML = html; };
function toast(text) { const t = document.getElementById("toast"); t.textContent = text; t.style.display = "block"; setTimeout(() => t.style.display = "none", 2500); }

async function post(path, label) {
  const result = await api(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
  toast(label + ": " + JSON.stringify(result));
  refresh();
}

let overviewDone = false;
async function overview() {
  const o = await api("/overview");
  rows("services", Object.entries(o.services).map(([n, u]) => `<tr><td>${esc(n)}</td><td><a href="${esc(u)}">${esc(u)}</a></td></tr>`).join("") || `<tr><td colspan=2 class=muted>no public services</td></tr>`);
  rows("resources", o.resources.map(r => `<tr><td>${esc(r.kind)}</td><td>${esc(r.name)}</td><td><code>${esc(r.binding ?? "")}</code></td><td class=muted>${esc(r.detail ?? "")}</td></tr>`).join(""));
  const kv = o.resources.filter(r => r.browse === "kv");
  document.getElementById("kvns").innerHTML = kv.map(r => `<option>${esc(r.name)}</option>`).join("");
  overviewDone = true;
}

async function showDead(queue) {
  const letters = await api(`/queues/${encodeURIComponent(queue)}/dead`);
  document.getElementById("dead").innerHTML = `<h2>Dead letters of ${esc(queue)}</h2>` + (letters.map(l =>
    `<details><summary><code>${esc(l.id)}</code> · ${esc(l.attempts)} attempts · ${esc((l.last_error || "").trim().split("\n").pop())}</summary><pre>${esc(l.body)}</pre><pre class=bad>${esc(l.last_error)}</pre></details>`).join("") || "<p class=muted>none</p>");
}

async function refresh() {
  try {
    if (!overviewDone) await overview();
    const lag = (await api("/overview")).loop_lag;
    document.getElementById("looplag").textContent = lag.max_ms === null ? "–" : `${lag.max_ms} ms (p99 ${lag.p99_ms})`;
    const [queues, schedules, runs, actors, owned] = await Promise.all([api("/queues"), api("/schedules"), api("/runs"), api("/actors"), api("/actors/owners")]);
    rows("queues", Object.entries(queues).map(([q, s]) => `<tr data-queue="${esc(q)}"><td>${esc(q)}</td><td class="n depth">${esc(s.depth)}</td><td class=n>${esc(s.ready)}</td><td class=n>${esc(s.in_flight)}</td><td class=n>${esc(s.delayed)}</td><td class="n dead ${s.dead_lettered ? "bad" : ""}">${esc(s.dead_lettered)}</td><td><button class=msgs data-q="${esc(q)}">messages</button> ${s.dead_lettered ? `<button class=show data-q="${esc(q)}">show</button> <button class=redrive data-q="${esc(q)}">re-drive</button> <button class=purge data-q="${esc(q)}">purge</button>` : ""}</td></tr>`).join("") || `<tr><td colspan=7 class=muted>no queues</td></tr>`);
    rows("schedules", schedules.map(s => `<tr data-schedule="${esc(s.name)}"><td>${esc(s.name)} <span class=muted>${esc(s.kind)}</span></td><td><code>${esc(s.cron)}</code></td><td>${s.next.map(esc).join("<br>")}</td><td><button class=run data-s="${esc(s.name)}">run now</button></td></tr>`).join("") || `<tr><td colspan=4 class=muted>no schedules</td></tr>`);
    rows("runs", runs.slice(0, 50).map(r => `<tr><td>${esc(r.started_at)}</td><td>${esc(r.module)}</td><td>${esc(r.kind)}</td><td class="${r.outcome === "ok" ? "ok" : "bad"}">${esc(r.outcome)}</td><td class=n>${esc(r.duration_ms)} ms</td><td>${esc(r.detail)}${r.error ? `<details><summary class=bad>error</summary><pre>${esc(r.error)}</pre></details>` : ""}</td></tr>`).join(""));
    const ownerOf = (ns, id) => { const o = (owned.owners[ns] || {})[id]; return o ? ` <span class="muted owner">run by ${o === owned.this_process ? "this process" : esc(o)}</span>` : ""; };
    document.getElementById("actors").innerHTML = Object.entries(actors).map(([ns, ids]) => `<div><b>${esc(ns)}</b>: ${ids.map(i => `<a href="#" class=actor data-ns="${esc(ns)}" data-id="${esc(i)}">${(owned.names[ns] || {})[i] ? `<b>${esc(owned.names[ns][i])}</b>` : `<code>${esc(i.slice(0, 12))}</code>`}</a>${ownerOf(ns, i)}`).join(", ") || "<span class=muted>no stored state yet</span>"}</div>`).join("") || "none";
    await refreshKv();
    await refreshSmart();
    await refreshBuckets();
    if (sqlTables === null) await refreshSql();  // counting rows is not for every second: on load, on change, after a query
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) { document.getElementById("updated").textContent = "cannot reach the runtime: " + e; }
}

async function refreshSmart() {
  const [buckets, memories] = await Promise.all([api("/smartbuckets"), api("/memories")]);
  const select = document.getElementById("sbname");
  const names = Object.keys(buckets);
  if (select.options.length !== names.length) select.innerHTML = names.map(n => `<option>${esc(n)}</option>`).join("");
  const objects = buckets[select.value] || [];
  rows("sbobjects", objects.map(o => `<tr data-object="${esc(o.key)}"><td>${esc(o.key)}</td><td class="${o.state === "indexed" ? "ok" : o.state === "pending" ? "muted" : "bad"} state">${esc(o.state)}</td><td class=n>${esc(o.chunks)}</td><td class=muted>${esc(o.detail || "")}</td></tr>`).join("") || `<tr><td colspan=4 class=muted>${names.length ? "no objects" : "no smartbuckets"}</td></tr>`);
  document.getElementById("memories").innerHTML = Object.entries(memories).map(([name, m]) =>
    `<h3>${esc(name)}</h3><p class=muted>${esc(m.episodes)} episodes · ${esc(m.semantic_documents)} semantic documents</p>` +
    `<table><thead><tr><th>session</th><th>state</th><th class=n>entries</th><th>started</th></tr></thead><tbody>` +
    (m.sessions.map(s => `<tr><td><a href="#" class=session data-m="${esc(name)}" data-s="${esc(s.session_id)}"><code>${esc(s.session_id.slice(0, 12))}</code></a></td><td>${esc(s.state)}</td><td class=n>${esc(s.entries)}</td><td>${esc(s.started_at)}</td></tr>`).join("") || "<tr><td colspan=4 class=muted>no sessions</td></tr>") +
    `</tbody></table><h3>procedures</h3>` + (m.procedures.map(p => `<div><code>${esc(p.store)}/${esc(p.key)}</code>: ${esc(p.value)}</div>`).join("") || "<p class=muted>none</p>")
  ).join("") || "none";
}

async function searchSmart() {
  const name = document.getElementById("sbname").value, q = document.getElementById("sbquery").value;
  if (!name || !q.trim()) return;
  const found = await api(`/smartbuckets/${encodeURIComponent(name)}/search?q=${encodeURIComponent(q)}`);
  document.getElementById("sbresults").innerHTML = found.error ? `<p class=bad>${esc(found.error)}</p>` :
    (found.results.map(r => `<div class=result><b>${esc(r.source)}</b> <span class=muted>score ${esc(r.score)}</span><pre>${esc(r.text)}</pre></div>`).join("") || "<p class=muted>no match</p>");
}

async function showMessages(queue) {
  const waiting = await api(`/queues/${encodeURIComponent(queue)}/messages`);
  document.getElementById("dead").innerHTML = `<h2>Waiting in ${esc(queue)}</h2>` + (waiting.map(m =>
    `<details class=message><summary><code>${esc(m.id)}</code> · sent ${esc(m.sent_at)} · ${esc(m.attempts)} attempts</summary><pre>${esc(m.body)}</pre></details>`).join("") || "<p class=muted>none</p>");
}

const table = (columns, data) => `<table><thead><tr>${columns.map(c => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>` +
  data.map(r => `<tr>${r.map(v => `<td>${esc(v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : v)}</td>`).join("")}</tr>`).join("") + "</tbody></table>";

async function refreshBuckets() {
  const select = document.getElementById("bkname");
  if (!select.dataset.loaded) {
    const buckets = await api("/buckets");
    select.innerHTML = buckets.map(b => `<option value="${esc(b.name)}">${esc(b.name)}${b.kind === "smartbucket" ? " (smart)" : ""}</option>`).join("");
    select.dataset.loaded = "1";
  }
  if (!select.value) { rows("bkobjects", "<tr><td colspan=4 class=muted>no buckets</td></tr>"); return; }
  const page = await api(`/buckets/${encodeURIComponent(select.value)}?prefix=${encodeURIComponent(document.getElementById("bkprefix").value)}`);
  rows("bkobjects", page.objects.map(o => `<tr data-key="${esc(o.key)}"><td><a download href="/_runtime/api/buckets/${encodeURIComponent(select.value)}/object?key=${encodeURIComponent(o.key)}">${esc(o.key)}</a></td><td class=n>${esc(o.size)}</td><td>${esc(o.uploaded)}</td><td><code>${esc(JSON.stringify({...o.http_metadata, ...o.custom_metadata}))}</code></td></tr>`).join("") + (page.truncated ? "<tr><td colspan=4 class=muted>more objects: narrow the prefix</td></tr>" : "") || "<tr><td colspan=4 class=muted>no objects</td></tr>");
}

let sqlTables = null;
async function refreshSql() {
  const select = document.getElementById("sqldb");
  sqlTables = await api("/sql");
  const names = Object.keys(sqlTables);
  if (select.options.length !== names.length) select.innerHTML = names.map(n => `<option>${esc(n)}</option>`).join("");
  const tables = sqlTables[select.value] || [];
  rows("sqltables", tables.map(t => `<tr><td><a href="#" class=sqltable data-t="${esc(t.name)}">${esc(t.name)}</a></td><td class=n>${esc(t.rows)}</td><td class=muted>${esc(t.columns.map(c => c.name).join(", "))}</td></tr>`).join("") || `<tr><td colspan=3 class=muted>${names.length ? "no tables" : "no SQL databases"}</td></tr>`);
}

function showResult(result) {
  document.getElementById("sqlresult").innerHTML = result.error ? `<p class=bad>${esc(result.error)}</p>` :
    table(result.columns, result.rows) + (result.truncated ? "<p class=muted>first 500 rows</p>" : `<p class=muted>${esc(result.rows.length)} rows</p>`);
}

async function runQuery() {
  const db = document.getElementById("sqldb").value, sql = document.getElementById("sqlquery").value;
  if (!db || !sql.trim()) return;
  showResult(await api(`/sql/${encodeURIComponent(db)}/query`, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({sql})}));
  refreshSql();
}

const series = {depth: [], runs: [], failures: [], duration: []};
function draw(name, value, unit) {
  const points = series[name];
  points.push(value); if (points.length > 120) points.shift();
  const box = document.getElementById("chart-" + name);
  box.querySelector(".now").textContent = value === null ? "–" : value + (unit || "");
  const max = Math.max(1, ...points.filter(v => v !== null));
  const path = points.map((v, i) => `${i === 0 ? "M" : "L"}${(i + 120 - points.length).toFixed(1)},${(40 - 38 * (v ?? 0) / max).toFixed(2)}`).join(" ");
  const color = name === "failures" ? "#b42318" : "#2563eb", start = (120 - points.length).toFixed(1);
  box.querySelector("svg").innerHTML = `<path class=area d="${esc(path)} L120,40 L${esc(start)},40 Z" fill="${esc(color)}" fill-opacity="0.12"/>` +
    `<path class=line d="${esc(path)}" fill="none" stroke="${esc(color)}" stroke-width="1.5" vector-effect="non-scaling-stroke"/>`;
}

function live() {
  const source = new EventSource("/_runtime/api/events");
  source.onopen = () => { document.getElementById("livestate").textContent = "live"; };
  source.onerror = () => { document.getElementById("livestate").textContent = "reconnecting…"; };
  source.onmessage = (e) => {
    const p = JSON.parse(e.data);
    draw("depth", Object.values(p.depth).reduce((a, b) => a + b, 0));
    draw("runs", p.runs);
    draw("failures", p.failures);
    draw("duration", p.mean_ms, p.mean_ms === null ? "" : " ms");
  };
}

async function refreshKv() {
  const ns = document.getElementById("kvns").value;
  if (!ns) { rows("kv", "<tr><td colspan=3 class=muted>no KV caches</td></tr>"); return; }
  const prefix = document.getElementById("kvprefix").value;
  const page = await api(`/kv/${encodeURIComponent(ns)}?prefix=${encodeURIComponent(prefix)}`);
  rows("kv", page.keys.map(k => `<tr><td><a href="#" class=kvkey data-k="${esc(k.name)}">${esc(k.name)}</a></td><td class=n>${esc(k.ttl == null ? "∞" : duration(k.ttl))}</td><td><code>${esc(k.metadata == null ? "" : JSON.stringify(k.metadata))}</code></td></tr>`).join("") || "<tr><td colspan=3 class=muted>no keys</td></tr>");
}

document.addEventListener("click", async (e) => {
  const t = e.target;
  if (t.classList.contains("redrive")) post(`/queues/${encodeURIComponent(t.dataset.q)}/redrive`, "re-drive");
  if (t.classList.contains("purge") && confirm("Delete the dead letters of " + t.dataset.q + "?")) post(`/queues/${encodeURIComponent(t.dataset.q)}/purge-dead`, "purge");
  if (t.classList.contains("show")) showDead(t.dataset.q);
  if (t.classList.contains("msgs")) showMessages(t.dataset.q);
  if (t.classList.contains("sqltable")) { e.preventDefault(); const db = document.getElementById("sqldb").value; showResult(await api(`/sql/${encodeURIComponent(db)}/tables/${encodeURIComponent(t.dataset.t)}`)); }
  if (t.classList.contains("run")) post(`/schedules/${encodeURIComponent(t.dataset.s)}/run`, "run " + t.dataset.s);
  if (t.classList.contains("kvkey")) { e.preventDefault(); const ns = document.getElementById("kvns").value; const v = await fetch(`/_runtime/api/kv/${encodeURIComponent(ns)}/value?key=${encodeURIComponent(t.dataset.k)}`).then(r => r.json()); document.getElementById("kvvalue").textContent = v.value ?? v.error; }
  if (t.closest(".session")) { e.preventDefault(); const a = t.closest(".session"); const entries = await api(`/memories/${encodeURIComponent(a.dataset.m)}/sessions/${encodeURIComponent(a.dataset.s)}`); document.getElementById("entries").innerHTML = "<h3>entries</h3>" + entries.map(x => `<div><span class=muted>${esc(x.at)} · ${esc(x.timeline)}</span> ${esc(x.content)}</div>`).join(""); }
  if (t.closest(".actor")) { e.preventDefault(); const a = t.closest(".actor"); const s = await api(`/actors/${encodeURIComponent(a.dataset.ns)}/${encodeURIComponent(a.dataset.id)}`); document.getElementById("actorstate").textContent = JSON.stringify(s, null, 2); }
});
document.getElementById("kvns").addEventListener("change", refreshKv);
document.getElementById("sbgo").addEventListener("click", searchSmart);
document.getElementById("sbquery").addEventListener("keydown", e => { if (e.key === "Enter") searchSmart(); });
document.getElementById("sbname").addEventListener("change", refreshSmart);
document.getElementById("kvprefix").addEventListener("input", refreshKv);
document.getElementById("bkname").addEventListener("change", refreshBuckets);
document.getElementById("bkprefix").addEventListener("input", refreshBuckets);
document.getElementById("sqldb").addEventListener("change", refreshSql);
document.getElementById("sqlgo").addEventListener("click", runQuery);
refresh();
live();
setInterval(refresh, 1000);
