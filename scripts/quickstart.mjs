#!/usr/bin/env node
// The README's main job. Until the CLI lands this says so plainly.
console.log('multichexnet quickstart: not yet implemented (the CLI issue lands it).');
