// Deploying from the pages (OGC API - Processes Part 2): the deploy form of the process
// list (POST), the replace form of a deployed process's page (PUT) and its undeploy button
// (DELETE). A package is a CWL file chosen or CWL pasted; it is sent as it is, typed
// application/cwl+json when it is JSON and application/cwl+yaml otherwise. What the server
// refuses is shown with its own words, next to the form.
"use strict";

(function () {
  function problemText(response, body) {
    let doc = null;
    try {
      doc = JSON.parse(body);
    } catch (e) {
      doc = null;
    }
    const title = (doc && doc.title) || response.statusText || "Refused";
    const detail = doc && doc.detail ? ": " + doc.detail : "";
    return response.status + " " + title + detail;
  }

  function say(region, text, bad) {
    region.textContent = "";
    const p = document.createElement("p");
    p.textContent = text;
    if (bad) p.className = "problem";
    region.appendChild(p);
  }

  for (const form of document.querySelectorAll("form[data-package-url]")) {
    const region = form.querySelector("[role=status]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = form.querySelector("input[type=file]");
      const pasted = form.querySelector("textarea");
      let text = pasted.value;
      if (file.files.length) text = await file.files[0].text();
      if (!text.trim()) {
        say(region, "Choose a CWL file or paste a package first.", true);
        (file.files.length ? pasted : file).focus();
        return;
      }
      const json = text.trim().startsWith("{");
      say(region, form.dataset.method === "PUT" ? "Replacing…" : "Deploying…", false);
      const response = await fetch(form.dataset.packageUrl, {
        method: form.dataset.method || "POST",
        headers: {
          "Content-Type": json ? "application/cwl+json" : "application/cwl+yaml",
          Accept: "application/json",
        },
        body: text,
      });
      const body = await response.text();
      if (response.status === 201 && response.headers.get("Location")) {
        say(region, "Deployed; opening its page…", false);
        window.location.assign(response.headers.get("Location"));
      } else if (response.status === 204) {
        say(region, "Replaced; reloading…", false);
        window.location.reload();
      } else {
        say(region, problemText(response, body), true);
      }
    });
  }

  const undeploy = document.getElementById("undeploy");
  if (undeploy) {
    undeploy.addEventListener("click", async () => {
      if (!window.confirm("Undeploy process " + undeploy.dataset.processId + "?")) return;
      const region = document.getElementById("undeploy-status");
      const response = await fetch(undeploy.dataset.url, {
        method: "DELETE",
        headers: { Accept: "application/json" },
      });
      if (response.status === 204) {
        window.location.assign(undeploy.dataset.listUrl);
      } else {
        say(region, problemText(response, await response.text()), true);
      }
    });
  }
})();
