// numnet serve: the drawing pad, the API calls and the pictures. No libraries, nothing fetched
// from anywhere but this server.
"use strict";

const MAX_UPLOAD = 4 * 1024 * 1024;   // the server refuses larger bodies (413)
const INFERNO = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const state = { revision: 0, answered: 0, inFlight: false, pending: false, inked: false, photo: false, model: null };

// ---- colours -----------------------------------------------------------------------------
function ramp(t) {                       // t in [0, 1] -> [r, g, b] along the inferno stops
  t = Math.min(1, Math.max(0, t)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(t)), f = t - i;
  return INFERNO[i].map((c, k) => Math.round(c + f * (INFERNO[i + 1][k] - c)));
}

function diverging(v) {                  // v in [-1, 1] -> blue (−) / white (0) / red (+)
  const a = Math.min(1, Math.abs(v));
  return v >= 0 ? [255, Math.round(255 * (1 - a)), Math.round(255 * (1 - a))]
                : [Math.round(255 * (1 - a)), Math.round(255 * (1 - a)), 255];
}

// ---- the pad -------------------------------------------------------------------------------
function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  state.inked = false;
  state.photo = false;
  state.revision += 1;
  state.answered = state.revision;       // nothing to ask about a blank pad
  showEmpty();
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

let last = null;
pad.addEventListener("pointerdown", (e) => {
  if (state.photo) clearPad();
  pad.setPointerCapture(e.pointerId);
  last = point(e);
  stroke(last, last);
});
pad.addEventListener("pointermove", (e) => {
  if (!last) return;
  const p = point(e);
  stroke(last, p);
  last = p;
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { if (last) { last = null; ask(); } });
}

function stroke(a, b) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 18;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  if (a[0] === b[0] && a[1] === b[1]) {   // a dot (a zero-length line may draw nothing)
    ctx.fillStyle = "#fff";
    ctx.arc(a[0], a[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }
  state.inked = true;
  state.revision += 1;
  ask();                                 // update while drawing (one request at a time)
}

const SENT = 84;                         // the pad is sent reduced to 84×84: 4× the 20 px MNIST box,
const small = document.createElement("canvas");   // all its preparation keeps (a ninth of the pixels to parse)
small.width = small.height = SENT;
const smallCtx = small.getContext("2d", { willReadFrequently: true });

function padPixels() {                   // rows of grey levels, 0 = paper, 255 = ink
  smallCtx.imageSmoothingEnabled = true;
  smallCtx.imageSmoothingQuality = "high";
  smallCtx.drawImage(pad, 0, 0, SENT, SENT);
  const data = smallCtx.getImageData(0, 0, SENT, SENT).data;
  const rows = [];
  for (let y = 0; y < SENT; y++) {
    const row = new Array(SENT);
    for (let x = 0; x < SENT; x++) row[x] = data[4 * (y * SENT + x)];
    rows.push(row);
  }
  return rows;
}

// ---- talking to the server ----------------------------------------------------------------
async function ask() {
  if (!state.inked || (!state.inFlight && state.answered === state.revision)) {
    state.pending = false;               // nothing left to ask (a pointerup during the last request sets it)
    return;
  }
  if (state.inFlight) { state.pending = true; return; }
  const revision = state.revision;
  state.inFlight = true;
  state.pending = false;
  try {
    const body = JSON.stringify({ pixels: padPixels() });
    await post(body, "application/json", revision);
  } finally {
    state.inFlight = false;
    // ask again if the drawing changed while this request was out (its answer was for an older
    // drawing, or a stroke ended without a new request): the page settles on the latest drawing
    if (state.pending || state.answered !== state.revision) ask();
  }
}

async function post(body, contentType, revision) {
  try {
    const response = await fetch("/api/predict", { method: "POST", headers: { "Content-Type": contentType }, body });
    const result = await response.json();
    if (revision !== state.revision) return;          // the drawing changed meanwhile: a newer answer follows
    if (response.ok) render(result); else showError(result.error || response.statusText);
  } catch (err) {
    if (revision === state.revision) showError(t("no answer from the server ({error})", { error: err.message }));
  } finally {
    if (revision === state.revision) state.answered = revision;
  }
}

$("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  clearPad();
  if (file.size > MAX_UPLOAD) { showError(t("that file is over 4 MB")); return; }
  const revision = state.revision;
  state.answered = revision - 1;
  showPhoto(file);
  state.inFlight = true;
  try {
    await post(file, file.type || "application/octet-stream", revision);
  } finally {
    state.inFlight = false;
  }
});

