// Bundles the agent process entry (dist/agent-main.js, compiled by tsc -b) into bundle/ with
// esbuild, and writes bundle/manifest.json: the files it was made from, so bin/tsnet-agent.mjs
// runs the bundle only while it is current. Part of `npm run build`.
//
// Lazily loaded parts stay lazy (ESM code splitting: the Docker plugin, IPAM, ...); etcd3 (the
// gRPC fallback client) and execa are left to node_modules: they are loaded rarely, and etcd3's
// protobuf code loads files by path at run time.
import { writeFileSync, rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = resolve(root, 'bundle');
rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
const result = await build({
  entryPoints: [resolve(root, 'dist/agent-main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['etcd3', 'execa'],
  // CommonJS dependencies call require() for Node's built-ins; an ESM bundle has none of its own
  banner: {
    js: "import { createRequire as __tsnetCreateRequire } from 'node:module'; const require = __tsnetCreateRequire(import.meta.url);",
  },
  // smaller source text held in the heap for lazy compilation; names kept for stack traces.
  // TSNET_BUNDLE_PLAIN=1: not minified, so a CPU profile's line numbers can be read directly
  minifyWhitespace: !process.env.TSNET_BUNDLE_PLAIN,
  minifySyntax: !process.env.TSNET_BUNDLE_PLAIN,
  keepNames: true,
  // for reading a stack trace back to the sources (not loaded unless --enable-source-maps)
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).map((f) => relative(outdir, resolve(process.cwd(), f)));
writeFileSync(resolve(outdir, 'manifest.json'), JSON.stringify({ inputs }, null, 1) + '\n');
const code = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.mjs'));
const bytes = code.reduce((a, [, o]) => a + o.bytes, 0);
console.log(
  `bundled the node agent: ${inputs.length} files → ${code.length} in ${relative(process.cwd(), outdir) || '.'} ` +
    `(${(bytes / 1e6).toFixed(1)} MB, ${Math.round(performance.now() - started)} ms)`,
);
