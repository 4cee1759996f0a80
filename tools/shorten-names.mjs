// Shortens the wasm's import and export names with binaryen (as Emscripten does for its
// production builds) and rewrites wasm-bindgen's `--target web` glue to match. The long
// hashed names (`__wbg_fetch_92e52c770c58ab3b`, …) cost about 2 KB gzipped in the wasm
// and again in the glue. Fails loudly if the glue does not have the expected shape, so
// a new wasm-bindgen cannot produce a package that breaks only at load time.
//
// usage: node shorten-names.mjs WASM_OPT WASM GLUE TYPES
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const [wasmOpt, wasmPath, gluePath, typesPath] = process.argv.slice(2);
const printed = execFileSync(
  wasmOpt,
  [wasmPath, "--minify-imports-and-exports-and-modules", "-o", wasmPath],
  { encoding: "utf8" },
);
const map = JSON.parse(printed.slice(printed.indexOf("{")));

const fail = (why) => {
  console.error(`shorten-names: ${why}`);
  process.exit(1);
};
const replaceOnce = (text, from, to) => {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) fail(`expected exactly one ${JSON.stringify(from)} in the glue`);
  return text.slice(0, at) + to + text.slice(at + from.length);
};

const module = new WebAssembly.Module(readFileSync(wasmPath));
const modules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
if (modules.size !== 1) fail(`expected one import module, found ${[...modules].join(", ")}`);
const [newModule] = modules;

let glue = readFileSync(gluePath, "utf8");
const oldModules = new Set(map.imports.map(([m]) => m));
if (oldModules.size !== 1) fail(`expected one import module in the map, found ${[...oldModules].join(", ")}`);
const [oldModule] = oldModules;
glue = replaceOnce(glue, `${JSON.stringify(oldModule)}: import0`, `${JSON.stringify(newModule)}: import0`);

for (const [, from, to] of map.imports) {
  glue = replaceOnce(glue, `        ${from}: function(`, `        ${JSON.stringify(to)}: function(`);
}

const exported = new Map(map.exports);
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (whole, name) => {
  const to = exported.get(name);
  if (to === undefined) fail(`the glue uses wasm.${name}, which the module does not export`);
  return `wasm[${JSON.stringify(to)}]`;
});
writeFileSync(gluePath, glue);

// init() and initSync() return the module's exports: their type names the new names.
const types = readFileSync(typesPath, "utf8");
const start = types.indexOf("export interface InitOutput {");
const end = types.indexOf("\n}", start);
if (start < 0 || end < 0) fail("no InitOutput interface in the types");
const output = types.slice(start, end).replace(/^(    readonly )([\w$]+):/gm, (whole, head, name) => {
  const to = exported.get(name);
  if (to === undefined) fail(`InitOutput names ${name}, which the module does not export`);
  return `${head}${JSON.stringify(to)}:`;
});
writeFileSync(typesPath, types.slice(0, start) + output + types.slice(end));
