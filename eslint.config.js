import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

// src/core must stay runnable in the worker, in the page and under Vitest in Node, so it may
// not reach for anything that exists in only one of those places.
const coreDomGlobals = ['document', 'window', 'localStorage', 'sessionStorage', 'indexedDB'];
const coreDomMessage = 'src/core is shared by the page, the worker and Node tests: pass data in instead.';

export default defineConfig(
  globalIgnores([
    'dist/',
    'node_modules/',
    'test/fixtures/work/',
    'test/bench/work/',
    'test-results/',
    'playwright-report/',
  ]),

  tseslint.configs.recommended,
  svelte.configs.recommended,

  {
    files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
    languageOptions: {
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: ['.svelte'],
      },
    },
  },

  {
    rules: {
      // Leading underscores mark parameters that a callback signature forces on us.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },

  {
    files: ['src/app/**', 'src/main.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/worker/**'],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    files: ['scripts/**', 'proxy/**', 'test/**', '*.config.{js,ts}'],
    languageOptions: { globals: { ...globals.node } },
  },

  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...coreDomGlobals.map((name) => ({ name, message: coreDomMessage })),
      ],
      'no-restricted-properties': [
        'error',
        ...['globalThis', 'self'].flatMap((object) =>
          coreDomGlobals.map((property) => ({ object, property, message: coreDomMessage })),
        ),
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'svelte', message: coreDomMessage },
            { name: 'idb-keyval', message: coreDomMessage },
          ],
          patterns: [
            { group: ['svelte/*', 'idb-keyval/*'], message: coreDomMessage },
            { regex: '\\.svelte(\\.[jt]s)?$', message: coreDomMessage },
            {
              // Relative paths that climb out of src/core, or root-anchored ones.
              regex: '^(?:(?:\\.\\./)+|/?src/)(?:app|worker)(?:/|$)',
              message: 'src/core must not depend on src/app or src/worker.',
            },
          ],
        },
      ],
    },
  },

  {
    files: ['src/app/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // `new Worker(new URL('../worker/…', import.meta.url))` is not an import, so it stays allowed.
              regex: '^(?:(?:\\.\\./)+|/?src/)worker(?:/|$)',
              message:
                'Talk to the worker through new Worker(new URL(...)) and the types in src/messages.ts, not by importing it.',
            },
          ],
        },
      ],
    },
  },
);
