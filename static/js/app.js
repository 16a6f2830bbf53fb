// Small behaviours htmx doesn't cover. No inline scripts anywhere (the CSP forbids them).

// Weak signal. A form sent while the connection drops stays on the page as typed, with a note
// above it; sending it again can't make a second record (each form carries a one-time token).
// A patrol check (form[data-offline="check"]) is kept on the phone instead, with the time it was
// made, and sent by itself when the signal comes back; the server counts it for that time.
(function () {
  var KEY = "kefu-offline-checks";
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(list) { localStorage.setItem(KEY, JSON.stringify(list)); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(iso) { var d = new Date(iso); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function note(place, text, kind, id) {
    var el = document.getElementById(id);
    if (!el) {
      el = document.createElement("p");
      el.id = id;
      place.insertBefore(el, place.firstChild);
    }
    el.className = "flash " + kind;
    el.setAttribute("role", kind === "flash-error" ? "alert" : "status");
    el.textContent = text;
    return el;
  }
  function main() { return document.getElementById("main") || document.body; }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function keep(form) {
    var fields = [], dropped = 0, made = new Date().toISOString();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") fields.push([name, value]);
      else if (value && value.size) dropped += 1;
    });
    fields.push(["made_at", made]);
    var list = load();
    list.push({action: form.getAttribute("action"), fields: fields, name: form.dataset.name || "", made: made});
    save(list);
    var text = "没有信号：这次巡查（" + (form.dataset.name || "") + "，" + clock(made) + "）已保存在手机上，信号恢复后自动提交，按记录时间计入。";
    if (dropped) text += "还没上传的照片不能离线保存，提交后请在问题页补拍。";
    note(main(), text, "flash-info", "offline-note");
    window.scrollTo(0, 0);
  }
  var sending = false;
  function flush() {
    var list = load();
    if (!list.length) return;
    if (!navigator.onLine || sending) {
      note(main(), "手机上有 " + list.length + " 条离线巡查，信号恢复后自动提交。", "flash-info", "offline-note");
      return;
    }
    sending = true;
    var item = list[0], body = new URLSearchParams();
    item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    fetch(item.action, {method: "POST", body: body, credentials: "same-origin", headers: {"X-CSRFToken": csrf()}})
      .then(function (response) {
        sending = false;
        if (response.status === 400 || response.status === 401 || response.status === 403) {
          note(main(), "离线巡查还没提交：请先登录，登录后自动提交。", "flash-error", "offline-note");
          return;
        }
        if (response.status >= 500) throw new Error(String(response.status));
        save(load().filter(function (kept) { return kept.made !== item.made; }));
        if (response.ok) {
          note(main(), "已提交离线巡查：" + item.name + "（记录于 " + clock(item.made) + "）。", "flash-success", "offline-note");
          window.scrollTo(0, 0);
        } else {
          note(main(), "离线巡查 " + item.name + "（" + clock(item.made) + "）没能提交：已超过 24 小时或内容不完整，请重新巡查。", "flash-error", "offline-note");
        }
        flush();
      })
      .catch(function () {
        sending = false;
        note(main(), "手机上有 " + load().length + " 条离线巡查，信号恢复后自动提交。", "flash-info", "offline-note");
      });
  }
  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt, form = elt && elt.closest ? elt.closest("form") : null;
    if (form && form.dataset.offline === "check") { keep(form); return; }
    note(form || main(), "网络连接中断，内容没有提交。已填写的内容仍在页面上，信号恢复后请再点一次提交（不会重复记录）。",
         "flash-error", "send-error").scrollIntoView({block: "nearest"});
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var old = document.getElementById("send-error");
    if (old) old.remove();
  });
  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", flush);
  setInterval(flush, 60000);
})();

// Live countdowns: <span class="countdown" data-due="ISO"> shows 正常 / 即将超时 / 已超时.
(function () {
  function text(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 60) return minutes + " 分钟";
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 48) return rest ? hours + " 小时 " + rest + " 分" : hours + " 小时";
    return Math.floor(hours / 24) + " 天 " + (hours % 24) + " 小时";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      var state = left < 0 ? ["badge-late", "已超时", "超时 "] : left <= 15 * 60000 ? ["badge-warn", "即将超时", "剩 "] : ["badge-ok", "正常", "剩 "];
      el.classList.remove("badge-late", "badge-warn", "badge-ok");
      el.classList.add(state[0]);
      var word = el.querySelector("b"), rest = el.querySelector(".left");
      if (word) word.textContent = state[1];
      if (rest) rest.textContent = state[2] + text(left);
    });
  }
  setInterval(tick, 30000);
  document.addEventListener("htmx:afterSettle", tick);
})();

// Picking a resident fills the customer's name and phone (the server does the same without JS).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-fills]")) return;
  var option = select.options[select.selectedIndex];
  var prefix = select.dataset.fills;
  var name = document.getElementById(prefix + "_name"), phone = document.getElementById(prefix + "_phone");
  if (option && option.dataset.name !== undefined) {
    if (name) name.value = option.dataset.name;
    if (phone) phone.value = option.dataset.phone || "";
  }
});
