// The execute form of a process page: reads each field by the kind the server drew it as,
// checks the values against the inputs' JSON Schemas (the ones of the process description,
// in each field's data-field), shows a message next to each field that fails, and sends
// the OGC execute request (Prefer: respond-async) only when every field passes; then it
// goes to the new job's page.
"use strict";

(function () {
  const form = document.getElementById("execute");
  if (!form) return;
  const status = document.getElementById("form-status");
  const preview = document.getElementById("request-preview");
  const fields = Array.from(form.querySelectorAll(".field[data-field]")).map((element) => ({
    element,
    spec: JSON.parse(element.dataset.field),
  }));

  const typeOf = (value) => {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
  };

  const matchesType = (value, type) => {
    const actual = typeOf(value);
    return actual === type || (type === "number" && actual === "integer");
  };

  // The messages of value against schema (a subset of JSON Schema: what our process
  // descriptions use, and the usual constraints a described input may carry).
  function check(value, schema) {
    if (!schema || typeof schema !== "object") return [];
    const branches = schema.oneOf || schema.anyOf;
    if (branches) {
      const passing = branches.filter((branch) => check(value, branch).length === 0);
      if (passing.length === 0) {
        return ["must be " + branches.map((b) => b.type || "a value").join(" or ")];
      }
      return [];
    }
    const errors = [];
    if (schema.type) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => matchesType(value, t))) {
        return ["must be " + (types.join(" or ") === "integer" ? "a whole number" : types.join(" or "))];
      }
    }
    if (schema.enum && !schema.enum.some((e) => e === value)) {
      errors.push("must be one of " + schema.enum.join(", "));
    }
    if (typeof value === "number") {
      if (schema.minimum !== undefined && value < schema.minimum) errors.push("must be at least " + schema.minimum);
      if (schema.maximum !== undefined && value > schema.maximum) errors.push("must be at most " + schema.maximum);
      if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) errors.push("must be more than " + schema.exclusiveMinimum);
      if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) errors.push("must be less than " + schema.exclusiveMaximum);
    }
    if (typeof value === "string") {
      if (schema.minLength !== undefined && value.length < schema.minLength) errors.push("must have at least " + schema.minLength + " characters");
      if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push("must have at most " + schema.maxLength + " characters");
      if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) errors.push("must match " + schema.pattern);
      if (schema.format === "uri" && !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value)) errors.push("must be a URL (https://…, s3://…)");
    }
    if (typeOf(value) === "object") {
      for (const name of schema.required || []) {
        if (!(name in value)) errors.push("needs '" + name + "'");
      }
      for (const [name, sub] of Object.entries(schema.properties || {})) {
        if (name in value) errors.push(...check(value[name], sub).map((m) => name + " " + m));
      }
    }
    if (Array.isArray(value)) {
      if (schema.minItems !== undefined && value.length < schema.minItems) errors.push("needs at least " + schema.minItems + " values");
      if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push("takes at most " + schema.maxItems + " values");
      value.forEach((v, i) => errors.push(...check(v, schema.items).map((m) => "value " + (i + 1) + " " + m)));
    }
    return errors;
  }

  // One control's value: {empty: true}, {error: "…"} or {value}.
  function read(control, spec) {
    const text = control.value;
    switch (spec.kind) {
      case "checkbox":
        if (!control.checked && !spec.required && !spec.hasDefault) return { empty: true };
        return { value: control.checked };
      case "number":
      case "integer":
        if (control.validity && control.validity.badInput) return { error: "is not a number" };
        if (text.trim() === "") return { empty: true };
        return { value: Number(text) };
      case "select":
        if (text === "") return { empty: true };
        return { value: (spec.schema.enum || []).find((e) => String(e) === text) ?? text };
      case "href":
        if (text.trim() === "") return { empty: true };
        return { value: { href: text.trim() } };
      case "union": {
        if (text === "") return { empty: true };
        const types = (spec.schema.oneOf || spec.schema.anyOf || []).map((b) => b.type);
        const number = Number(text);
        if (text.trim() !== "" && Number.isFinite(number) && (types.includes("number") || (types.includes("integer") && Number.isInteger(number)))) {
          return { value: number };
        }
        return { value: text };
      }
      case "json":
        if (text.trim() === "") return { empty: true };
        try {
          return { value: JSON.parse(text) };
        } catch (e) {
          return { error: "is not JSON (" + e.message + ")" };
        }
      default:
        if (text === "") return { empty: true };
        return { value: text };
    }
  }

  // The field's value for the request and its messages; undefined when left out.
  function collect(field, mark) {
    const { spec, element } = field;
    const controls = Array.from(element.querySelectorAll(".value"));
    const messages = [];
    const values = [];
    for (const control of controls) {
      const got = read(control, spec);
      let bad = [];
      if (got.error) bad = [got.error];
      else if (!got.empty) bad = check(got.value, spec.schema);
      if (mark) control.setAttribute("aria-invalid", bad.length ? "true" : "false");
      if (bad.length && spec.repeated) {
        const at = controls.indexOf(control) + 1;
        messages.push(...bad.map((m) => "value " + at + " " + m));
      } else {
        messages.push(...bad);
      }
      if (!got.empty && !got.error) values.push(got.value);
    }
    let value;
    if (spec.repeated) {
      if (values.length) value = values;
      const need = Math.max(spec.minItems || 0, spec.required ? 1 : 0);
      if (values.length < need) messages.push(need === 1 ? "is required" : "needs at least " + need + " values");
      if (spec.maxItems && values.length > spec.maxItems) messages.push("takes at most " + spec.maxItems + " values");
    } else {
      value = values[0];
      if (value === undefined && spec.required && !messages.length) messages.push("is required");
    }
    if (mark && messages.length) controls.forEach((c) => c.setAttribute("aria-invalid", "true"));
    return { value, messages };
  }

  function show(field, messages) {
    const error = document.getElementById("err-" + field.spec.id);
    const label = field.element.querySelector("label, legend");
    const name = label ? label.firstChild.textContent.trim() : field.spec.id;
    error.textContent = messages.length ? name + " " + messages.join("; ") + "." : "";
  }

  function request(showMessages) {
    const inputs = {};
    let firstBad = null;
    let bad = 0;
    for (const field of fields) {
      const mark = showMessages || Boolean(field.touched);
      const { value, messages } = collect(field, mark);
      if (mark) show(field, messages);
      if (messages.length) {
        bad += 1;
        firstBad = firstBad || field.element.querySelector(".value");
      } else if (value !== undefined) {
        inputs[field.spec.id] = value;
      }
    }
    return { body: { inputs }, bad, firstBad };
  }

  function refresh() {
    if (preview) preview.textContent = JSON.stringify(request(false).body, null, 2);
  }

  // Rows of a repeated field: add one (a copy of the last, emptied), remove one.
  function renumber(field) {
    const rows = Array.from(field.element.querySelectorAll(".row"));
    const title = field.element.querySelector("legend").firstChild.textContent.trim();
    rows.forEach((row, i) => {
      const control = row.querySelector(".value");
      control.id = "in-" + field.spec.id + "-" + i;
      control.setAttribute("aria-label", title + ", value " + (i + 1));
    });
    const add = field.element.querySelector("button.add");
    if (add) add.disabled = Boolean(field.spec.maxItems) && rows.length >= field.spec.maxItems;
  }

  for (const field of fields) {
    field.element.addEventListener("input", () => { field.touched = true; refresh(); });
    field.element.addEventListener("change", () => { field.touched = true; refresh(); });
    if (!field.spec.repeated) continue;
    const list = field.element.querySelector(".rows");
    field.element.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("add")) {
        const last = list.lastElementChild;
        const row = last.cloneNode(true);
        const control = row.querySelector(".value");
        if (control.type === "checkbox") control.checked = false;
        else control.value = "";
        control.removeAttribute("aria-invalid");
        list.appendChild(row);
        renumber(field);
        control.focus();
      } else if (button.classList.contains("remove")) {
        const row = button.closest(".row");
        if (list.children.length > 1) {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          next.querySelector(".value").focus();
        } else {
          const control = row.querySelector(".value");
          if (control.type === "checkbox") control.checked = false;
          else control.value = "";
          control.focus();
        }
        renumber(field);
      }
      refresh();
    });
    renumber(field);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { body, bad, firstBad } = request(true);
    refresh();
    if (bad) {
      status.innerHTML = "";
      const p = document.createElement("p");
      p.className = "problem";
      p.textContent = bad === 1 ? "One field needs fixing." : bad + " fields need fixing.";
      status.appendChild(p);
      if (firstBad) firstBad.focus();
      return;
    }
    const submit = document.getElementById("submit");
    submit.disabled = true;
    status.textContent = "Submitting…";
    try {
      const response = await fetch(form.dataset.executeUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Prefer: "respond-async" },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      let document_ = null;
      try { document_ = JSON.parse(text); } catch (e) { document_ = null; }
      const location = response.headers.get("Location");
      if (response.status === 201 && location) {
        status.textContent = "Job created; opening its page…";
        window.location.assign(location);
        return;
      }
      status.innerHTML = "";
      const p = document.createElement("p");
      if (response.ok) {
        p.textContent = "Answered without a job (synchronous execution):";
        const pre = document.createElement("pre");
        pre.className = "json";
        pre.textContent = document_ !== null ? JSON.stringify(document_, null, 2) : text;
        status.append(p, pre);
      } else {
        p.className = "problem";
        const title = document_ && document_.title ? document_.title : "Error";
        const detail = document_ && document_.detail ? ": " + document_.detail : "";
        p.textContent = response.status + " " + title + detail;
        status.appendChild(p);
      }
    } catch (e) {
      status.textContent = "The request failed: " + e.message;
    } finally {
      submit.disabled = false;
    }
  });

  refresh();
})();
