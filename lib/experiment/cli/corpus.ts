/**
 * `deno task corpus <name>…` unpacks named corpora (`sotu`, `brown`, `kjv`) once into the local corpus folder
 * (`$LCM_DATA_DIR`, default `~/.cache/local-code-model/corpora`), where `data.corpus` finds them.
 * `deno task corpus --list` says what each is and whether it is installed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  corpusDir,
  installCorpus,
  isNamedCorpus,
  NAMED_CORPORA,
  namedCorpusFolder,
} from "../../data/corpora.ts";

const USAGE = `usage: deno task corpus <${Object.keys(NAMED_CORPORA).join("|")}>… | --list`;

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { list: { type: "boolean" }, help: { type: "boolean" } },
    });
  } catch (e) {
    console.error(`corpus: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || (!values.list && positionals.length === 0)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
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
  for (const name of positionals) {
    if (!isNamedCorpus(name)) {
      console.error(`corpus: unknown corpus "${name}"\n${USAGE}`);
      return 2;
    }
    try {
      await installCorpus(name, (line) => console.log(line));
    } catch (e) {
      console.error(`corpus ${name}: ${(e as Error).message} (nothing was changed in ${corpusDir(name)})`);
      return 1;
    }
  }
  return 0;
}

Deno.exit(await main(Deno.args));
