// Extracts the deploy recipe files from the README's "Deploying" and "Using it from
// Angular" sections, literally: each fenced block introduced by a line "File: `PATH`" is
// written to DIR/PATH, byte for byte.
//   node tests/tools/recipes.mjs DIR        (prints the paths it wrote)
// Used by the real-stack suite (tests/e2e/realstack.mjs) and the deploy check.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

const SECTIONS = ["Using it from Angular", "Deploying"];

/** { path: text } for every "File: `path`" + fenced block of the sections. */
export function recipes(readme = readFileSync(join(ROOT, "README.md"), "utf8")) {
  const files = {};
  for (const section of SECTIONS) {
    const start = readme.indexOf(`\n## ${section}\n`);
    if (start < 0) throw new Error(`README.md: no "## ${section}" section`);
    const end = readme.indexOf("\n## ", start + 1);
    collect(readme.slice(start, end < 0 ? undefined : end).split("\n"), files);
  }
  return files;
}

function collect(lines, files) {
  for (let i = 0; i < lines.length; i++) {
    const m = /^File: `([^`]+)`$/.exec(lines[i]);
    if (!m) continue;
    const path = normalize(m[1]);
    if (path.startsWith("..") || path.startsWith("/")) throw new Error(`README.md: File: \`${m[1]}\` leaves the directory`);
    let j = i + 1;
    while (j < lines.length && lines[j].trim() === "") j++;
    const fence = /^(`{3,})[\w-]*$/.exec(lines[j] ?? "");
    if (!fence) throw new Error(`README.md: File: \`${m[1]}\` is not followed by a fenced block`);
    const body = [];
    for (j++; j < lines.length && lines[j] !== fence[1]; j++) body.push(lines[j]);
    if (j >= lines.length) throw new Error(`README.md: the block of \`${m[1]}\` is not closed`);
    if (path in files) throw new Error(`README.md: File: \`${m[1]}\` appears twice`);
    files[path] = body.join("\n") + "\n";
    i = j;
  }
}

/** Writes them under `dir`; returns the paths. */
export function extract(dir) {
  const files = recipes();
  for (const [path, text] of Object.entries(files)) {
    const out = join(dir, path);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    if (text.startsWith("#!")) chmodSync(out, 0o755);
  }
  return Object.keys(files);
}

/** Fills `{{NAME}}` placeholders; an unknown one is an error, not a silent gap. */
export function render(text, vars, what = "template") {
  return text.replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (!(k in vars)) throw new Error(`${what}: unknown {{${k}}}`);
    return vars[k];
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node tests/tools/recipes.mjs DIR");
    process.exit(2);
  }
  for (const p of extract(dir)) console.log(join(dir, p));
}
