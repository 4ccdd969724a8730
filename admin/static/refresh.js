// Keeps a page's [data-refresh-seconds] element current without a full reload.
//
// Every N seconds (the attribute's value, 15 when absent or unreadable) it fetches
// the page again, parses it and swaps in the element's new content; the rest of the
// page (header, forms, scroll position) stays as it is. While the tab is hidden it
// fetches nothing, and catches up as soon as the tab is shown again. A failed fetch
// (network, an answer other than 200, or the login page because the session ended)
// keeps the old content and says so in the [data-refresh-status] element.
// Loaded as a file of its own: the admin pages allow no inline script (CSP script-src 'self').
(function () {
  "use strict";

  var DEFAULT_SECONDS = 15;
  var target = document.querySelector("[data-refresh-seconds]");
  if (!target) {
    return;
  }
  var status = document.querySelector("[data-refresh-status]");
  var asked = parseInt(target.getAttribute("data-refresh-seconds"), 10);
  var period = (asked > 0 ? asked : DEFAULT_SECONDS) * 1000;
  var timer = null;
  var running = false; // a fetch is under way
  var lastUpdate = Date.now();

  function twoDigits(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clock(date) {
    return twoDigits(date.getHours()) + ":" + twoDigits(date.getMinutes()) + ":" + twoDigits(date.getSeconds());
  }

  function show(text, failed) {
    if (!status) {
      return;
    }
    status.textContent = text;
    status.classList.toggle("failed", failed);
  }

  function samePage(url) {
    var there = new URL(url, window.location.href);
    return there.origin === window.location.origin && there.pathname === window.location.pathname;
  }

  function fetchFresh() {
    return fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    }).then(function (response) {
      if (response.redirected && !samePage(response.url)) {
        var where = new URL(response.url, window.location.href).pathname;
        throw new Error(where.indexOf("/login") >= 0 ? "the session ended, log in again" : "redirected to " + where);
      }
      if (response.status !== 200) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var fresh = target.id ? page.getElementById(target.id) : page.querySelector("[data-refresh-seconds]");
      if (!fresh) {
        throw new Error("the answer has no part to refresh");
      }
      return fresh;
    });
  }

  function refresh() {
    return fetchFresh().then(
      function (fresh) {
        // Nodes of the parsed document are adopted into this one as they are moved; its scripts never run.
        target.replaceChildren.apply(target, Array.prototype.slice.call(fresh.childNodes));
        lastUpdate = Date.now();
        show("updated " + clock(new Date(lastUpdate)), false);
      },
      function (error) {
        show("refresh failed: " + (error && error.message ? error.message : String(error)), true);
      }
    );
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(tick, delay);
  }

  function tick() {
    timer = null;
    if (document.hidden) {
      return; // paused: visibilitychange starts it again
    }
    running = true;
    refresh().then(function () {
      running = false;
      schedule(period);
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden || timer !== null || running) {
      return;
    }
    schedule(Math.max(0, period - (Date.now() - lastUpdate))); // stale already: at once
  });

  schedule(period);
})();
