/* caserun — small progressive enhancements; every page works without them.
 *
 * - copy buttons (data-copy="element id")
 * - "select all" for the bulk-action checkboxes (data-select-all)
 * - live progress of a running launch from its server-sent events feed (data-live-launch)
 * - the delete button of a launch stays disabled until its name is typed (data-confirm-name);
 *   the server checks the name too
 *
 * Text from reports is only ever put into the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target) return;
        var text = target.textContent;
        var done = function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
        } else {
          fallbackCopy(text);
          done();
        }
      });
    });
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  function selectAll() {
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      var form = box.form;
      box.addEventListener("change", function () {
        form.querySelectorAll('input[name="case_run_id"]').forEach(function (one) { one.checked = box.checked; });
      });
    });
  }

  // -- live launch --------------------------------------------------------------------

  var RING = 100.53;

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge badge-" + status;
    span.textContent = status;
    return span;
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    var s = Math.floor(ms / 1000);
    if (s < 60) return (ms < 1000 ? (ms / 1000).toFixed(ms < 100 ? 2 : 1) : String(s)) + "s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m " + (s % 60) + "s";
    var h = Math.floor(m / 60);
    if (h < 24) return h + "h " + (m % 60) + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  function setText(root, selector, text) {
    var el = root.querySelector(selector);
    if (el) el.textContent = text;
  }

  function liveLaunch() {
    var section = document.querySelector("[data-live-launch]");
    if (!section || !window.EventSource) return;
    var launchId = section.getAttribute("data-live-launch");
    var started = Date.parse(section.getAttribute("data-started"));
    var table = document.querySelector("table.runs");
    var tbody = table ? table.querySelector("tbody") : null;
    var append = table && table.getAttribute("data-live-rows") === "append";
    var note = section.querySelector("[data-live-note]");
    var source = new EventSource("/api/v1/launches/" + launchId + "/stream");

    function progress(data) {
      var s = data.summary;
      ["total", "passed", "failed", "skipped", "blocked", "running"].forEach(function (k) {
        setText(section, '[data-stat="' + k + '"]', String(s[k]));
      });
      setText(section, '[data-stat="pass_rate"]', s.pass_rate === null ? "–" : s.pass_rate.toFixed(1) + "%");
      setText(section, "[data-progress]", data.progress.toFixed(1) + "%");
      var fill = section.querySelector(".ring-fill");
      if (fill) {
        var dash = RING * data.progress / 100;
        fill.setAttribute("stroke-dasharray", dash.toFixed(2) + " " + (RING - dash).toFixed(2));
      }
      var eta = section.querySelector("[data-eta]");
      if (eta) {
        var done = s.total - s.running;
        var elapsed = Date.now() - started;
        if (s.running === 0) eta.textContent = "nothing running";
        else if (done > 0 && elapsed > 0) eta.textContent = "about " + duration(elapsed / done * s.running) + " left";
      }
      var status = document.getElementById("launch-status");
      if (status && data.status) {
        status.textContent = "";
        status.appendChild(badge(data.status));
      }
    }

    function row(run) {
      if (!tbody) return;
      var tr = tbody.querySelector('tr[data-run-id="' + run.id + '"]');
      if (!tr) {
        if (!append || !run.is_final) return;
        tr = document.createElement("tr");
        tr.setAttribute("data-run-id", String(run.id));
        var pick = document.createElement("td");
        pick.className = "pick";
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = "case_run_id";
        box.value = String(run.id);
        box.setAttribute("aria-label", "Select " + run.full_name);
        pick.appendChild(box);
        var statusCell = document.createElement("td");
        statusCell.setAttribute("data-cell", "status");
        var name = document.createElement("td");
        var link = document.createElement("a");
        link.href = "/case-runs/" + run.id;
        link.textContent = run.full_name;
        name.appendChild(link);
        var suite = document.createElement("td");
        suite.className = "muted";
        suite.textContent = run.suite || "–";
        var dur = document.createElement("td");
        dur.className = "num";
        dur.setAttribute("data-cell", "duration");
        var attempts = document.createElement("td");
        attempts.className = "num";
        attempts.textContent = String(run.attempts || 1);
        tr.append(pick, statusCell, name, suite, dur, attempts, document.createElement("td"));
        tbody.appendChild(tr);
        table.hidden = false;
        var empty = document.querySelector("[data-empty]");
        if (empty) empty.hidden = true;
      }
      var cell = tr.querySelector('[data-cell="status"]');
      cell.textContent = "";
      cell.appendChild(badge(run.status));
      setText(tr, '[data-cell="duration"]', duration(run.duration_ms));
      tr.classList.add("just-changed");
    }

    source.addEventListener("progress", function (e) { progress(JSON.parse(e.data)); });
    source.addEventListener("case_run", function (e) { row(JSON.parse(e.data)); });
    source.addEventListener("end", function (e) {
      progress(JSON.parse(e.data));
      source.close();
      if (note) {
        note.hidden = false;
        note.textContent = "This launch has finished. Reload the page for its comparison and failure patterns.";
      }
    });
  }

  function confirmName() {
    document.querySelectorAll("form[data-confirm-name]").forEach(function (form) {
      var wanted = form.getAttribute("data-confirm-name").trim();
      var input = form.querySelector("input[name=confirm]");
      var button = form.querySelector("[data-confirm-button]");
      if (!input || !button) return;
      var check = function () { button.disabled = input.value.trim() !== wanted; };
      input.addEventListener("input", check);
      check();
    });
  }

  // manual execution: j / k or the arrow keys move between tests (not while typing);
  // files pasted or dropped on the form join its file input
  function manualRun() {
    var form = document.querySelector("form.manual-form");
    var prev = document.querySelector("a[data-nav=prev]");
    var next = document.querySelector("a[data-nav=next]");
    if (!form && !prev && !next) return;
    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      var tag = (e.target && e.target.tagName) || "";
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
      var link = (e.key === "j" || e.key === "ArrowRight") ? next : (e.key === "k" || e.key === "ArrowLeft") ? prev : null;
      if (link) { e.preventDefault(); window.location.assign(link.href); }
    });
    var input = form && form.querySelector("input[type=file]");
    if (!input || typeof DataTransfer === "undefined") return;
    var add = function (files) {
      if (!files || !files.length) return false;
      var all = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
      Array.prototype.forEach.call(files, function (f) { all.items.add(f); });
      input.files = all.files;
      return true;
    };
    form.addEventListener("paste", function (e) { if (add(e.clipboardData && e.clipboardData.files)) e.preventDefault(); });
    form.addEventListener("dragover", function (e) { e.preventDefault(); });
    form.addEventListener("drop", function (e) { if (add(e.dataTransfer && e.dataTransfer.files)) e.preventDefault(); });
  }

  function start() {
    copyButtons();
    selectAll();
    liveLaunch();
    confirmName();
    manualRun();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
