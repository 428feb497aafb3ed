// Shenbian's pages, a little livelier: parts marked `data-live` follow the caller's event
// stream (/live), and deadlines count down. Every page works without this script.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      if (!el.dataset.absolute) el.dataset.absolute = el.textContent;
      var left = Math.round((at - now) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.absolute + " (" + el.dataset.over + ")";
        el.classList.add("late");
        return;
      }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      var text = (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(s);
      el.textContent = el.dataset.absolute + " (" + el.dataset.countdown + " " + text + ")";
    });
  }

  var refreshing = false, again = false;

  // Reads the page again and swaps in its live parts, leaving forms being filled alone.
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        var actions = document.querySelector("section.actions"), next = doc.querySelector("section.actions");
        if (actions && next && !actions.contains(document.activeElement) && actions.innerHTML !== next.innerHTML) {
          actions.innerHTML = next.innerHTML;
        }
        document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
        tick();
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function listen() {
    if (!document.querySelector("[data-live]") || !window.EventSource) return;
    var timer = null;
    var source = new EventSource("/live");
    source.onmessage = function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    };
    // Whatever happened between this page's rendering and the stream's start.
    source.onopen = function () { document.body.dataset.live = "open"; refresh(); };
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    listen();
  });
})();
