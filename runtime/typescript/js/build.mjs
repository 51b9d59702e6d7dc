// Bundles an app's TypeScript handlers into one ES module with inline source maps, resolving
// every import of @liquidmetal-ai/raindrop-framework to the runtime's stand-in.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const FRAMEWORK = /^@liquidmetal-ai\/raindrop-framework(\/.*)?$/;

export async function build({ esbuild, root, entries, cors, out }) {
  const { build: run } = createRequire(path.join(esbuild, 'package.json'))(esbuild);
  const lines = [];
  const names = [];
  entries.forEach(([name, file], index) => {
    lines.push(`import * as m${index} from ${JSON.stringify(file)};`);
    names.push(`${JSON.stringify(name)}: m${index}`);
  });
  lines.push(`export const modules = {${names.join(', ')}};`);
  if (cors) { // read by name from the namespace: a file without a `cors` export still bundles
    lines.push(`import * as appCors from ${JSON.stringify(cors)};`);
    lines.push(`export const cors = appCors.cors; export const corsExports = Object.keys(appCors);`);
  }
  const framework = {
    name: 'raindrop-framework',
    setup(b) {
      b.onResolve({ filter: FRAMEWORK }, (args) => {
        const sub = args.path.replace('@liquidmetal-ai/raindrop-framework', '').replace(/^\//, '') || 'index';
        return { path: path.join(here, 'framework', sub.replace(/\.js$/, '') + '.js') };
      });
    },
  };
  await run({
    stdin: { contents: lines.join('\n'), resolveDir: root, sourcefile: 'raindrop-entry.js', loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    outfile: `${out}.${process.pid}.tmp`,
    logLevel: 'silent',
    plugins: [framework],
    banner: { js: `import { createRequire as __raindropRequire } from 'node:module'; const require = __raindropRequire(${JSON.stringify(pathToFileURL(path.join(root, 'package.json')).href)});` },
    nodePaths: [path.join(root, 'node_modules')],
  });
  // Whole or not at all: a serve and a worker starting together may both build it. The
  // source map (linked: Node reads it only when it maps a stack) keeps the name it was built with.
  fs.renameSync(`${out}.${process.pid}.tmp`, out);
}
