/**
 * Reading a `--help` page in the CLI tests.
 *
 * @module
 */

/** The rows of a help page's `flags:` section (a row and its wrapped continuation lines joined). */
export function flagRows(page: string): string[] {
  const section = page.split("\n\nflags:\n")[1]?.split("\n\n")[0] ?? "";
  const rows: string[] = [];
  for (const line of section.split("\n")) {
    if (/^ {2}-/.test(line)) rows.push(line.trim());
    else if (rows.length > 0) rows[rows.length - 1] += " " + line.trim();
  }
  return rows;
}
