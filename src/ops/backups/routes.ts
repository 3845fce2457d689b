/**
 * /api/v1/ops/backups: the backups and their drills, and running either now. The CLI
 * goes through these when the embedded database is open in the server (one process
 * may hold it); on PostgreSQL it runs pg_dump itself.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { AppError, ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { listBackups } from './backup-files.js';
import { type BackupJobDeps, recordManualRun, runBackup, runDrill } from './jobs.js';
import { backupOverview } from './overview.js';
import { BACKUP_JOB, DRILL_JOB } from './status.js';

const Json = Type.Object({}, { additionalProperties: true });
/** A backup's file name as `GET /backups` lists it: nothing that could name another path. */
const BackupName = Type.String({ maxLength: 80, pattern: '^smartalk-(postgres|pglite)-\\d{8}T\\d{6}Z\\.(dump|tar\\.gz)$' });

export const backupRoutes: FastifyPluginAsyncTypebox<{ deps: BackupJobDeps; instance: string }> = async (
  app,
  { deps, instance },
) => {
  app.get(
    '/backups',
    {
      schema: {
        tags: ['ops'],
        summary: 'Backups on disk, the last backup and restore drill, retention and schedule',
        security: OPS_SECURITY,
        response: { 200: Json, 401: ErrorResponse },
      },
    },
    async () => backupOverview(deps),
  );

  app.post(
    '/backups',
    {
      schema: {
        tags: ['ops'],
        summary: 'Back up now (and apply retention); recorded in the job log like a scheduled run',
        security: OPS_SECURITY,
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: Json, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async () => {
      const startedAt = new Date();
      const run = await runBackup(deps);
      await recordManualRun(deps.db, BACKUP_JOB, startedAt, run, instance);
      return run;
    },
  );

  app.post(
    '/backups/verify',
    {
      schema: {
        tags: ['ops'],
        summary: 'Restore drill: restore a backup (default the newest) into a scratch database and check it',
        security: OPS_SECURITY,
        body: Type.Optional(Type.Object({ name: Type.Optional(BackupName) }, { additionalProperties: false })),
        response: { 200: Json, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const name = request.body?.name;
      let file: string | undefined;
      if (name) {
        file = (await listBackups(deps.config.backups.dir)).find((entry) => entry.name === name)?.file;
        if (!file) throw new AppError('SMT_ERR_NOT_FOUND', `No backup named ${name} in the backup directory`);
      }
      const startedAt = new Date();
      const run = await runDrill(deps, file);
      await recordManualRun(deps.db, DRILL_JOB, startedAt, run, instance);
      return run;
    },
  );
};