function showPhoto(file) {               // the photo on the pad, as a preview
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.onload = () => {
    const f = Math.min(pad.width / img.width, pad.height / img.height);
    const w = img.width * f, h = img.height * f;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.drawImage(img, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    URL.revokeObjectURL(url);
  };
  img.src = url;
  state.photo = true;
}

// ---- showing the answer -------------------------------------------------------------------
function showEmpty() {
  $("prediction").textContent = "–";
  $("prediction").dataset.state = "empty";
  say(() => t("draw a digit"));
  drawBars(null);
}

function showError(message) {
  $("prediction").textContent = "?";
  $("prediction").dataset.state = "error";
  say(() => message);
  drawBars(null);
}

function render(r) {
  $("prediction").textContent = String(r.prediction);
  $("prediction").dataset.state = "ok";
  const p = (100 * r.probabilities[r.prediction]).toFixed(1);
  say(() => t("probability {p} %", { p }));
  drawBars(r.probabilities);
  drawImage($("seen"), [28, 28], r.preprocessed.flat().map((v) => v / 255), (t) => [255 * t, 255 * t, 255 * t]);
  drawLayers(r.activations || []);
  drawUnits(r.activations || []);
}

function drawBars(p) {
  const bars = $("bars");
  if (!bars.children.length) {
    for (let k = 0; k < 10; k++) {
      bars.insertAdjacentHTML("beforeend",
        `<div class="bar"><span class="label">${k}</span><span class="track"><span class="fill"></span></span><span class="value"></span></div>`);
    }
  }
  const best = p ? p.indexOf(Math.max(...p)) : -1;
  [...bars.children].forEach((row, k) => {
    const v = p && k < p.length ? p[k] : 0;
    row.querySelector(".fill").style.width = (100 * v).toFixed(1) + "%";
    row.querySelector(".value").textContent = p ? (100 * v).toFixed(1) + "%" : "";
    row.classList.toggle("best", k === best);
  });
}

function drawImage(canvas, [h, w], values, colour) {   // values: h*w numbers in [0, 1]
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  const img = g.createImageData(w, h);
  values.forEach((v, i) => {
    const [r, gr, b] = colour(v);
    img.data.set([r, gr, b, 255], 4 * i);
  });
  g.putImageData(img, 0, 0);
}

function grid(shape) {                  // how to lay one layer's output out as tiles
  if (shape.length === 3) return { tiles: shape[0], h: shape[1], w: shape[2] };
  if (shape.length === 2) return { tiles: 1, h: shape[0], w: shape[1] };
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 784) return { tiles: 1, h: 28, w: 28 };
  const w = n <= 32 ? n : Math.ceil(Math.sqrt(n * 4));
  return { tiles: 1, h: Math.ceil(n / w), w, cells: true, n };
}

function drawLayers(activations) {
  const box = $("layers");
  box.replaceChildren();
  for (const a of activations) {
    const flat = [a.values].flat(Infinity);
    let lo = flat.reduce((m, v) => Math.min(m, v), Infinity), hi = flat.reduce((m, v) => Math.max(m, v), -Infinity);
    if (!(hi > lo)) hi = lo + 1;
    const g = grid(a.shape);
    const cols = Math.ceil(Math.sqrt(g.tiles)), rows = Math.ceil(g.tiles / cols);
    const W = cols * (g.w + 1) - 1, H = rows * (g.h + 1) - 1;
    const canvas = document.createElement("canvas");
    canvas.width = W;
    canvas.height = H;
    const c = canvas.getContext("2d");
    const img = c.createImageData(W, H);
    for (let i = 0; i < img.data.length; i += 4) img.data.set([40, 40, 48, 255], i);
    flat.forEach((v, i) => {
      const t = Math.floor(i / (g.h * g.w)), r = i % (g.h * g.w);
      const x = (t % cols) * (g.w + 1) + (r % g.w), y = Math.floor(t / cols) * (g.h + 1) + Math.floor(r / g.w);
      img.data.set([...ramp((v - lo) / (hi - lo)), 255], 4 * (y * W + x));
    });
    c.putImageData(img, 0, 0);
    const scale = Math.max(1, Math.min(g.cells ? 12 : 6, Math.floor(240 / Math.max(W, H))));
    canvas.style.width = W * scale + "px";
    canvas.style.height = H * scale + "px";
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = `${a.layer} · ${a.type} (${a.shape.join("×")}) ${lo.toFixed(2)}…${hi.toFixed(2)}`;
    figure.append(canvas, caption);
    box.append(figure);
  }
}

