/** `smartalk migrate`: apply pending migrations (or list them with --status). */
import { Command } from 'commander';
import { say } from '../../i18n.js';
import { cliContext } from '../context.js';
import { printJson } from '../output.js';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending database migrations (the server also does this at start)')
    .option('--status', 'list pending migrations without applying them')
    .option('--json', 'print JSON')
    .action(async (options: { status?: boolean; json?: boolean }) => {
      const [
        { openDb },
        { loadMigrations, migrate, pendingMigrations },
        { ensureEventPartitions },
        { DEFINITION_SETTINGS },
        { assertDefinitionWindows },
      ] = await Promise.all([
        import('../../db/database.js'),
        import('../../db/migrator.js'),
        import('../../db/partitions.js'),
        import('../../analytics/definitions.js'),
        import('../../analytics/report-queries.js'),
      ]);
      const { config } = await cliContext();
      const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const all = await loadMigrations();
        if (options.status) {
          const pending = await pendingMigrations(db, all);
          if (options.json) return printJson({ total: all.length, pending: pending.map((m) => m.version) });
          console.log(
            say(config.lang, {
              en: `${all.length - pending.length} of ${all.length} migrations applied; pending: ${pending.map((m) => `${m.version}_${m.name}`).join(', ') || 'none'}`,
              zh: `已应用 ${all.length - pending.length}/${all.length} 个迁移；待应用：${pending.map((m) => `${m.version}_${m.name}`).join('、') || '无'}`,
            }),
          );
          return;
        }
        const result = await migrate(db, { migrations: all, tz: config.tz, settings: DEFINITION_SETTINGS });
        await assertDefinitionWindows(db);
        const partitions = await ensureEventPartitions(db, new Date());
        if (options.json) {
          return printJson({
            applied: result.applied.map((m) => m.version),
            alreadyApplied: result.alreadyApplied,
            partitionsCreated: partitions.created,
          });
        }
        for (const m of result.applied) console.log(`  + ${String(m.version).padStart(3, '0')}_${m.name}`);
        console.log(
          say(config.lang, {
            en: `${result.applied.length} migration(s) applied, ${result.alreadyApplied} already in place (${db.engine})`,
            zh: `已应用 ${result.applied.length} 个迁移，${result.alreadyApplied} 个此前已应用（${db.engine}）`,
          }),
        );
      } finally {
        await db.close();
      }
    });
}
