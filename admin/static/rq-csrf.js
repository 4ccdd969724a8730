// rq-dashboard's buttons post with jQuery: every such request carries the admin session's CSRF token.
(function ($) {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    $.ajaxSetup({ headers: { "X-CSRF-Token": meta.getAttribute("content") } });
  }
})(window.jQuery);
