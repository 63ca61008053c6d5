/**
 * PDFs of the handouts through headless Chromium (npm `playwright-core` driving Debian's
 * `/usr/bin/chromium`, or `$KIT_CHROMIUM`): each page is opened offline, its figures drawn,
 * slider figures expanded into a grid of every step (`kitPreparePrint()` of the page script),
 * then printed on A4 with the print style sheet, the notebook's title and page numbers in the
 * footer.
 *
 * @module
 */
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** Chromium used for PDFs and the browser tests. */
export const CHROMIUM = Deno.env.get("KIT_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches headless Chromium with no network access it would start on its own. */
export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `pdf: ${CHROMIUM} not found; install Debian's chromium (apt-get install -y chromium) ` +
        "or set KIT_CHROMIUM to a Chromium binary",
    );
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--enable-unsafe-swiftshader",
    ],
  });
}

const FOOTER = `<div style="font: 8px system-ui, sans-serif; color: #6b7280; width: 100%;
  padding: 0 15mm; display: flex; justify-content: space-between;">
  <span class="title"></span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span>
</div>`;

/** The outcome of {@link writePdfs}. */
export interface PdfSummary {
  written: string[];
  errors: string[];
}

/**
 * Prints handout pages to `outDir/<page>.pdf`. A page that fails is reported; the others are
 * still printed. Pass `browser` to reuse a running Chromium.
 */
export async function writePdfs(
  pages: readonly string[],
  opts: { outDir: string; browser?: Browser },
): Promise<PdfSummary> {
  const out: PdfSummary = { written: [], errors: [] };
  if (pages.length === 0) return out;
  await Deno.mkdir(opts.outDir, { recursive: true });
  const browser = opts.browser ?? await launchChromium();
  try {
    // The width of A4 between the margins, so figures are drawn at the size they print.
    const context = await browser.newContext({ viewport: { width: 680, height: 1000 } });
    // Offline: only the page's own files.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      return url.startsWith("file://") || url.startsWith("data:")
        ? route.continue()
        : route.abort();
    });
    for (const path of pages) {
      const target = join(opts.outDir, basename(path).replace(/\.html$/, "") + ".pdf");
      const page = await context.newPage();
      try {
        await page.goto(`file://${await Deno.realPath(path)}`, { waitUntil: "load" });
        await page.waitForFunction(
          () =>
            [...document.querySelectorAll(".plot")].every((p) =>
              p.getAttribute("data-rendered") === "true"
            ),
          undefined,
          { timeout: 60_000 },
        );
        await page.evaluate(() =>
          // deno-lint-ignore no-explicit-any
          (window as any).kitPreparePrint ? (window as any).kitPreparePrint() : null
        );
        await page.evaluate(() => document.fonts.ready);
        await page.emulateMedia({ media: "print" });
        const bytes = await page.pdf({
          format: "A4",
          printBackground: true,
          displayHeaderFooter: true,
          headerTemplate: "<span></span>",
          footerTemplate: FOOTER,
          margin: { top: "14mm", bottom: "18mm", left: "15mm", right: "15mm" },
        });
        const tmp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
        await Deno.writeFile(tmp, bytes);
        await Deno.rename(tmp, target);
        out.written.push(target);
      } catch (e) {
        out.errors.push(`${path}: PDF failed: ${(e as Error).message.split("\n")[0]}`);
      } finally {
        await page.close();
      }
    }
    await context.close();
  } finally {
    if (!opts.browser) await browser.close();
  }
  return out;
}
