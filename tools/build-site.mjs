// The landing page as deployed: www/ + the package's files under content-hashed names
// (pkg/NAME.HASH.EXT, served immutable), every reference to them rewritten, and a gzip and a
// brotli copy of each hashed file to upload with its Content-Encoding (docs/deploying.md).
//   node tools/build-site.mjs [--www www] [--pkg pkg] [--out target/site]
// Generic over the package: every top-level .js and .wasm of pkg/ is hashed, and a
// reference from one to another (the glue's to the .wasm, a loader's to the glue) is
// rewritten before the referring file is hashed, so a new wasm renames every file that
// leads to it. The page's own files keep their names (revalidated: `no-cache`).
// Hashed here, not by esbuild's `entryNames: "[name].[hash]"`: the glue names its wasm as
// `new URL("health_proxy_bg.wasm", import.meta.url)`, a reference esbuild does not follow
// (evanw/esbuild#795), so the wasm's new name must be written into the glue before the
// glue is hashed, whoever hashes it; esbuild would only replace the one sha256 line.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { encodings } from "./compress.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/** `name` as a whole file name inside text: not part of a longer name. */
const nameRe = (name, prefix = "") =>
  new RegExp(`(?<![\\w.-])(${prefix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")})${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-]|\\.\\w)`, "g");

/** Hashed names for the package's files: { original: hashed }, in dependency order. */
export function hashPackage(pkgDir, outDir) {
  const names = readdirSync(pkgDir).filter((n) => /\.(js|wasm)$/.test(n) && statSync(join(pkgDir, n)).isFile());
  const text = (n) => n.endsWith(".js");
  const refs = Object.fromEntries(names.map((n) => {
    const body = text(n) ? readFileSync(join(pkgDir, n), "utf8") : "";
    return [n, names.filter((m) => m !== n && nameRe(m).test(body))];
  }));
  const hashed = {};
  const files = [];
  while (Object.keys(hashed).length < names.length) {
    const ready = names.filter((n) => !(n in hashed) && refs[n].every((m) => m in hashed));
    if (ready.length === 0) throw new Error(`build-site: the package's files refer to each other in a cycle: ${names.filter((n) => !(n in hashed)).join(", ")}`);
    for (const n of ready) {
      let bytes = readFileSync(join(pkgDir, n));
      if (text(n)) {
        let body = bytes.toString("utf8");
        for (const m of refs[n]) body = body.replace(nameRe(m), (_, p) => p + hashed[m]);
        bytes = Buffer.from(body);
      }
      const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
      const ext = extname(n);
      hashed[n] = `${n.slice(0, -ext.length)}.${hash}${ext}`;
      const out = join(outDir, hashed[n]);
      writeFileSync(out, bytes);
      const { gz, br } = encodings(bytes);
      writeFileSync(`${out}.gz`, gz);
      writeFileSync(`${out}.br`, br);
      files.push({ name: hashed[n], raw: bytes.length, gz: gz.length, br: br.length });
    }
  }
  return { hashed, files };
}

/** Builds the site into `out`; returns what it wrote. */
export function buildSite({ www = join(ROOT, "www"), pkg = join(ROOT, "pkg"), out = join(ROOT, "target/site") } = {}) {
  rmSync(out, { recursive: true, force: true });
  cpSync(www, out, { recursive: true });
  mkdirSync(join(out, "pkg"), { recursive: true });
  const { hashed, files } = hashPackage(pkg, join(out, "pkg"));
  // The page's references: index.html's preloads, app.js's import ("pkg/NAME" anywhere).
  const rewritten = [];
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === "pkg" && dir === out ? [] : walk(join(dir, e.name))) : [join(dir, e.name)]));
  for (const file of walk(out).filter((f) => /\.(html|js|css|json)$/.test(f))) {
    const before = readFileSync(file, "utf8");
    let after = before;
    for (const [name, to] of Object.entries(hashed)) after = after.replace(nameRe(name, "pkg/"), (_, p) => p + to);
    if (after !== before) {
      writeFileSync(file, after);
      rewritten.push(relative(out, file));
    }
  }
  return { out, hashed, files, rewritten };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = buildSite({ www: arg("www", undefined), pkg: arg("pkg", undefined), out: arg("out", undefined) });
  for (const f of r.files) console.log(`site: pkg/${f.name} ${f.raw} B (${f.gz} B gzip, ${f.br} B brotli)`);
  console.log(`site: ${relative(process.cwd(), r.out) || "."}/ built; references rewritten in ${r.rewritten.join(", ") || "nothing"}`);
}
