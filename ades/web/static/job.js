// The job page, live: follows the job's event stream (GET …/jobs/{id}/events, server-sent
// events: `status` and `end` carry the status document, `log` one log entry) and updates
// the status, progress, current step, failure and logs in place; it closes the stream on
// `end` (EventSource would reconnect otherwise). Also the dismiss button (DELETE the job).
"use strict";

(function () {
  const section = document.getElementById("job");
  if (!section) return;
  const FINAL = ["successful", "failed", "dismissed"];
  const LEVELS = ["debug", "info", "warning", "error"];
  const rows = document.getElementById("log-rows");
  const level = section.dataset.level || "debug";
  const byId = (id) => document.getElementById(id);
  let lastLog = Math.max(0, ...Array.from(rows.querySelectorAll("tr[data-id]"), (r) => Number(r.dataset.id) || 0));

  const when = (value) => {
    if (!value) return "";
    const moment = new Date(value);
    if (Number.isNaN(moment.getTime())) return value;
    return moment.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  };

  function update(doc) {
    const badge = byId("status");
    badge.textContent = doc.status;
    badge.className = "badge status-" + doc.status;
    section.dataset.status = doc.status;
    const progress = Number(doc.progress || 0);
    byId("progress").value = progress;
    byId("progress").textContent = progress + "%";
    byId("progress-text").textContent = progress + "%";
    byId("message").textContent = doc.message || "";
    for (const name of ["created", "started", "finished", "updated"]) byId(name).textContent = when(doc[name]);
    const failure = doc.failure;
    byId("failure").hidden = !failure;
    if (failure) {
      byId("failure-category").textContent = failure.category || "";
      byId("failure-step").textContent = failure.step || "";
      byId("failure-exit").textContent = failure.exitCode ?? "";
      byId("failure-stderr").textContent = failure.stderr || "";
    }
    byId("results-link").hidden = doc.status !== "successful";
    byId("dismiss").disabled = doc.status === "dismissed";
  }

  function append(entry) {
    const id = Number(entry.id) || 0;
    if (id && id <= lastLog) return; // already on the page (the stream starts from the first)
    if (LEVELS.indexOf(entry.level) < LEVELS.indexOf(level)) return;
    lastLog = Math.max(lastLog, id);
    const row = document.createElement("tr");
    row.dataset.id = entry.id;
    row.className = "level-" + entry.level;
    const cells = [when(entry.time), entry.level];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    const cell = document.createElement("td");
    const pre = document.createElement("pre");
    pre.textContent = entry.message;
    cell.appendChild(pre);
    row.appendChild(cell);
    rows.appendChild(row);
  }

  const parse = (event) => {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  };

  function follow() {
    const url = new URL(section.dataset.eventsUrl, window.location.href);
    url.searchParams.set("level", level);
    const source = new EventSource(url.toString());
    source.addEventListener("status", (event) => { const doc = parse(event); if (doc) update(doc); });
    source.addEventListener("log", (event) => { const entry = parse(event); if (entry) append(entry); });
    source.addEventListener("end", (event) => {
      const doc = parse(event);
      if (doc) update(doc);
      source.close();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) byId("action-status").textContent = "Live updates stopped; reload to see the latest state.";
    });
    return source;
  }

  // Level filter: choosing a level shows the page again with it (server-side filtering).
  const select = byId("level");
  if (select) select.addEventListener("change", () => select.form.requestSubmit());

  const dismiss = byId("dismiss");
  dismiss.hidden = false;
  dismiss.addEventListener("click", async () => {
    if (!window.confirm("Dismiss this job? A running job is cancelled; its results are removed.")) return;
    dismiss.disabled = true;
    const note = byId("action-status");
    try {
      const response = await fetch(section.dataset.jobUrl, { method: "DELETE", headers: { Accept: "application/json" } });
      const doc = await response.json().catch(() => null);
      if (response.ok && doc) {
        update(doc);
        note.textContent = "Dismissed.";
      } else {
        note.textContent = response.status + " " + ((doc && (doc.detail || doc.title)) || "the job could not be dismissed");
        dismiss.disabled = false;
      }
    } catch (e) {
      note.textContent = "The request failed: " + e.message;
      dismiss.disabled = false;
    }
  });

  if (!FINAL.includes(section.dataset.status) && window.EventSource) follow();
})();
