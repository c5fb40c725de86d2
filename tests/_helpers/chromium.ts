/**
 * Headless Chromium for the browser tests: where it is (Debian's `chromium`), whether a test may run it, and the
 * flags of one page load with a fresh profile.
 *
 * @module
 */

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed and this process may run it. */
export function chromiumRunnable(): boolean {
  if (Deno.permissions.querySync({ name: "run", command: CHROMIUM }).state !== "granted") return false;
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Chromium's flags for one headless page load with the fresh profile folder `profile`. */
export function headless(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    `--user-data-dir=${profile}`,
  ];
}
