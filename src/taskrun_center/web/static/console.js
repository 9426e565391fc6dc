// TaskRun Center console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  var pollMs = parseInt(document.body.getAttribute("data-poll-ms") || "3000", 10);

  // "/" focuses the search box unless the user is already typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var target = document.querySelector("[data-shortcut='/']");
    if (target) {
      event.preventDefault();
      target.focus();
      target.select();
    }
  });

  // Forms with data-confirm ask before submitting (cancel a run).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Elapsed time of running runs, ticking every second.
  function formatElapsed(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }
  function tickElapsed() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed-since]").forEach(function (node) {
      var since = Date.parse(node.getAttribute("data-elapsed-since"));
      if (!isNaN(since)) node.textContent = formatElapsed(now - since) + " …";
    });
  }
  setInterval(tickElapsed, 1000);
  tickElapsed();

  function fetchLive(ids) {
    return fetch("/console/live/runs?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error("live update failed: " + response.status);
      return response.json();
    });
  }

  // Run list: replace the rows of pending and running runs with fresh ones.
  function pollRows() {
    var rows = document.querySelectorAll("tr[data-live]");
    if (!rows.length) return;
    var ids = Array.prototype.map.call(rows, function (row) { return row.getAttribute("data-run-id"); });
    fetchLive(ids).then(function (payload) {
      rows.forEach(function (row) {
        var state = payload.runs[row.getAttribute("data-run-id")];
        if (!state) return;
        var holder = document.createElement("tbody");
        holder.innerHTML = state.html;  // rendered and escaped by the server
        if (holder.firstElementChild) row.replaceWith(holder.firstElementChild);
      });
      tickElapsed();
    }).catch(function () { /* keep the last rows; try again at the next tick */ })
      .finally(function () { setTimeout(pollRows, pollMs); });
  }

  // Run detail: refresh the progress bar in place; reload the page when the status changes,
  // since items, metrics and errors are then worth reading again.
  function pollDetail(section) {
    var runId = section.getAttribute("data-run-id");
    var status = section.getAttribute("data-status");
    var progressSlot = section.querySelector("[data-live-progress]");
    function tick() {
      fetchLive([runId]).then(function (payload) {
        var state = payload.runs[runId];
        if (!state) return;
        if (state.status !== status) {
          window.location.reload();
          return;
        }
        if (progressSlot) progressSlot.innerHTML = state.progress_html;  // escaped by the server
        setTimeout(tick, pollMs);
      }).catch(function () { setTimeout(tick, pollMs * 2); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("tr[data-live]")) setTimeout(pollRows, pollMs);
    var detail = document.querySelector("[data-live-detail]");
    if (detail) setTimeout(function () { pollDetail(detail); }, pollMs);
  });
})();
