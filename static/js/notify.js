// 通知设置: this phone's Web Push subscription, through the app's service worker (/sw.js).
// The page is opened without htmx (its links say hx-boost="false"), so this runs on every visit.
(function () {
  var box = document.getElementById("push");
  if (!box) return;
  var state = document.getElementById("push-state"), on = document.getElementById("push-on"),
      off = document.getElementById("push-off");
  var csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"];
  function say(text) { state.textContent = text; }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("这个浏览器不能接收手机推送（如微信内置浏览器）。提醒会发到群机器人。");
    return;
  }
  function applicationServerKey(text) {
    var raw = atob((text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                       headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}})
      .then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); return response; });
  }
  function shown(button, visible) { button.style.display = visible ? "" : "none"; }
  function show(registration, subscription) {
    document.getElementById("push-actions").hidden = false;
    shown(on, !subscription && Notification.permission !== "denied");
    shown(off, !!subscription);
    if (subscription) say("这部手机已开启通知。");
    else if (Notification.permission === "denied") say("通知被浏览器阻止了：请在浏览器的网站设置里允许本站通知。");
    else say("这部手机还没有开启通知。");
    on.onclick = function () {
      on.disabled = true;
      registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: applicationServerKey(box.dataset.vapidKey)})
        .then(function (made) { return post(box.dataset.subscribe, made.toJSON()).then(function () { show(registration, made); }); })
        .catch(function () { say(Notification.permission === "denied" ? "没有开启：通知被拒绝。" : "没有开启：浏览器未能连上推送服务，请稍后再试。"); })
        .then(function () { on.disabled = false; });
    };
    off.onclick = function () {
      registration.pushManager.getSubscription().then(function (current) {
        if (!current) return show(registration, null);
        return post(box.dataset.unsubscribe, {endpoint: current.endpoint}).then(function () { return current.unsubscribe(); })
          .then(function () { show(registration, null); });
      }).catch(function () { say("没能关闭，请稍后再试。"); });
    };
  }
  navigator.serviceWorker.register("/sw.js").then(function () { return navigator.serviceWorker.ready; })
    .then(function (registration) {
      return registration.pushManager.getSubscription().then(function (subscription) {
        // The server's copy is refreshed: a browser may have renewed its keys.
        if (subscription) post(box.dataset.subscribe, subscription.toJSON()).catch(function () {});
        show(registration, subscription);
      });
    }).catch(function () { say("这个浏览器现在不能开启通知。"); });
})();
