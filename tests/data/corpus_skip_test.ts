/**
 * Real folders train (issue 15, point 6): walking `data.paths`, dangling links, unreadable entries, special files,
 * binary files and empty files are skipped and counted in one warning line; only "no usable text at all" is an
 * error. The folder is built here, with the case the issue quotes: a dangling `libpython3.11.so` link.
 *
 * @module
 */
import { join } from "node:path";
import { loadCorpus, skippedSummary } from "../../lib/data/corpus.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";

const TEXT = "export function add(a: number, b: number): number {\n  return a + b;\n}\n".repeat(40);

/** A source folder as found on a real machine: text files among links, devices, binaries and empty files. */
async function messyFolder(): Promise<{ dir: string; unreadable: boolean }> {
  const dir = await Deno.makeTempDir({ prefix: "lcm-messy-" });
  await Deno.writeTextFile(join(dir, "a.ts"), TEXT);
  await Deno.mkdir(join(dir, "lib"));
  await Deno.writeTextFile(join(dir, "lib", "b.ts"), TEXT.replaceAll("add", "sub"));
  await Deno.writeTextFile(join(dir, "lib", "c.ts"), TEXT.replaceAll("add", "mul"));
  await Deno.symlink(join(dir, "gone", "libpython3.11.so.1.0"), join(dir, "lib", "libpython3.11.so"));
  await Deno.writeFile(join(dir, "lib", "module.so"), new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]));
  await Deno.writeTextFile(join(dir, "lib", "__init__.py"), "");
  await Deno.symlink(join(dir, "lib"), join(dir, "lib-link")); // a link to a folder: not followed
  // a special file (a character device) reached through a link; reading one could block forever
  await Deno.symlink("/dev/null", join(dir, "lib", "null-device"));
  const secret = join(dir, "lib", "secret.ts");
  await Deno.writeTextFile(secret, TEXT);
  await Deno.chmod(secret, 0o000);
  // root reads a file whatever its mode: then it is a text file like the others
  const unreadable = await Deno.readFile(secret).then(() => false, () => true);
  return { dir, unreadable };
}

Deno.test("data.paths: a folder with a dangling link, a device, binary, empty and unreadable files loads its text", async () => {
  const { dir, unreadable } = await messyFolder();
  try {
    const c = await loadCorpus({ corpus: "code", paths: [dir], valFraction: 0.34 });
    const expected = ["a.ts", "lib/b.ts", "lib/c.ts", ...(unreadable ? [] : ["lib/secret.ts"])];
    assertEquals(c.files.map((f) => f.slice(dir.length + 1)), expected);
    const reasons = Object.fromEntries(c.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    assertEquals(reasons, {
      "lib/libpython3.11.so": "dangling link",
      "lib/module.so": "binary",
      "lib/__init__.py": "empty",
      "lib/null-device": "special file",
      "lib-link": "link to a folder",
      ...(unreadable ? { "lib/secret.ts": "unreadable" } : {}),
    });
    const line = skippedSummary(c.skipped)!;
    const n = unreadable ? 6 : 5;
    assertTrue(line.startsWith(`skipped ${n} entries: `), line);
    for (const part of ["1 dangling link", "1 binary", "1 empty", "1 special file", "1 link to a folder"]) {
      assertTrue(line.includes(part), `"${part}" in: ${line}`);
    }
    assertTrue(line.includes(`first: ${c.skipped[0].path} (${c.skipped[0].reason})`), line);
    assertEquals(skippedSummary([]), null);
  } finally {
    await Deno.chmod(join(dir, "lib", "secret.ts"), 0o644);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data.paths: a folder with no usable text is the one error, and it says what was skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lcm-empty-" });
  try {
    await Deno.writeTextFile(join(dir, "empty.txt"), "");
    await Deno.symlink(join(dir, "nowhere"), join(dir, "dangling"));
    const e = await assertRejects(() => loadCorpus({ corpus: "code", paths: [dir], valFraction: 0.1 }));
    assertTrue(/no text files found under/.test(e.message), e.message);
    assertTrue(/skipped 2 entries: 1 dangling link, 1 empty/.test(e.message), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the runner trains on such a folder and warns once with the skipped entries", async () => {
  const { dir } = await messyFolder();
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  try {
    const config = loadConfig({
      path: "configs/tiny.jsonc",
      sets: [`data.paths=["${dir}"]`, `run.out_dir=${out}`, "train.max_steps=2", "train.eval_interval=2"],
    }).config;
    const warnings: string[] = [];
    const r = await runExperiment({ config, noReport: true, info: () => {}, warn: (l) => warnings.push(l) });
    assertEquals(r.step, 2);
    const skips = warnings.filter((w) => w.includes("skipped"));
    assertEquals(skips.length, 1, warnings.join("\n"));
    assertTrue(skips[0].startsWith("warning: data.paths: skipped "), skips[0]);
  } finally {
    await Deno.chmod(join(dir, "lib", "secret.ts"), 0o644);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
