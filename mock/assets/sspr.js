/* egresslab mock of the SSPR portal script */
(function () {
  "use strict";
  var canary = "__CANARY__";
  function ready() {
    var app = document.getElementById("app");
    // A page without a form to show, or one that gave up waiting for
    // this script, stays as it is.
    if (!app || window.ssprGaveUp) { return; }
    var fields = document.querySelectorAll('input[name="canary"]');
    for (var i = 0; i < fields.length; i++) { fields[i].value = canary; }
    var sww = document.getElementById("sww");
    if (sww) { sww.hidden = true; }
    var wait = document.getElementById("wait");
    if (wait) { wait.hidden = true; }
    app.hidden = false;
    document.documentElement.classList.remove("sspr-wait");
    // Focus: the form's error if there is one, else the first empty field.
    var target = document.getElementById("error");
    if (!target) {
      var inputs = app.querySelectorAll('input[type="text"], input[type="password"]');
      for (var j = 0; j < inputs.length && !target; j++) {
        if (!inputs[j].value) { target = inputs[j]; }
      }
    }
    if (target) { target.focus(); }
  }
  // A page the browser restores from its back/forward cache shows the
  // flow as it was: load it again, and the portal shows where it is now.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
