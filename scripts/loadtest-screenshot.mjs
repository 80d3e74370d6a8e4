// Screenshots a `rampart loadtest --report` page in Debian's Chromium once its
// charts are drawn: the image in docs/loadtest.md is made with
//   node scripts/loadtest-screenshot.mjs REPORT.html [docs/images/loadtest-report.png]
// Exits 1 when the page reports an error or the charts do not draw.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [report, out = "docs/images/loadtest-report.png"] = process.argv.slice(2);
if (!report) {
  console.error("usage: node scripts/loadtest-screenshot.mjs REPORT.html [OUT.png]");
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  await page.goto(pathToFileURL(resolve(report)).href);
  await page.waitForSelector("body[data-charts-ready='2']", { timeout: 30_000 });
  if (problems.length > 0) throw new Error(`the report page reported: ${problems.join("; ")}`);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
