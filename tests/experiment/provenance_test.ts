/**
 * Provenance of library runs: `runExperiment` called from a project in another folder records the library
 * itself (name and version from its deno.json, its commit when its files are a git checkout, found from the
 * library's own location), the calling project's git state (the working directory's), and the runtime's
 * versions, read by the library itself.
 *
 * @module
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gitCommit } from "../../lib/experiment/provenance.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { ROOT } from "../_helpers/task.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";

Deno.test("runExperiment from another folder records the library's version and commit, the caller's git state and the runtime", async () => {
  const corpus = await makeCodeCorpus();
  const project = await Deno.makeTempDir({ prefix: "lcm-project-" });
  try {
    const lib = pathToFileURL(join(ROOT, "lib/experiment/mod.ts")).href;
    await writeFile(
      join(project, "train.ts"),
      `import { loadConfig, runExperiment } from "${lib}";
const { config } = loadConfig({
  path: ${JSON.stringify(join(ROOT, "configs/tiny.jsonc"))},
  sets: [${
        JSON.stringify(`data.paths=["${corpus}"]`)
      }, "run.out_dir=runs", "train.max_steps=2", "train.sample_tokens=0"],
});
const r = await runExperiment({ config, noReport: true, info: () => {} });
console.log(r.runDir);
`,
    );
    const out = await new Deno.Command("deno", {
      args: ["run", "-A", `--config=${join(ROOT, "deno.json")}`, "train.ts"],
      cwd: project,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    const runDir = join(project, dec.decode(out.stdout).trim().split("\n").at(-1)!);
    const m = JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8"));
    const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
    assertEquals(m.library.name, deno.name);
    assertEquals(m.library.version, deno.version);
    const inCheckout = await Deno.stat(join(ROOT, ".git")).then(() => true, () => false);
    if (inCheckout) assertTrue(/^[0-9a-f]{40}$/.test(m.library.commit), `library commit ${m.library.commit}`);
    else assertEquals(m.library.commit, null);
    assertEquals(m.git_commit, null, "the calling project (a temp folder) is not a git checkout");
    assertEquals(m.versions.deno, Deno.version.deno);
    assertEquals(m.versions.v8, Deno.version.v8);
  } finally {
    await rm(project, { recursive: true, force: true });
    await rm(corpus, { recursive: true, force: true });
  }
});

Deno.test("gitCommit: a checkout's subfolder, a branch in packed-refs, a worktree (.git file, commondir)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lcm-git-" });
  try {
    // main checkout: HEAD on a branch whose ref is packed
    const main = join(dir, "main"), git = join(main, ".git");
    await mkdir(join(main, "src", "deep"), { recursive: true });
    await mkdir(join(git, "refs", "heads"), { recursive: true });
    await writeFile(join(git, "HEAD"), "ref: refs/heads/dev\n");
    await writeFile(join(git, "packed-refs"), `# pack-refs with: peeled\n${SHA} refs/heads/dev\n`);
    assertEquals(await gitCommit(main), SHA);
    assertEquals(await gitCommit(join(main, "src", "deep")), SHA, "found from a subfolder");
    // a worktree: .git is a file naming its gitdir; refs live in the common dir
    const wt = join(dir, "wt"), wtGit = join(git, "worktrees", "wt");
    await mkdir(wtGit, { recursive: true });
    await mkdir(wt);
    await writeFile(join(wt, ".git"), `gitdir: ${wtGit}\n`);
    await writeFile(join(wtGit, "HEAD"), "ref: refs/heads/feature\n");
    await writeFile(join(wtGit, "commondir"), "../..\n");
    const other = SHA.replace(/0/g, "f");
    await writeFile(join(git, "refs", "heads", "feature"), other + "\n");
    assertEquals(await gitCommit(wt), other);
    assertEquals(await gitCommit(await Deno.makeTempDir()), null, "not a checkout");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
