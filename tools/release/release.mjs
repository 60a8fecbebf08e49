#!/usr/bin/env node
// `npm run release`: independent versions for the published packages, computed by `nx release` from conventional
// commits. A DRY RUN unless `--publish` is given: it prints the planned version of every package and writes nothing.
//
//   npm run release                          plan only (dry run)
//   npm run release -- --publish             versions (package.json and the exported `version`), changelogs, then
//                                            build + check-package of each released package, and only then the
//                                            release commit, the tags, and `nx release publish` of the checked
//                                            packages (staged by check-package in dist/publish/)
//   options: --projects=a,b   only these packages (dependents still follow: updateDependents "always")
//            --registry=URL   --tag=next   --otp=123456   (passed to npm publish)
//            --no-git         with --publish: write versions and changelogs, but no commit and no tags
//            --verbose        show nx's own output (every manifest change) in a dry run too
//
// First release. A package without any `<name>@<version>` tag has never been released; its first release is the
// version in its package.json (0.1.0 today), NOT a bump computed from history: the history before the first
// release is mostly not in conventional-commit form, and nx would otherwise read it as patch bumps. Its changelog
// starts with a "First release" entry. Every later release is nx's: the bump comes from the conventional commits
// that touched the package since its last tag (feat -> minor, fix and perf -> patch, `!`/BREAKING CHANGE -> major,
// shifted down one step while the major version is 0), and every dependent of a bumped package gets a patch bump.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseChangelog, releasePublish, releaseVersion } from 'nx/release';
import { createProjectGraphAsync } from 'nx/src/devkit-exports.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(root);
process.env.NX_DAEMON = 'false';
process.env.NX_TUI = 'false';
process.env.NX_NO_CLOUD = 'true';

const args = parseArgs(process.argv.slice(2));
const publish = args.publish === true;
const useGit = args.git !== false;

