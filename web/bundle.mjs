// Copies the pinned browser assets (package-lock.json) into the gateway's package, where the wheel
// picks them up: `make assets` runs it after `npm ci`. Which files of which package go where is
// assets.json, which the test suite reads too, to prove the copies match the pinned packages; a file
// from a package's subfolder is copied under its own name.
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const target = path.join(here, '..', 'src', 'ai_gateway', 'api', 'static');
const assets = JSON.parse(fs.readFileSync(path.join(here, 'assets.json'), 'utf8'));

for (const [name, { into, files }] of Object.entries(assets)) {
  const dir = path.join(target, into);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) {
    fs.copyFileSync(path.join(here, 'node_modules', name, file), path.join(dir, path.basename(file)));
  }
  const { version } = JSON.parse(
    fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8'));
  process.stdout.write(`${name} ${version} -> ${path.relative(path.join(here, '..'), dir)}\n`);
}
