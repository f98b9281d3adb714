// kyso's page script: drag and drop onto the file chooser, and upload
// progress. The form works without it (a plain multipart POST).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload");
  var drop = document.getElementById("drop");
  var input = document.getElementById("files");
  var bar = document.getElementById("progress");
  if (!form || !drop || !input) { return; }
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
  });
  form.addEventListener("submit", function (e) {
    if (!window.XMLHttpRequest || !window.FormData || !bar) { return; }
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (p) {
      if (p.lengthComputable) { bar.value = Math.round(100 * p.loaded / p.total); }
    });
    xhr.addEventListener("load", function () {
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { bar.hidden = true; form.submit(); });
    xhr.send(new FormData(form));
  });
});