function unitLayer(activations) {        // the output of the first hidden layer's activation
  const t = state.model && state.model.templates;
  if (!t) return null;
  const next = activations[t.layer + 1];
  return next && next.shape.length === 1 && next.shape[0] === t.units ? next : activations[t.layer];
}

function drawUnits(activations) {
  const h = unitLayer(activations);
  if (!h) return;
  const tiles = $("units").children;
  const top = Math.max(...h.values, 1e-9);
  h.values.forEach((v, j) => {
    if (!tiles[j]) return;
    tiles[j].classList.toggle("on", v > 0);
    tiles[j].style.setProperty("--level", Math.max(0, v) / top);
    tiles[j].querySelector("span").textContent = v.toFixed(2);
  });
}

function setupUnits(templates) {
  const box = $("units");
  templates.weights.forEach((w, j) => {
    const figure = document.createElement("figure");
    figure.className = "unit";
    figure.title = t("unit {j}", { j });
    const canvas = document.createElement("canvas");
    drawImage(canvas, [28, 28], w.flat().map((v) => v / 127), diverging);
    const value = document.createElement("span");
    figure.append(canvas, value);
    box.append(figure);
  });
  $("units-panel").hidden = false;
}

// ---- start ----------------------------------------------------------------------------------
async function start() {
  let remembered = null;
  try { remembered = localStorage.getItem("numnet-lang"); } catch (err) { /* private mode */ }
  await setLanguage(remembered);
  clearPad();
  $("clear").addEventListener("click", clearPad);
  try {
    const m = await (await fetch("/api/model")).json();
    state.model = m;
    showModel();
    if (m.templates) setupUnits(m.templates);
  } catch (err) {
    $("model-line").removeAttribute("data-i18n");
    $("model-line").textContent = t("cannot read /api/model: {error}", { error: err.message });
  }
}

function showModel() {
  const m = state.model;
  if (!m) return;
  $("model-line").removeAttribute("data-i18n");      // from now on it says the model, not "loading"
  const types = m.layers.filter((l) => l.parameters > 0).map((l) => l.type).join(", ");
  const acc = m.test_accuracy == null ? "" : t(", test accuracy {accuracy} %", { accuracy: (100 * m.test_accuracy).toFixed(2) });
  $("model-line").textContent = t("{name}: {layers} layers ({types}), {parameters} parameters", {
    name: m.name, layers: m.layers.length, types, parameters: m.num_parameters.toLocaleString("en") }) + acc;
}

// ---- language: English or Chinese, the words from numnet's catalog (GET /api/strings) -------------
const i18n = { lang: "en", strings: {} };

function t(message, values) {            // message in the page's language, {name} filled in from values
  const text = i18n.strings[message] || message;
  return values ? text.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all)) : text;
}

function say(text) {                     // the status line; said again when the language changes
  state.say = text;
  $("message").textContent = text();
}

async function setLanguage(lang) {       // lang: null asks the server (numnet serve --lang, else the browser's)
  try {
    const r = await (await fetch("/api/strings" + (lang ? "?lang=" + encodeURIComponent(lang) : ""))).json();
    i18n.lang = r.lang;
    i18n.strings = r.strings;
  } catch (err) {
    return;                              // the page stays as it is
  }
  document.documentElement.lang = i18n.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    if (!el.dataset.i18n) el.dataset.i18n = el.textContent.replace(/\s+/g, " ").trim();   // the English, once
    el.textContent = t(el.dataset.i18n);
  }
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === i18n.lang));
  if (state.say) $("message").textContent = state.say();
  showModel();
}

for (const b of document.querySelectorAll("[data-lang]")) {
  b.addEventListener("click", () => {
    try { localStorage.setItem("numnet-lang", b.dataset.lang); } catch (err) { /* private mode: not remembered */ }
    setLanguage(b.dataset.lang);
  });
}

// for tests and scripts: true once the answer on screen belongs to the current drawing
window.numnet = { settled: () => !state.inFlight && !state.pending && state.answered === state.revision, state };
start();
