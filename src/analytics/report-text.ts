/**
 * The metrics report for people: tables with small bar charts, in English or Chinese.
 * Used by `smartalk metrics report` and by the LaunchMetricsTracker facade.
 */
import type { Lang } from '../config.js';
import { compactTable } from '../document.js';
import { bar, percent } from '../format.js';
import { say } from '../i18n.js';
import { isoDay, localDay } from '../time.js';
import { enoughNewUsersToCompare, FUNNEL, METRICS } from './definitions.js';
import type { MetricsReport } from './report.js';

export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

const verdictText = (lang: Lang, verdict: MetricsReport['activation']['verdict']) =>
  say(
    lang,
    {
      on_target: { en: 'on target', zh: '达标' },
      close: { en: 'close', zh: '接近' },
      needs_work: { en: 'needs work', zh: '需改进' },
      no_data: { en: 'no data', zh: '无数据' },
    }[verdict],
  );

const mark = (met: boolean | null) => (met === null ? '—' : met ? '✓' : '✗');

export function renderReportText(report: MetricsReport, lang: Lang): string {
  const { tz, granularity } = report.window;
  const format = new Intl.DateTimeFormat(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const at = (iso: string) => format.format(new Date(iso));
  const lines: string[] = [];

  lines.push(
    say(lang, {
      en: `SmarTalk metrics · ${at(report.window.since)} → ${at(report.window.until)} (${tz}), by ${granularity}`,
      zh: `SmarTalk 指标报告 · ${at(report.window.since)} → ${at(report.window.until)}（${tz}），按${granularity === 'hour' ? '小时' : '天'}`,
    }),
  );
  const clock = new Intl.DateTimeFormat(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', {
    timeZone: tz,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const realtime = report.realtime
    ? say(lang, {
        en: ` · Real-time users ${report.realtime.activeUsers} (last ${report.realtime.windowSeconds / 60} min, read ${clock.format(new Date(report.realtime.readAt))})`,
        zh: ` · 实时用户 ${report.realtime.activeUsers}（最近 ${report.realtime.windowSeconds / 60} 分钟，${clock.format(new Date(report.realtime.readAt))} 读取）`,
      })
    : '';
  lines.push(
    say(lang, {
      en: `New users ${report.newUsers} · Activation ${percent(report.activation.rate)} (target ${percent(report.activation.target, 0)}, ${verdictText(lang, report.activation.verdict)})${realtime}`,
      zh: `新用户 ${report.newUsers} · 激活率 ${percent(report.activation.rate)}（目标 ${percent(report.activation.target, 0)}，${verdictText(lang, report.activation.verdict)}）${realtime}`,
    }),
  );

  if (report.flags.length > 0) {
    lines.push('');
    for (const flag of report.flags) {
      const label =
        flag.code === 'activation_drop'
          ? say(lang, { en: 'Activation dropped by more than half', zh: '激活率下降超过 50%' })
          : say(lang, { en: `Funnel step ${flag.step} dropped by more than 20%`, zh: `漏斗第 ${flag.step} 步下降超过 20%` });
      lines.push(`⚠ ${label}: ${percent(flag.current)} ← ${percent(flag.baseline)}`);
    }
  }

  lines.push('', say(lang, { en: 'Activation by cohort (new users by first launch)', zh: '分批激活情况（按首次启动）' }));
  const cohorts = compactTable([
    say(lang, { en: granularity === 'hour' ? 'hour' : 'day', zh: granularity === 'hour' ? '小时' : '日期' }),
    say(lang, { en: 'new', zh: '新用户' }),
    say(lang, { en: 'activated', zh: '已激活' }),
    say(lang, { en: 'rate', zh: '激活率' }),
    '',
  ]);
  for (const cohort of report.activation.cohorts) {
    cohorts.push([
      at(cohort.start) + (cohort.complete ? '' : ' *'),
      cohort.newUsers,
      cohort.activated,
      percent(cohort.rate),
      bar(cohort.rate),
    ]);
  }
  lines.push(cohorts.toString());
  lines.push(say(lang, { en: '* activation window still open', zh: '* 激活窗口尚未结束' }));

  lines.push(
    '',
    say(lang, {
      en: 'Funnel (7-day conversion window from first launch; overall = % of new users, step→step = % of the step before)',
      zh: '转化漏斗（首次启动后 7 天内；总转化 = 占新用户，环节转化 = 占上一环节）',
    }),
  );
  const funnel = compactTable([
    '#',
    say(lang, { en: 'step', zh: '环节' }),
    say(lang, { en: 'users', zh: '用户' }),
    say(lang, { en: 'overall', zh: '总转化' }),
    say(lang, { en: 'step→step', zh: '环节转化' }),
    say(lang, { en: 'prev 7 days', zh: '前 7 天' }),
    say(lang, { en: 'median', zh: '中位耗时' }),
    say(lang, { en: 'target', zh: '目标' }),
    '',
    '',
  ]);
  for (const step of report.funnel) {
    const label = FUNNEL[step.step - 1]?.label;
    const before = report.baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null;
    const dropped = report.flags.some((f) => f.code === 'funnel_step_drop' && f.step === step.step);
    funnel.push([
      step.step,
      label ? say(lang, label) : step.event,
      step.users,
      percent(step.overallConversion),
      percent(step.stepConversion) + (dropped ? ' ⚠' : ''),
      percent(before),
      duration(step.medianSecondsToConvert),
      percent(step.target, 0),
      mark(step.met),
      bar(step.overallConversion),
    ]);
  }
  lines.push(funnel.toString());

  const { d1, d7 } = report.retention;
  // The cohort's first and last local days (its end is the start of the day after).
  const cohortDays = (figure: typeof d1) =>
    `${isoDay(localDay(Date.parse(figure.cohort.since), tz))} → ${isoDay(localDay(Date.parse(figure.cohort.until) - 1, tz))}`;
  lines.push(
    '',
    say(lang, {
      en: 'Retention of activated learners (D1 = active on the day after activation, D7 = active on the 7th day after)',
      zh: '激活用户留存（次日 = 激活后第 1 天活跃，7 日 = 激活后第 7 天活跃）',
    }),
  );
  const retention = compactTable([
    '',
    say(lang, { en: 'rate', zh: '留存率' }),
    say(lang, { en: 'retained / eligible', zh: '留存 / 可统计' }),
    say(lang, { en: 'target', zh: '目标' }),
    '',
    say(lang, { en: 'activated on', zh: '激活日期' }),
  ]);
  for (const [name, figure] of [
    [say(lang, { en: 'D1', zh: '次日' }), d1],
    [say(lang, { en: 'D7', zh: '7 日' }), d7],
  ] as const) {
    retention.push([
      name,
      percent(figure.rate),
      `${figure.retained} / ${figure.eligible}`,
      percent(figure.target, 0),
      mark(figure.met),
      cohortDays(figure),
    ]);
  }
  lines.push(retention.toString());
  const l = report.learning;
  const perClue = l.averageAttemptsPerClue === null ? '—' : l.averageAttemptsPerClue.toFixed(2);
  lines.push(
    say(lang, {
      en: `Learning: ${perClue} attempts per clue · focus mode ${percent(l.focusModeShare)} of attempts (${l.focusModeTriggers} triggered) · rescue mode ${percent(l.rescueModeShare)} (${l.rescueModeTriggers}) · ${l.dramasCompleted} dramas completed, ${duration(l.averageSecondsToCompleteDrama)} on average`,
      zh: `学习效果：每个线索平均尝试 ${perClue} 次 · 专注模式占 ${percent(l.focusModeShare)}（触发 ${l.focusModeTriggers} 次）· 救援模式占 ${percent(l.rescueModeShare)}（${l.rescueModeTriggers} 次）· 完成短剧 ${l.dramasCompleted} 部，平均用时 ${duration(l.averageSecondsToCompleteDrama)}`,
    }),
  );
  lines.push(
    say(lang, {
      en: `Spaced reviews: ${l.reviews} answered, ${percent(l.reviewRetention)} right (keyword retention)${l.reviewsDue === null ? '' : ` · ${l.reviewsDue} due now`}`,
      zh: `间隔复习：完成 ${l.reviews} 次，答对 ${percent(l.reviewRetention)}（单词记忆保持率）${l.reviewsDue === null ? '' : ` · 当前待复习 ${l.reviewsDue} 个`}`,
    }),
  );
  lines.push(
    say(lang, {
      en: `Previous 7 days (${at(report.baseline.since)} → ${at(report.baseline.until)}): ${report.baseline.newUsers} new users, activation ${percent(report.baseline.activationRate)}`,
      zh: `前 7 天（${at(report.baseline.since)} → ${at(report.baseline.until)}）：新用户 ${report.baseline.newUsers}，激活率 ${percent(report.baseline.activationRate)}`,
    }),
  );
  if (!enoughNewUsersToCompare(report))
    lines.push(
      say(lang, {
        en: `No drop is judged: fewer than ${METRICS.minNewUsersToJudge} new users on one side.`,
        zh: `不判断是否下降：有一边新用户少于 ${METRICS.minNewUsersToJudge} 人。`,
      }),
    );

  if (report.breakdown) {
    lines.push('', say(lang, { en: `By ${report.breakdown.by}`, zh: `按 ${report.breakdown.by} 细分` }));
    const groups = compactTable([
      report.breakdown.by,
      say(lang, { en: 'new', zh: '新用户' }),
      say(lang, { en: 'activation', zh: '激活率' }),
      '',
    ]);
    for (const group of report.breakdown.groups) {
      groups.push([group.key ?? '—', group.newUsers, percent(group.activationRate), bar(group.activationRate)]);
    }
    lines.push(groups.toString());
  }
  return lines.join('\n');
}
