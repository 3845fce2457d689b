/**
 * The layers of src/, lowest first (docs/architecture.md). A module may import its own
 * layer and the ones below it, never one above, and no import cycle is allowed
 * anywhere. `npm test` runs this (npm run check:layers); a broken rule names the import.
 */
const LAYERS = [
  ['base', '^src/[^/]+\\.ts$', 'config, errors, validation, time, i18n, logger, files …'],
  ['storage', '^src/(db|store)/', 'PostgreSQL/PGlite and Redis/memory'],
  ['http', '^src/http/', 'Fastify building blocks: auth, errors, JSON bodies, metrics, telemetry'],
  ['learning', '^src/learning/', 'learners, catalog, progress, media'],
  ['analytics', '^src/analytics/', 'events, derived state, the metrics report, the simulator'],
  ['feedback', '^src/feedback/', 'feedback, sentiment, the feedback report'],
  ['ops', '^src/ops/', 'health, alerts, watchdog, the ops token'],
  ['server', '^src/server/', 'wiring: the app and the runtime'],
  ['cli', '^src/cli/', 'the smartalk command'],
];

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules import each other in a circle; break it by moving the shared part down a layer.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...LAYERS.flatMap(([name, from], i) =>
      LAYERS.slice(i + 1).map(([upper, to, what]) => ({
        name: `${name}-below-${upper}`,
        comment: `${name} may not import ${upper} (${what}): layers import downward only (docs/architecture.md).`,
        severity: 'error',
        from: { path: from },
        to: { path: to },
      })),
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
