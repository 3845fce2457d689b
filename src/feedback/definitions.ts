/**
 * The one definition of the feedback report's figures and names, used by the report,
 * its gauges on /metrics and the NegativeFeedbackRising alert alike (the analytics
 * counterpart is analytics/definitions.ts).
 */
import type { Bilingual } from '../i18n.js';
import type { EmotionId } from '../learning/emotions.js';
import type { SentimentLabel, Theme, ThemeKind } from './sentiment.js';

/** Windows, thresholds and list sizes. */
export const FEEDBACK_METRICS = {
  baselineDays: 7,
  /** "Negative feedback rising": current negative share > this × the baseline's… */
  risingFactor: 1.5,
  /** …with at least this many items in the window. */
  risingMinItems: 20,
  /** Magic-moment answers that count as success: 😍 🤩 🔥. */
  successEmotions: ['fully_understood', 'easier_than_expected', 'want_more'] as EmotionId[],
  magicMomentGood: 0.5,
  magicMomentExcellent: 0.7,
  examplesPerTheme: 3,
  /** Themes (by size, "other" aside) whose quotes the report shows. */
  quotedThemes: 10,
  /** Recent items of a theme read to find distinct quotes of its polarity. */
  quoteCandidates: 60,
  urgentListed: 20,
} as const;

/** A labeling sheet's defaults (`smartalk feedback sample`): a hundred texts per language from the last thirty days; at most a labeler's day of them. */
export const LABELING_SAMPLE = {
  perLanguage: 100,
  days: 30,
  maxPerLanguage: 1000,
  /** A seed is said back to draw a sheet again: short, and safe in a URL and a shell. */
  seed: /^[A-Za-z0-9_-]{1,64}$/,
} as const;

/** What to look at when a theme gathers negative feedback. */
export const THEME_ADVICE: Record<Theme, Bilingual> = {
  video_playback: {
    en: 'check the CDN cache hit ratio and the video encodings (ffprobe)',
    zh: '检查 CDN 缓存命中率与视频编码（ffprobe）',
  },
  loading_speed: { en: 'check API latency and video sizes at the edge', zh: '检查接口响应时间与视频体积' },
  audio_quality: { en: 'review the audio tracks and pronunciation clips', zh: '检查音轨与发音片段' },
  responsiveness: { en: 'profile the client screens named in the context', zh: '排查反馈上下文中提到的页面卡顿' },
  subtitle_sync: { en: 're-time the subtitle tracks of the dramas mentioned', zh: '重新校对相关短剧的字幕时间轴' },
  content_difficulty: {
    en: 'review chapter difficulty and add hints (focus/rescue mode)',
    zh: '评估章节难度，增加提示（专注/救援模式）',
  },
  pricing_payment: { en: 'review pricing copy, failed payments and ads', zh: '检查价格说明、支付失败与广告' },
  account_data: { en: 'check login and progress sync', zh: '检查登录与学习进度同步' },
  stability: {
    en: 'read the crash reports of the versions named (app_crash events)',
    zh: '查看相关版本的崩溃报告（app_crash 事件）',
  },
  support: { en: 'answer the open support requests', zh: '处理未回复的客服请求' },
  interface: { en: 'review the screens named with the design team', zh: '与设计团队一起检查提到的页面' },
  content_stories: {
    en: 'share with the content team: which stories work, which bore',
    zh: '反馈给内容团队：哪些故事受欢迎、哪些乏味',
  },
  learning_method: { en: 'check the clue and magic-moment steps of the funnel', zh: '检查漏斗中线索与魔法时刻环节' },
  requests: { en: 'add the requests to the product backlog', zh: '把需求加入产品待办' },
  usage: { en: 'nothing to fix: how learners use the app', zh: '无需处理：用户的使用方式' },
  overall: { en: 'read the items', zh: '逐条阅读反馈' },
  other: { en: 'read the items', zh: '逐条阅读反馈' },
};

// Which quotes a theme shows follows its kind (THEME_KIND, defined beside the analyzer,
// which scores a problem theme's calm reports as complaints with the same table).
export { THEME_KIND, type ThemeKind } from './sentiment.js';

/** The sentiment labels a theme's quotes are drawn from. */
export const QUOTED_LABELS: Record<ThemeKind, SentimentLabel[]> = {
  problem: ['negative'],
  topic: ['negative', 'positive'],
  neutral: ['neutral'],
};

export const THEME_NAMES: Record<Theme, Bilingual> = {
  video_playback: { en: 'Video playback', zh: '视频播放' },
  loading_speed: { en: 'Loading speed', zh: '加载速度' },
  audio_quality: { en: 'Audio quality', zh: '音频质量' },
  responsiveness: { en: 'Responsiveness', zh: '响应速度' },
  subtitle_sync: { en: 'Subtitle sync', zh: '字幕同步' },
  content_difficulty: { en: 'Content difficulty', zh: '内容难度' },
  pricing_payment: { en: 'Pricing / payment / ads', zh: '价格 / 支付 / 广告' },
  account_data: { en: 'Account / data', zh: '账号 / 数据' },
  stability: { en: 'Crashes and bugs', zh: '闪退与故障' },
  support: { en: 'Customer support', zh: '客服' },
  interface: { en: 'Interface', zh: '界面与操作' },
  content_stories: { en: 'Stories and content', zh: '故事与内容' },
  learning_method: { en: 'Learning method and magic moment', zh: '学习方法与魔法时刻' },
  requests: { en: 'Questions and requests', zh: '咨询与功能建议' },
  usage: { en: 'How learners use it', zh: '使用情况' },
  overall: { en: 'The app overall', zh: '整体评价' },
  other: { en: 'Other', zh: '其他' },
};
