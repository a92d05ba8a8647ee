// Sinergi: progressive enhancement only; every page works without this file.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // Copy buttons: whole ids, to paste into `sinergi alerts ack` or a report.
  document.addEventListener("click", function (e) {
    const button = e.target.closest("button.copy");
    if (!button) return;
    const text = button.dataset.copy;
    const label = button.textContent;
    const done = function () { button.textContent = "✓"; setTimeout(function () { button.textContent = label; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      const area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } catch (err) { /* nothing to do */ }
      area.remove(); done();
    }
  });

  // The live alert inbox: server-sent events add new alerts on top, update changed ones.
  const list = document.getElementById("alert-list");
  if (list && list.dataset.stream && window.EventSource) {
    const live = document.getElementById("live");
    const source = new EventSource(list.dataset.stream);
    const place = function (data, fresh) {
      const holder = document.createElement("tbody");
      holder.innerHTML = data.html.trim();
      const row = holder.firstElementChild;
      const old = document.getElementById("alert-" + data.id);
      if (old) { old.replaceWith(row); } else {
        const empty = list.querySelector("tr.empty");
        if (empty) empty.remove();
        list.insertBefore(row, list.firstElementChild);
      }
      if (fresh && !old) row.classList.add("fresh");  // sent again: not new
    };
    source.addEventListener("open", function () { if (live) live.hidden = false; });
    source.addEventListener("error", function () { if (live) live.hidden = true; });
    source.addEventListener("alert", function (e) { place(JSON.parse(e.data), true); });
    source.addEventListener("status", function (e) {
      const data = JSON.parse(e.data);
      if (document.getElementById("alert-" + data.id)) place(data, false);
    });
  }

  // The NIK checked as it is typed (posted, never in a URL).
  document.querySelectorAll("input[data-nik-check]").forEach(function (input) {
    const out = document.getElementById("e-" + input.name);
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(input.dataset.nikCheck, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ nik: input.value })
        }).then(function (r) { return r.json(); }).then(function (answer) {
          if (!out) return;
          out.textContent = answer.message || "";
          out.className = answer.ok === false ? "field-error" : (answer.ok ? "field-ok" : "field-error");
          input.closest(".field").classList.toggle("invalid", answer.ok === false);
        }).catch(function () { /* the server checks again on submit */ });
      }, 250);
    });
  });

  // Upload progress: the bar follows the job; the page reloads when a step ends.
  const progress = document.getElementById("upload-progress");
  if (progress && ["validating", "publishing"].indexOf(progress.dataset.phase) >= 0) {
    const bar = document.getElementById("bar");
    const count = document.getElementById("count");
    const poll = function () {
      fetch(progress.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          bar.value = s.percent; count.textContent = s.progress + " / " + s.total;
          if (s.phase !== progress.dataset.phase) { window.location.reload(); return; }
          setTimeout(poll, 400);
        }).catch(function () { setTimeout(poll, 1500); });
    };
    poll();
  }
})();
