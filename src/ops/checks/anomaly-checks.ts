/**
 * 检查异常用户行为模式: learners whose behaviour no person produces — event rates far
 * outside everyone else's (median and median absolute deviation, which a few extreme
 * learners cannot drag along, unlike a mean and standard deviation), funnel steps
 * reached before the app was first opened, and floods of anonymous devices.
 */
import { sql } from 'kysely';
import type { CheckDefinition, CheckStatus } from './check.js';
import type { ChecksDeps } from './deps.js';

export const ANOMALY_LIMITS = {
  /** A learner is flagged above median + this many MADs… */
  madFactor: 10,
  /** …and only with at least this many events in the day (a keen learner sends a few hundred). */
  minEvents: 500,
  /** New anonymous devices in 24 h above this many times the previous 7 days' daily mean… */
  deviceFloodFactor: 3,
  /** …and at least this many. */
  deviceFloodMin: 100,
} as const;

export const usersAnomalies: CheckDefinition<ChecksDeps> = {
  id: 'users.anomalies',
  slot: 'evening',
  severity: 'warning',
  title: { en: 'Anomalous user behaviour', zh: '检查异常用户行为模式' },
  action: {
    en: "Look at a flagged learner's events (GET /api/v1/ops/analytics/events?subject=…); a script or a broken client: revoke its token, rate-limit the address, and tell the app team.",
    zh: '查看被标记用户的事件；如为脚本或异常客户端：吊销其令牌、限制来源地址，并通知客户端团队。',
  },
  run: async ({ db }, context) => {
    const until = context.now;
    const since = new Date(until.getTime() - 86_400_000);
    const weekBefore = new Date(since.getTime() - 7 * 86_400_000);
    const [rates, orders, devices] = await Promise.all([
      sql<{ subject: string; events: number; median: number; mad: number }>`
        WITH per AS (
          SELECT coalesce(user_id::text, 'device:' || device_id) AS subject, count(*)::int AS events
          FROM analytics_events WHERE "timestamp" >= ${since} AND "timestamp" < ${until}
          GROUP BY 1
        ), center AS (
          SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY events) AS median FROM per
        ), spread AS (
          SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(per.events - center.median)) AS mad FROM per, center
        )
        SELECT per.subject, per.events, center.median::float8 AS median, spread.mad::float8 AS mad
        FROM per, center, spread
        WHERE per.events >= ${ANOMALY_LIMITS.minEvents}
          AND per.events > center.median + ${ANOMALY_LIMITS.madFactor} * greatest(spread.mad, 1)
        ORDER BY per.events DESC LIMIT 20`.execute(db.kysely),
      sql<{ subject: string; launched: Date; later: Date }>`
        SELECT subject, app_launched_at AS launched,
          least(onboarding_started_at, interest_selected_at, preview_video_completed_at, vtpr_learning_started_at,
            first_clue_completed_at, all_clues_completed_at, magic_moment_completed_at) AS later
        FROM analytics_subjects
        WHERE last_seen_at >= ${since} AND app_launched_at IS NOT NULL
          AND least(onboarding_started_at, interest_selected_at, preview_video_completed_at, vtpr_learning_started_at,
            first_clue_completed_at, all_clues_completed_at, magic_moment_completed_at) < app_launched_at - interval '1 minute'
        ORDER BY subject LIMIT 20`.execute(db.kysely),
      sql<{ recent: number; before: number }>`
        SELECT count(*) FILTER (WHERE first_seen_at >= ${since})::int AS recent,
          count(*) FILTER (WHERE first_seen_at < ${since})::int AS before
        FROM analytics_subjects
        WHERE subject LIKE 'device:%' AND user_id IS NULL AND first_seen_at >= ${weekBefore} AND first_seen_at < ${until}`.execute(
        db.kysely,
      ),
    ]);
    const { recent, before } = devices.rows[0] ?? { recent: 0, before: 0 };
    const dailyBefore = before / 7;
    const flood = recent >= ANOMALY_LIMITS.deviceFloodMin && recent > ANOMALY_LIMITS.deviceFloodFactor * dailyBefore;
    const statuses: CheckStatus[] = [
      rates.rows.length > 0 ? 'warn' : 'pass',
      orders.rows.length > 0 ? 'warn' : 'pass',
      flood ? 'fail' : 'pass',
    ];
    const spread = rates.rows[0];
    const evidence = [
      ...rates.rows.map((row) =>
        context.t({
          en: `${row.subject}: ${row.events} events in 24 h (median ${row.median}, MAD ${row.mad})`,
          zh: `${row.subject}：24 小时 ${row.events} 个事件（中位数 ${row.median}，MAD ${row.mad}）`,
        }),
      ),
      ...orders.rows.map((row) =>
        context.t({
          en: `${row.subject}: a funnel step at ${new Date(row.later).toISOString()}, before its first launch ${new Date(row.launched).toISOString()}`,
          zh: `${row.subject}：漏斗步骤时间 ${new Date(row.later).toISOString()} 早于首次启动 ${new Date(row.launched).toISOString()}`,
        }),
      ),
      context.t({
        en: `new anonymous devices: ${recent} in 24 h vs ${dailyBefore.toFixed(1)} a day over the previous 7 days`,
        zh: `新匿名设备：24 小时 ${recent} 个，前 7 天日均 ${dailyBefore.toFixed(1)} 个`,
      }),
      context.t({
        en: 'many learners per address: not checked — client addresses are not stored with events',
        zh: '同一地址多个用户：未检查——事件不保存客户端地址',
      }),
    ];
    const flagged = rates.rows.length + orders.rows.length;
    return {
      status: statuses.includes('fail') ? 'fail' : statuses.includes('warn') ? 'warn' : 'pass',
      summary: context.t({
        en: `${rates.rows.length} learners with outlying event rates, ${orders.rows.length} with impossible orders${flood ? ', a flood of anonymous devices' : ''}`,
        zh: `${rates.rows.length} 个用户事件频率异常，${orders.rows.length} 个事件顺序不可能${flood ? '，匿名设备激增' : ''}`,
      }),
      evidence,
      data: {
        outliers: rates.rows.map((row) => ({ subject: row.subject, events: row.events })),
        median: spread?.median ?? null,
        mad: spread?.mad ?? null,
        impossibleOrders: orders.rows.map((row) => row.subject),
        anonymousDevices: { recent, dailyBefore },
        flagged,
      },
    };
  },
};
