// Lint exists for one reason first: the package boundaries of DESIGN.md, enforced from real imports.
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', 'runs/**', '**/*.config.ts', 'bench/**', 'scripts/**', 'apps/demo/public/**'] },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: { parser: tsParser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'layer:core', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:encoder', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:head', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:gating', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:data', onlyDependOnLibsWithTags: ['layer:core'] },
            { sourceTag: 'layer:synth', onlyDependOnLibsWithTags: ['layer:core', 'layer:data'] },
            { sourceTag: 'layer:pretrained', onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:data'] },
            { sourceTag: 'layer:trainer', onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:gating', 'layer:data', 'layer:synth'] },
            { sourceTag: 'layer:transfer', onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:gating', 'layer:data', 'layer:synth', 'layer:trainer'] },
            { sourceTag: 'layer:experiments', onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:gating', 'layer:data', 'layer:synth', 'layer:trainer', 'layer:transfer'] },
            { sourceTag: 'layer:runtime', onlyDependOnLibsWithTags: ['layer:core', 'layer:head', 'layer:data'] },
            { sourceTag: 'layer:service', onlyDependOnLibsWithTags: ['layer:core', 'layer:head', 'layer:data', 'layer:synth', 'layer:runtime'] },
            { sourceTag: 'layer:app', onlyDependOnLibsWithTags: ['layer:core', 'layer:encoder', 'layer:head', 'layer:gating', 'layer:data', 'layer:synth', 'layer:pretrained', 'layer:trainer', 'layer:transfer', 'layer:experiments', 'layer:runtime', 'layer:service'] },
            { sourceTag: 'layer:web', onlyDependOnLibsWithTags: ['layer:core', 'layer:data', 'layer:synth', 'layer:runtime'] },
          ],
        },
      ],
    },
  },
];
