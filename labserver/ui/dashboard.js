// The dashboard is a view of the admin API: it reads the same public
// endpoints a script would. The token, when the server has one, comes
// from the page's URL (?token=).
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const api = "/api/v1";
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const $ = (id) => document.getElementById(id);
  const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;

  async function get(path) {
    const r = await fetch(api + path, { headers });
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }
  function status(text) { $("status").textContent = text; }
  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); tr.appendChild(td); }
  function time(t) { return t ? new Date(t).toLocaleTimeString() : ""; }

  async function loadState() {
    const st = await get("/state");
    $("scenario-name").textContent = st.scenario.name;
    $("scenario-description").textContent = st.scenario.description;
    $("scenario-select").value = st.scenario.name;
  }
  async function loadScenarios() {
    const list = await get("/scenarios");
    const sel = $("scenario-select");
    sel.textContent = "";
    for (const s of list) {
      const o = document.createElement("option");
      o.value = s.name; o.textContent = s.name; o.title = s.description;
      sel.appendChild(o);
    }
  }
  async function loadConnect() {
    const c = await get("/connect");
    const lines = ["proxy: " + c.proxyURL, "root PEM: " + c.rootPEM, "", "curl:", "  " + c.curl, "", "Chromium:"]
      .concat(c.chromium.map((l) => "  " + l), ["", "Windows:"], c.windows.map((l) => "  " + l));
    $("connect-lines").textContent = lines.join("\n");
    $("root-pem").href = withToken(api + "/roots/trusted.pem");
  }

  const rows = [];
  function addEntry(e) {
    const tr = document.createElement("tr");
    tr.className = e.result;
    tr.dataset.target = (e.target || "").toLowerCase();
    for (const v of [e.seq, time(e.time), e.client, e.method, e.target + (e.path || ""), e.rule, e.action, e.status || "", e.result, e.detail]) cell(tr, v);
    filterRow(tr);
    $("journal").tBodies[0].prepend(tr);
    rows.push(tr);
    if (rows.length > 500) rows.shift().remove();
  }
  function filterRow(tr) {
    const f = $("host-filter").value.trim().toLowerCase();
    tr.hidden = f !== "" && !tr.dataset.target.includes(f);
  }
  function stream() {
    const es = new EventSource(withToken(api + "/journal/stream"));
    es.addEventListener("entry", (ev) => addEntry(JSON.parse(ev.data)));
    es.onopen = () => status("Live: connected to the lab.");
    es.onerror = () => status("Live: reconnecting…");
  }

  function list(x) { return Array.isArray(x) ? x : (x.messages || x.entries || []); }
  async function poll() {
    try {
      const audit = list(await get("/service/audit"));
      const ab = $("audit").tBodies[0]; ab.textContent = "";
      for (const a of audit.slice(-200).reverse()) {
        const tr = document.createElement("tr");
        for (const v of [time(a.time), a.targetUser, a.activity, a.result, a.resultReason, a.clientType]) cell(tr, v);
        ab.appendChild(tr);
      }
      const out = list(await get("/service/outbox"));
      const ob = $("outbox").tBodies[0]; ob.textContent = "";
      for (const m of out.slice(-200).reverse()) {
        const tr = document.createElement("tr");
        for (const v of [time(m.time), m.upn, m.channel, m.to, m.code]) cell(tr, v);
        ob.appendChild(tr);
      }
    } catch (err) { status(String(err)); }
  }

  $("host-filter").addEventListener("input", () => rows.forEach(filterRow));
  $("switch").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("scenario-select").value;
    status("Switching to " + name + "…");
    const r = await fetch(api + "/scenario", { method: "PUT", headers: Object.assign({ "Content-Type": "application/json" }, headers), body: JSON.stringify({ name }) });
    if (r.ok) { await loadState(); await poll(); status("Now serving " + name + "."); }
    else { const b = await r.json(); status("Switch failed: " + b.error.message); }
  });

  Promise.all([loadScenarios(), loadConnect()]).then(loadState).then(() => { stream(); poll(); setInterval(poll, 2000); })
    .catch((err) => status(String(err)));
})();
