// Read an EPUB in the epub.js reading engine (paginated, one page at a time) inside headless
// Debian chromium, and print what a reader would see as JSON on stdout.
//
//   node tests/epubjs/read.mjs BOOK.epub OUTDIR
//
// Everything is served from a static server on 127.0.0.1; every other request is aborted (and
// reported), so the browser never reaches the network. Screenshots go to OUTDIR.
import { createServer } from "node:http";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const require = createRequire(join(repo, "package.json"));
const puppeteer = require("puppeteer-core");

const [epubPath, outDir] = process.argv.slice(2);
if (!epubPath || !outDir) {
  console.error("usage: node read.mjs BOOK.epub OUTDIR");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MAX_STEPS = 400;

const routes = {
  "/reader.html": [join(here, "reader.html"), "text/html; charset=utf-8"],
  "/lib/epub.js": [join(repo, "node_modules/epubjs/dist/epub.js"), "text/javascript"],
  "/lib/jszip.min.js": [join(repo, "node_modules/jszip/dist/jszip.min.js"), "text/javascript"],
  "/book.epub": [resolve(epubPath), "application/epub+zip"],
};

const server = createServer(async (req, res) => {
  const route = routes[new URL(req.url, "http://x").pathname];
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(route[0]);
    res.writeHead(200, { "content-type": route[1], "cache-control": "no-store" }).end(body);
  } catch (e) {
    res.writeHead(500).end(String(e));
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const origin = `http://127.0.0.1:${server.address().port}`;

// ---- functions evaluated in the page ------------------------------------------------------

// What the visible page shows: text and images whose boxes intersect the viewer, and whether
// the span with the Chinese name is on it.
function pageInfo() {
  const loc = window.rendition.currentLocation();
  const viewer = document.getElementById("viewer").getBoundingClientRect();
  const meets = (r, dx, dy) =>
    r.width > 0 && r.height > 0 &&
    r.left + dx < viewer.right - 1 && r.right + dx > viewer.left + 1 &&
    r.top + dy < viewer.bottom - 1 && r.bottom + dy > viewer.top + 1;
  let chars = 0, images = 0, text = "", cjk = null;
  for (const iframe of document.querySelectorAll("#viewer iframe")) {
    const box = iframe.getBoundingClientRect();
    const doc = iframe.contentDocument;
    if (!doc || !doc.body) continue;
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    const range = doc.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.data.trim()) continue;
      range.selectNodeContents(node);
      if ([...range.getClientRects()].some((r) => meets(r, box.left, box.top))) {
        chars += node.data.trim().length;
        if (text.length < 80) text += node.data.trim().slice(0, 80 - text.length) + " ";
      }
    }
    for (const img of doc.querySelectorAll("img, image, svg")) {
      if (meets(img.getBoundingClientRect(), box.left, box.top)) images += 1;
    }
    const span = [...doc.querySelectorAll("span")].find((s) => s.textContent.includes("雷军"));
    if (span) {
      const r = span.getBoundingClientRect();
      if (meets(r, box.left, box.top)) {
        cjk = { x: r.left + box.left, y: r.top + box.top, width: r.width, height: r.height };
      }
    }
  }
  return {
    href: loc.start.href,
    index: loc.start.index,
    page: loc.start.displayed.page,
    pages: loc.start.displayed.total,
    atStart: !!loc.atStart,
    atEnd: !!loc.atEnd,
    chars,
    images,
    text: text.trim(),
    cjk,
  };
}

// The cover image as laid out in the first section shown.
async function coverInfo() {
  const iframe = document.querySelector("#viewer iframe");
  const doc = iframe.contentDocument;
  const img = doc.querySelector("img") || doc.querySelector("image");
  if (!img) return { found: false };
  for (let i = 0; i < 100 && !(img.complete && img.naturalWidth > 0); i++) {
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const box = iframe.getBoundingClientRect();
  const r = img.getBoundingClientRect();
  const viewer = document.getElementById("viewer").getBoundingClientRect();
  const visW = Math.max(0, Math.min(r.right + box.left, viewer.right) - Math.max(r.left + box.left, viewer.left));
  const visH = Math.max(0, Math.min(r.bottom + box.top, viewer.bottom) - Math.max(r.top + box.top, viewer.top));
  const style = doc.defaultView.getComputedStyle(img);
  return {
    found: true,
    tag: img.tagName.toLowerCase(),
    role: img.getAttribute("role"),
    bodyType: doc.body.getAttributeNS("http://www.idpf.org/2007/ops", "type") || doc.body.getAttribute("epub:type"),
    naturalWidth: img.naturalWidth || 0,
    naturalHeight: img.naturalHeight || 0,
    width: r.width,
    height: r.height,
    visibleWidth: visW,
    visibleHeight: visH,
    visibility: style.visibility,
    display: style.display,
    opacity: style.opacity,
  };
}

// How much of a PNG (data URL) region is ink, i.e. clearly darker than the white page.
async function inkStats(dataUrl) {
  const img = new Image();
  img.src = dataUrl;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const lum = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    if (lum < 128) ink += 1;
    if (colours.size < 5000) colours.add((data[i] >> 3) * 1024 + (data[i + 1] >> 3) * 32 + (data[i + 2] >> 3));
  }
  return { pixels: data.length / 4, ink, colours: colours.size };
}

// ---- the run -------------------------------------------------------------------------------

const result = { origin, blockedRequests: [], consoleErrors: [], screenshots: {}, pages: [] };
const profile = await mkdtemp(join(tmpdir(), "epubjs-chromium-"));
let browser;
try {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-features=Translate,OptimizationHints,MediaRouter",
      // Anything not on the loopback goes to a closed port: belt and braces with the
      // request interception below.
      "--proxy-server=http://127.0.0.1:9",
      "--proxy-bypass-list=127.0.0.1",
      `--user-data-dir=${profile}`,
    ],
    defaultViewport: { width: 480, height: 720, deviceScaleFactor: 1 },
  });
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on("request", (req) => {
    const url = req.url();
    if (url.startsWith(origin + "/") || url.startsWith("blob:") || url.startsWith("data:")) {
      req.continue();
    } else {
      result.blockedRequests.push(url);
      req.abort();
    }
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") result.consoleErrors.push(`${msg.text()} ${msg.location().url || ""}`.trim());
  });
  page.on("pageerror", (err) => result.consoleErrors.push(String(err)));

  await page.goto(`${origin}/reader.html`, { waitUntil: "load" });
  await page.evaluate(() => window.rendition.display());
  await page.evaluate(() => document.fonts.ready);

  // (1) The cover.
  result.cover = { ...(await page.evaluate(pageInfo)), ...(await page.evaluate(coverInfo)) };
  const coverShot = join(outDir, "epubjs-cover.png");
  await page.screenshot({ path: coverShot });
  result.screenshots.cover = coverShot;
  result.cover.ink = await page.evaluate(inkStats, "data:image/png;base64," + (await page.screenshot({ encoding: "base64" })));

  // (2) Every page, one rendition.next() at a time; (3) the page with 雷军.
  for (let step = 0; step < MAX_STEPS; step++) {
    const info = await page.evaluate(pageInfo);
    // What is painted, independently of the DOM: dark pixels on the white page.
    const shotData = await page.screenshot({ encoding: "base64" });
    info.ink = (await page.evaluate(inkStats, "data:image/png;base64," + shotData)).ink;
    result.pages.push(info);
    if (!result.screenshots.chapter && info.page === 1 && /^Chapter\b/.test(info.text)) {
      const shot = join(outDir, "epubjs-chapter-opening.png");
      await writeFile(shot, Buffer.from(shotData, "base64"));
      result.screenshots.chapter = shot;
    }
    if (info.cjk && !result.cjk) {
      await page.evaluate(async () => {
        for (const iframe of document.querySelectorAll("#viewer iframe")) await iframe.contentDocument.fonts.ready;
      });
      const shot = join(outDir, "epubjs-chinese.png");
      await page.screenshot({ path: shot });
      result.screenshots.chinese = shot;
      const clip = {
        x: Math.max(0, info.cjk.x - 1),
        y: Math.max(0, info.cjk.y - 1),
        width: info.cjk.width + 2,
        height: info.cjk.height + 2,
      };
      const crop = await page.screenshot({ clip, encoding: "base64" });
      const ink = await page.evaluate(inkStats, "data:image/png;base64," + crop);
      // Which font really drew the glyphs: Chromium's own account, through the DevTools protocol.
      // (the element is looked up again in the new session: object ids belong to a session)
      const cdp = await page.createCDPSession();
      await cdp.send("DOM.enable");
      await cdp.send("CSS.enable");
      await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
      const { result: span } = await cdp.send("Runtime.evaluate", {
        expression: `[...document.querySelectorAll("#viewer iframe")]
          .flatMap((f) => [...f.contentDocument.querySelectorAll("span")])
          .find((s) => s.textContent.includes("雷军"))`,
      });
      const { nodeId } = await cdp.send("DOM.requestNode", { objectId: span.objectId });
      const { fonts } = await cdp.send("CSS.getPlatformFontsForNode", { nodeId });
      const { result: spanText } = await cdp.send("Runtime.callFunctionOn", {
        objectId: span.objectId,
        functionDeclaration: "function () { return this.textContent; }",
        returnByValue: true,
      });
      const faces = await page.evaluate(() => {
        const out = [];
        for (const iframe of document.querySelectorAll("#viewer iframe")) {
          for (const f of iframe.contentDocument.fonts) out.push({ family: f.family, status: f.status });
        }
        return out;
      });
      result.cjk = { page: result.pages.length - 1, href: info.href, text: spanText.value, rect: info.cjk, ink, fonts, faces };
      await cdp.detach();
    }
    if (info.atEnd) break;
    await page.evaluate(() => window.rendition.next());
  }
  result.steps = result.pages.length;
} catch (e) {
  result.error = String(e && e.stack ? e.stack : e);
} finally {
  if (browser) await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
process.exit(result.error ? 1 : 0);
