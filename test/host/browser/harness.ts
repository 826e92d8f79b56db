// Runs a bundled module in headless Chromium, on the main thread and in a module Worker, and
// returns what it printed with console.log. The bundles are made by esbuild from the sources (no
// stubs, no defines), served from 127.0.0.1, and the browser is the machine's Chromium.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const CANDIDATES = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/lib/chromium/chromium"];

/** The Chromium binary to drive, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

/** Bundles `entry` as one ES module for the browser (or Node, to compare). */
export async function bundle(
  entry: string,
  alias: Record<string, string> = {},
  platform: "browser" | "node" = "browser",
): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform,
    target: "es2022",
    write: false,
    alias,
    logLevel: "silent",
  });
  return r.outputFiles[0].text;
}

// Collects console.log output as one string per call, the way Node prints the arguments.
const CAPTURE = `
if (!globalThis.__lines) {
  const fmt = (v) => typeof v === "bigint" ? v + "n" : String(v);
  globalThis.__lines = [];
  const log = console.log.bind(console);
  console.log = (...a) => { const s = a.map(fmt).join(" "); globalThis.__lines.push(s); log(s); };
}
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>hmmsim</title><script type="module">
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
const mode = new URLSearchParams(location.search).get("mode");
if (mode === "worker") {
  const w = new Worker("/worker.js", { type: "module" });
  w.onmessage = (e) => { window.__result = e.data; };
  w.onerror = (e) => { window.__result = { lines: [], error: String(e.message) }; };
} else {
  try { await import("/main.js"); window.__result = { lines: globalThis.__lines }; }
  catch (e) { window.__result = { lines: globalThis.__lines || [], error: String(e && e.stack || e) }; }
}
</script>`;

export interface BrowserRun {
  lines: string[];
  error?: string;
  consoleErrors: string[];
}

/** Serves the bundle and runs it in `mode` ("main" thread or module "worker"). */
export async function runInChromium(code: string, modes: ("main" | "worker")[]): Promise<Record<string, BrowserRun>> {
  const main = `${CAPTURE}\n${code}`;
  const worker = `${CAPTURE}\ntry { await import("/main.js"); postMessage({ lines: globalThis.__lines }); }
catch (e) { postMessage({ lines: globalThis.__lines, error: String(e && e.stack || e) }); }`;
  const files: Served = {
    "/": ["text/html", PAGE],
    "/main.js": ["text/javascript", main],
    "/worker.js": ["text/javascript", worker],
  };
  return withBrowser(files, async (browser, port) => {
    const out: Record<string, BrowserRun> = {};
    for (const mode of modes) {
      const page = await browser.newPage();
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      page.on("pageerror", (e) => consoleErrors.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/?mode=${mode}`);
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, {
        timeout: 30_000,
      });
      const r = await page.evaluate(
        () => (window as unknown as { __result: { lines: string[]; error?: string } }).__result,
      );
      out[mode] = { ...r, consoleErrors };
      await page.close();
    }
    return out;
  });
}

/** A file served to the browser: its content type and text. */
export type Served = Record<string, [contentType: string, body: string]>;

/**
 * Serves `files` from 127.0.0.1, opens `page` in Chromium, waits until the element `#out` no longer
 * reads "running…", and returns its text with the console errors of the page.
 */
export async function runPage(files: Served, page: string): Promise<{ text: string; consoleErrors: string[] }> {
  return withBrowser(files, async (browser, port) => {
    const tab = await browser.newPage();
    const consoleErrors: string[] = [];
    tab.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    tab.on("pageerror", (e) => consoleErrors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${port}${page}`);
    await tab.waitForFunction(() => document.getElementById("out")?.textContent !== "running…", null, {
      timeout: 30_000,
    });
    const text = await tab.evaluate(() => document.getElementById("out")?.textContent ?? "");
    return { text, consoleErrors };
  });
}

/** Serves `files` on a free port of 127.0.0.1, runs `f` with a launched Chromium, then stops both. */
async function withBrowser<T>(files: Served, f: (browser: Browser, port: number) => Promise<T>): Promise<T> {
  const server: Server = createServer((req, res) => {
    const file = files[(req.url ?? "/").split("?")[0]];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file[0] }).end(file[1]);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    return await f(browser, port);
  } finally {
    await browser?.close();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
}
