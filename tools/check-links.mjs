// Checks the Markdown files of the repository: every relative link resolves to a file or
// directory that git tracks, every `#anchor` to a heading of its target, and every path
// named in backticks (`tools/test.sh`, `deploy/site/`) exists. Prints each broken one and
// exits 1 if any.   node tools/check-links.mjs
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
const files = new Set(tracked);
const dirs = new Set(tracked.flatMap((f) => f.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
const exists = (p) => p === "" || files.has(p) || dirs.has(p.replace(/\/$/, ""));

// Paths in backticks under these folders are checked; build output and examples are not paths in the repo.
const CHECKED = /^(src|tests|tools|deploy|docs|www)\//;
// An Angular app's own files (docs/angular.md) are paths in that app, not here.
const NOT_IN_GIT = [/^src\/app\//, /^src\/main\.ts$/, /^tests\/e2e\/bench\/vendor\//, /^tests\/angular\/dist\//, /^tests\/.*\/node_modules\//];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
const anchors = new Map();
function anchorsOf(file) {
  if (!anchors.has(file)) {
    const seen = new Map();
    const set = new Set();
    let fence = false;
    for (const line of readFileSync(join(ROOT, file), "utf8").split("\n")) {
      if (line.startsWith("```")) fence = !fence;
      const m = !fence && /^#{1,6} (.+)$/.exec(line);
      if (!m) continue;
      const base = slug(m[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      set.add(n ? `${base}-${n}` : base);
    }
    anchors.set(file, set);
  }
  return anchors.get(file);
}

const broken = [];
for (const file of tracked.filter((f) => f.endsWith(".md") && !f.includes("node_modules/"))) {
  const text = readFileSync(join(ROOT, file), "utf8");
  let fence = false;
  text.split("\n").forEach((line, i) => {
    if (line.startsWith("```")) {
      fence = !fence;
      return;
    }
    if (fence) return;
    const where = `${file}:${i + 1}`;
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const to = path === "" ? file : normalize(join(dirname(file), path));
      if (to.startsWith("..")) broken.push(`${where}: ${target} leaves the repository`);
      else if (!exists(to)) broken.push(`${where}: ${target} does not exist`);
      else if (anchor !== undefined && to.endsWith(".md") && !anchorsOf(to).has(anchor)) broken.push(`${where}: ${target}: no such heading`);
    }
    for (const [, code] of line.matchAll(/`([^`\s]+)`/g)) {
      const path = code.replace(/[.,:;]$/, "");
      if (!CHECKED.test(path) || /[*{}<>…]/.test(path) || NOT_IN_GIT.some((re) => re.test(path))) continue;
      if (!exists(path)) broken.push(`${where}: \`${code}\` does not exist`);
    }
  });
}
for (const b of broken) console.error(b);
console.log(`links: ${broken.length ? `${broken.length} broken` : "every link and path resolves"} in ${tracked.filter((f) => f.endsWith(".md")).length} Markdown files`);
process.exit(broken.length ? 1 : 0);