function parseArgs(argv) {
  const out = {};
  for (const a of argv) {
    const m = /^--(no-)?([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (see the header of tools/release/release.mjs)`);
    out[m[2]] = m[1] ? false : (m[3] ?? true);
  }
  const known = new Set(['publish', 'projects', 'registry', 'tag', 'otp', 'git', 'dry-run', 'verbose']);
  for (const k of Object.keys(out)) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  return out;
}

function git(...a) {
  return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
}

/**
 * The published projects: every public package of the release group in nx.json, with its manifest. The group also
 * holds the private workspace packages (apps/demo, consumer-tests) so that nx keeps their ranges on the published
 * packages current (an outdated exact pin would send `npm install` to the registry); they are never tagged or
 * published.
 */
async function releaseProjects() {
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8'));
  const graph = await createProjectGraphAsync({ exitOnError: true });
  const patterns = nxJson.release.projects;
  const included = (node) => {
    let keep = false;
    for (const p of patterns) {
      const neg = p.startsWith('!');
      const pat = neg ? p.slice(1) : p;
      const hit = pat.includes('/*')
        ? node.data.root.startsWith(pat.replace('/*', '/'))
        : node.name === pat || node.data.root === pat;
      if (hit) keep = !neg;
    }
    return keep;
  };
  const projects = [];
  for (const node of Object.values(graph.nodes)) {
    if (!included(node)) continue;
    const manifest = JSON.parse(readFileSync(join(root, node.data.root, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    projects.push({ name: node.name, root: node.data.root, manifest });
  }
  return projects.sort((a, b) => a.name.localeCompare(b.name));
}

/** Release order: a package after every workspace package it depends on. */
function topological(projects) {
  const byName = new Map(projects.map((p) => [p.name, p]));
  const done = new Set();
  const out = [];
  const visit = (p) => {
    if (done.has(p.name)) return;
    done.add(p.name);
    const m = p.manifest;
    for (const dep of Object.keys({ ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies })) {
      if (byName.has(dep)) visit(byName.get(dep));
    }
    out.push(p);
  };
  projects.forEach(visit);
  return out;
}

function hasTag(name) {
  return git('tag', '--list', `${name}@*`).length > 0;
}

function printPlan(rows) {
  const w = [8, 7, 7, 6].map((min, i) => Math.max(min, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(w[i])).join('  ');
  console.log('');
  console.log(line(['package', 'current', 'planned', 'reason']));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(r));
  console.log('');
}

const FIRST_RELEASE_NOTE = (name, version, date) =>
  `## ${version} (${date})\n\n### First release\n\nThe first published version of ${name}. Changes before it are in the git history; from here on each release lists its conventional commits.\n`;

async function main() {
  const all = await releaseProjects();
  const filter = typeof args.projects === 'string' ? new Set(args.projects.split(',').map((s) => s.trim())) : null;
  const selected = all.filter(
    (p) => filter === null || filter.has(p.name) || filter.has(p.name.replace('@multichexnet/', '')),
  );
  if (selected.length === 0) throw new Error(`no release project matches --projects=${args.projects}`);
  const untagged = new Set(all.filter((p) => !hasTag(p.name)).map((p) => p.name));
  const firsts = selected.filter((p) => untagged.has(p.name));
  const tagged = selected.filter((p) => !untagged.has(p.name));

  if (publish && useGit && git('status', '--porcelain', '--untracked-files=no').length > 0) {
    throw new Error(
      'the working tree has uncommitted changes; commit them first (a release must be reproducible from a commit)',
    );
  }

  // Packages released before: nx, from the conventional commits since each one's last tag; their dependents (in the
  // project graph) get a patch bump and updated ranges, whether selected or not.
  let versionData = {};
  if (tagged.length > 0) {
    const res = await quietUnless(publish || args.verbose === true, () =>
      releaseVersion({
        projects: tagged.map((p) => p.name),
        dryRun: !publish,
        gitCommit: false,
        gitTag: false,
        stageChanges: false,
        verbose: args.verbose === true,
      }),
    );
    versionData = res.projectsVersionData;
  }
  // First releases: the version on disk, as is (unless nx just bumped it as a dependent of a released package).
  for (const p of firsts) {
    if (!versionData[p.name]?.newVersion)
      versionData[p.name] = {
        currentVersion: p.manifest.version,
        newVersion: p.manifest.version,
        dependentProjects: [],
      };
  }

  const rows = [];
  for (const p of all) {
    const v = versionData[p.name];
    const first = untagged.has(p.name);
    let reason;
    if (v === undefined || (v.newVersion === null && !selected.includes(p))) reason = 'not selected';
    else if (first)
      reason =
        v.newVersion === p.manifest.version
          ? 'first release (no tag yet): version on disk'
          : 'first release, patch: a dependency is released';
    else if (v.newVersion === null) reason = 'unchanged: no releasable conventional commit since its last tag';
    else reason = 'conventional commits since its last tag, or a dependency released';
    rows.push([
      p.name,
      first ? '(unreleased)' : (v?.currentVersion ?? p.manifest.version),
      v?.newVersion ?? '-',
      reason,
    ]);
  }
  console.log(
    publish
      ? 'Release plan:'
      : 'Release plan (dry run: nothing is written, tagged or published; add --publish to release):',
  );
  printPlan(rows);
  const toRelease = topological(all.filter((p) => versionData[p.name]?.newVersion));
  if (!publish) {
    console.log(
      `${toRelease.length} package(s) would be released, in this order: ${toRelease.map((p) => `${p.name}@${versionData[p.name].newVersion}`).join(', ')}`,
    );
    return;
  }
  if (toRelease.length === 0) {
    console.log('nothing to release');
    return;
  }

  // The `version` each package exports is a literal in its src (tests run on src/, without a build): bump it too.
  for (const p of toRelease) {
    const { newVersion } = versionData[p.name];
    if (newVersion !== p.manifest.version) updateVersionLiteral(p, p.manifest.version, newVersion);
  }

  // Changelogs: nx renders the conventional commits of released packages; first releases get their own entry.
  const date = new Date().toISOString().slice(0, 10);
  const published = new Set(all.map((p) => p.name));
  const taggedVersionData = Object.fromEntries(
    Object.entries(versionData).filter(([n]) => published.has(n) && !untagged.has(n)),
  );
  if (Object.values(taggedVersionData).some((v) => v.newVersion)) {
    const projects = Object.keys(taggedVersionData);
    await releaseChangelog({
      projects,
      versionData: taggedVersionData,
      gitCommit: false,
      gitTag: false,
      stageChanges: false,
      dryRun: false,
    });
  }
  for (const p of toRelease.filter((q) => untagged.has(q.name))) {
    const file = join(root, p.root, 'CHANGELOG.md');
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileSync(
      file,
      FIRST_RELEASE_NOTE(p.name, versionData[p.name].newVersion, date) + (previous ? `\n${previous}` : ''),
    );
  }

  // Build and check exactly what ships before anything is committed, tagged or published.
  const projectsArg = `--projects=${toRelease.map((p) => p.name).join(',')}`;
  try {
    execFileSync(
      'npx',
      ['nx', 'run-many', '-t', 'check-package', projectsArg, '--parallel=2', '--outputStyle=stream'],
      { cwd: root, stdio: 'inherit', env: process.env },
    );
  } catch {
    throw new Error(
      'check-package failed: nothing was committed, tagged or published. The new versions and changelogs are left in the working tree; discard them (git checkout -- .) and release again after the fix.',
    );
  }

  const tags = toRelease.map((p) => `${p.name}@${versionData[p.name].newVersion}`);
  if (useGit) {
    // What the release wrote: tracked files it changed (manifests, version literals, lock file, changelogs) and the
    // changelogs of first releases. Nothing else that happens to be untracked in the tree.
    const changed = git('diff', '--name-only').split('\n').filter(Boolean);
    const changelogs = toRelease.map((p) => join(p.root, 'CHANGELOG.md')).filter((f) => existsSync(join(root, f)));
    git('add', '--', ...new Set([...changed, ...changelogs]));
    git('commit', '-m', 'chore(release): publish', '-m', tags.map((t) => `- ${t}`).join('\n'));
    for (const t of tags) git('tag', '-a', t, '-m', t);
    console.log(`committed and tagged: ${tags.join(', ')}`);
  }

  // Publish what check-package staged and checked (dist/publish/<package folder>, nx.json's `nx-release-publish`
  // packageRoot). With a project list nx runs no task dependencies, so nothing is rebuilt between check and publish.
  const results = await releasePublish({
    projects: toRelease.map((p) => p.name),
    ...(typeof args.registry === 'string' ? { registry: args.registry } : {}),
    ...(typeof args.tag === 'string' ? { tag: args.tag } : {}),
    // a string: nx passes it on as --otp=<value>, and a number would drop a leading zero
    ...(typeof args.otp === 'string' ? { otp: args.otp } : {}),
  });
  const failedPublish = toRelease.filter((p) => results[p.name]?.code !== 0).map((p) => p.name);
  if (failedPublish.length > 0)
    throw new Error(`npm publish failed for ${failedPublish.join(', ')} (see above); the others are published`);
  console.log(`published ${tags.join(', ')}`);
  if (useGit) console.log('push the release commit and its tags: git push --follow-tags');
}

/** Runs `fn` with nx's output muted unless `loud` (a dry run prints every manifest diff); errors still throw. */
async function quietUnless(loud, fn) {
  if (loud) return fn();
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    log: console.log,
    info: console.info,
    warn: console.warn,
  };
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  console.log = console.info = console.warn = () => {};
  try {
    return await fn();
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    Object.assign(console, { log: saved.log, info: saved.info, warn: saved.warn });
  }
}

/** Rewrites `export const <NAME> = '<old>';` in src/version.ts (or src/index.ts) to the new version. */
function updateVersionLiteral(p, from, to) {
  for (const file of ['src/version.ts', 'src/index.ts']) {
    const path = join(root, p.root, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    const re = new RegExp(`^(export const \\w+ = ')${from.replace(/\./g, '\\.')}(';)$`, 'm');
    if (re.test(text)) {
      writeFileSync(path, text.replace(re, `$1${to}$2`));
      return;
    }
  }
  throw new Error(`${p.name}: no \`export const ... = '${from}';\` in src/version.ts or src/index.ts to bump to ${to}`);
}

main().catch((err) => {
  console.error(`release: ${err.message}`);
  process.exit(1);
});
