#!/usr/bin/env node
// Compiles src/*.sol with solc-js (npm "solc", version pinned in package-lock.json) and
// OpenZeppelin from node_modules into artifacts/<Name>.json (abi, bytecode, deployedBytecode).
// Every artifact records sha256 of the exact standard-JSON input, so a test can tell whether the
// committed artifacts were built from the committed sources.
//   node compile.js [outDir]     (default: artifacts)
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const solc = require("solc");

const here = __dirname;
const outDir = path.resolve(process.argv[2] || path.join(here, "artifacts"));
const srcDir = path.join(here, "src");
const names = fs.readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort();

const sources = {};
for (const f of names) sources[`src/${f}`] = { content: fs.readFileSync(path.join(srcDir, f), "utf8") };

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const imported = {};
function findImports(p) {
  const full = path.join(here, "node_modules", p);
  if (!fs.existsSync(full)) return { error: `not found: ${p}` };
  const content = fs.readFileSync(full, "utf8");
  imported[p] = content;
  return { contents: content };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) process.stderr.write(e.formattedMessage + "\n");
if (errors.length) process.exit(1);

// the hash covers our sources, every imported library file and the settings
const hash = crypto.createHash("sha256");
hash.update(JSON.stringify(input));
for (const p of Object.keys(imported).sort()) hash.update(p + "\0" + imported[p]);
const inputHash = hash.digest("hex");

fs.mkdirSync(outDir, { recursive: true });
let written = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  if (!file.startsWith("src/")) continue;
  for (const [name, c] of Object.entries(contracts)) {
    if (`src/${name}.sol` !== file) continue; // only the contract named after its file
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: solc.version(),
      inputHash,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    written++;
    const size = c.evm.deployedBytecode.object.length / 2;
    process.stderr.write(`${name}: ${size} bytes deployed${size > 24576 ? " (OVER the 24576 limit)" : ""}\n`);
  }
}
process.stderr.write(`wrote ${written} artifacts to ${outDir} (input ${inputHash.slice(0, 12)})\n`);
